//! One module per subcommand; each takes its parsed arguments (from cli.rs)
//! and returns the process exit status.

mod add;
mod cache_key;
mod direnvrc;
mod doctor;
mod env;
mod gc;
mod init;
mod lock;
mod parse;
mod push;
mod run;
mod shell;
mod show;

#[cfg(test)]
pub(crate) use gc::parse_age;
pub(crate) use parse::{parse, ParseFailure};

use crate::build::{BuildOptions, Context};
use crate::cli::{BuildFlags, Cli, Command};
use crate::error::{Error, Result};
use crate::nix;

impl From<BuildFlags> for BuildOptions {
    fn from(f: BuildFlags) -> Self {
        BuildOptions {
            refresh: f.refresh,
            locked: f.locked,
            frozen: f.frozen,
            offline: f.offline,
            ..BuildOptions::default()
        }
    }
}

/// Runs the command `cli` names, in the folder `-C` names.
pub(crate) fn dispatch(cli: Cli) -> Result<i32> {
    // -C works as in git, make and cargo: the command runs there too.
    if let Some(dir) = &cli.project {
        std::env::set_current_dir(dir).map_err(|e| {
            Error::new(format!(
                "cannot enter the project folder {}: {e}",
                dir.display()
            ))
            .with_hint("pass an existing folder to -C/--project")
        })?;
    }
    let start_dir = std::env::current_dir()
        .map_err(|e| Error::new(format!("cannot read the current folder: {e}")))?;
    let ctx = Context::new(
        start_dir,
        cli.nixpkgs,
        nix::Substituters {
            urls: cli.substituters,
            trusted_public_keys: cli.trusted_public_keys,
        },
    );
    match cli.command {
        Command::Run(args) => run::run(&ctx, args),
        Command::Lock(args) => lock::run(&ctx, args),
        Command::Add(args) => add::add(&ctx, args),
        Command::Remove(args) => add::remove(&ctx, args),
        Command::CacheKey => cache_key::run(&ctx),
        Command::Show(args) => show::run(&ctx, args),
        Command::Push(args) => push::run(&ctx, args),
        Command::Doctor => Ok(doctor::run(&ctx)),
        Command::Env(args) => env::run(&ctx, args),
        Command::Shell(args) => shell::run(&ctx, args),
        Command::Direnvrc => direnvrc::run(),
        Command::Init(args) => init::run(&ctx, args),
        Command::Gc(args) => gc::run(&args),
        Command::Completions(args) => {
            clap_complete::generate(
                args.shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "nixpy",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
        Command::Man => {
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut std::io::stdout())
                .map_err(|e| Error::new(format!("cannot write the man page: {e}")))?;
            Ok(0)
        }
    }
}
