//! One module per subcommand; each takes its parsed arguments (from cli.rs)
//! and returns the process exit status.

mod add;
mod cache_key;
mod direnvrc;
mod doctor;
mod env;
mod gc;
mod history;
mod init;
mod kernel;
mod lock;
mod parse;
mod push;
mod rollback;
mod run;
mod search;
mod shell;
mod show;

#[cfg(test)]
pub(crate) use gc::parse_age;
pub(crate) use parse::{parse, ParseFailure};

use crate::build::{BuildOptions, Context};
use crate::cli::{BuildFlags, Cli, Command};
use crate::error::{Error, Result};
use crate::nix;
use crate::project::requirements::normalize_name;

impl From<BuildFlags> for BuildOptions {
    fn from(f: BuildFlags) -> Self {
        BuildOptions {
            refresh: f.refresh,
            locked: f.locked,
            frozen: f.frozen,
            offline: f.offline,
            groups: {
                let mut groups: Vec<String> = f.groups.iter().map(|g| normalize_name(g)).collect();
                groups.sort();
                groups.dedup();
                groups
            },
            ..BuildOptions::default()
        }
    }
}

/// NIXPY_NIXPKGS, which `--nixpkgs` overrides.
fn nixpkgs_from_env() -> Result<Option<String>> {
    match std::env::var("NIXPY_NIXPKGS") {
        Ok(reference) => Ok(Some(reference)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::new(
            "NIXPY_NIXPKGS is not UTF-8 text, so it is no flake reference",
        )
        .with_hint("set it to a flake reference such as path:/srv/nixpkgs, or unset it")),
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
    let nixpkgs = match cli.nixpkgs {
        Some(reference) => Some(reference),
        None => nixpkgs_from_env()?,
    };
    let mut ctx = Context::new(
        start_dir,
        nixpkgs,
        nix::Substituters {
            urls: cli.substituters,
            trusted_public_keys: cli.trusted_public_keys,
        },
    );
    ctx.command = label(&cli.command);
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
        Command::Kernel(command) => kernel::run(&ctx, command),
        Command::Init(args) => init::run(&ctx, args),
        Command::Gc(args) => gc::run(&args),
        Command::Search(args) => search::run(&ctx, &args),
        Command::History => history::run(&ctx),
        Command::Rollback(args) => rollback::run(&ctx, &args),
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

/// The command as `nixpy history` names what made a generation: the
/// subcommand, with the flags that say why the environment changed.
fn label(command: &Command) -> String {
    let name = match command {
        Command::Run(_) => "run",
        Command::Add(_) => "add",
        Command::Remove(_) => "remove",
        Command::Lock(args) => {
            let flags = [
                (args.upgrade, " --upgrade"),
                (args.upgrade_nixpkgs, " --upgrade-nixpkgs"),
                (args.upgrade_pip, " --upgrade-pip"),
                (!args.upgrade_package.is_empty(), " --upgrade-package"),
            ];
            let flags: String = flags
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, f)| *f)
                .collect();
            return format!("nixpy lock{flags}");
        }
        Command::Push(_) => "push",
        Command::CacheKey => "cache-key",
        Command::Show(_) => "show",
        Command::Doctor => "doctor",
        Command::Gc(_) => "gc",
        Command::Search(_) => "search",
        Command::History => "history",
        Command::Rollback(_) => "rollback",
        Command::Env(_) => "env",
        Command::Shell(_) => "shell",
        Command::Direnvrc => "direnvrc",
        Command::Kernel(_) => "kernel",
        Command::Init(_) => "init",
        Command::Completions(_) => "completions",
        Command::Man => "man",
    };
    format!("nixpy {name}")
}
