//! nixpy: a Nix-aware Python dev-shell launcher.

// `main` is the C entry point: std's runtime start-up (stack-guard
// discovery through /proc/self/maps, SIGPIPE set to ignore) costs as much
// as the rest of a warm `nixpy run`, which only reads a file and execs.
// Without it a broken pipe ends nixpy as it ends any Unix tool.
#![cfg_attr(not(test), no_main)]

mod build;
mod cli;
mod commands;
mod entry;
mod error;
mod flake;
mod layout;
mod nix;
mod pip;
mod project;
mod run;
mod support;
mod ui;

#[cfg(test)]
mod proptests;

use clap::Parser;

use crate::build::{BuildOptions, Context};
use crate::cli::{BuildFlags, Cli, Command};
use crate::error::Error;

impl From<BuildFlags> for BuildOptions {
    fn from(f: BuildFlags) -> Self {
        BuildOptions {
            refresh: f.refresh,
            locked: f.locked,
            frozen: f.frozen,
            offline: f.offline,
            upgrade: false,
            record_paths: false,
        }
    }
}

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    run_nixpy();
    0
}

#[cfg_attr(test, allow(dead_code))]
fn run_nixpy() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(err) = entry::warm::try_warm_without_parsing(&args) {
        ui::error(&err);
        std::process::exit(err.exit_code);
    }
    let cli = Cli::parse_from(args);
    ui::set_verbosity(if cli.quiet { 0 } else { 1 + cli.verbose });
    ui::set_color(match cli.color {
        cli::ColorChoice::Auto => ui::COLOR_AUTO,
        cli::ColorChoice::Always => ui::COLOR_ALWAYS,
        cli::ColorChoice::Never => ui::COLOR_NEVER,
    });
    init_tracing(cli.verbose);
    let code = match dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            ui::error(&err);
            err.exit_code
        }
    };
    std::process::exit(code);
}

fn dispatch(cli: Cli) -> Result<i32, Error> {
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
        Command::Run(args) => commands::run::run(&ctx, args),
        Command::Lock(args) => commands::lock::run(&ctx, args),
        Command::Add(args) => commands::add::add(&ctx, args),
        Command::Remove(args) => commands::add::remove(&ctx, args),
        Command::CacheKey(flags) => commands::cache_key::run(&ctx, flags),
        Command::Show(args) => commands::show::run(&ctx, args),
        Command::Push(args) => commands::push::run(&ctx, args),
        Command::Doctor => Ok(commands::doctor::run(&ctx)),
        Command::Env(args) => commands::env::run(&ctx, args),
        Command::Shell(args) => commands::shell::run(&ctx, args),
        Command::Direnvrc => commands::direnvrc::run(),
        Command::Init(args) => commands::init::run(&ctx, args),
        Command::Gc(args) => {
            let older_than = commands::gc::parse_age(&args.older_than)
                .map_err(|why| Error::new(format!("--older-than: {why}")))?;
            commands::gc::run(commands::gc::GcArgs {
                older_than,
                dry_run: args.dry_run,
            })
        }
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

/// Logging costs start-up time, so it is set up only when asked for.
fn init_tracing(verbose: u8) {
    let filter = std::env::var("NIXPY_LOG").ok();
    if verbose < 2 && filter.is_none() {
        return;
    }
    let filter = filter.unwrap_or_else(|| "nixpy=debug".to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(ui::color())
        .without_time()
        .try_init();
}
