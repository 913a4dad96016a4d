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

use crate::cli::Cli;

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
    let code = match commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            ui::error(&err);
            err.exit_code
        }
    };
    std::process::exit(code);
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
