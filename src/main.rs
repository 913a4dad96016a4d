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
mod history;
mod layout;
mod nix;
mod pip;
mod project;
mod query;
mod run;
mod search;
mod support;
mod ui;
mod venv;

#[cfg(test)]
mod proptests;

use std::ffi::{c_char, c_int, CStr, OsString};
use std::os::unix::ffi::OsStringExt;

#[cfg(not(test))]
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // Rust's own start-up, skipped here, also reopens file descriptors 0-2
    // on /dev/null when they are closed: without it the first file nixpy
    // opens becomes stderr (status lines went into the cache's lock file)
    // and a shell hook's `>&2` fails (issue 13, item 9).
    reopen_closed_standard_fds();

    // SAFETY: C's `main` receives `argc` pointers in `argv`, each to a
    // NUL-terminated string that lives as long as the process.
    let args = unsafe { args_from_c(argc, argv) };
    run_nixpy(args);
    0
}

/// Opens /dev/null on each of file descriptors 0, 1 and 2 that is closed,
/// as Rust's runtime start-up does: one `poll` when all are open.
#[cfg_attr(test, allow(dead_code))]
#[allow(unsafe_code)]
fn reopen_closed_standard_fds() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: poll(2) reads and writes exactly the three entries of `fds`;
    // a zero timeout never blocks.
    let polled = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
    for entry in fds {
        let closed = if polled >= 0 {
            entry.revents & libc::POLLNVAL != 0
        } else {
            // poll can fail for lack of memory: ask each descriptor.
            // SAFETY: fcntl(F_GETFD) only reads the descriptor's flags.
            unsafe { libc::fcntl(entry.fd, libc::F_GETFD) == -1 }
        };
        if closed {
            // SAFETY: a NUL-terminated path; open(2) takes the lowest free
            // descriptor, which is this one since the lower ones are open.
            // If it fails there is nowhere to say so; nixpy goes on.
            unsafe {
                libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            }
        }
    }
}

/// `main`'s arguments, as the bytes they are. Read from `main`'s own
/// parameters: `std::env::args_os` works without std's start-up only
/// through a glibc-specific hook.
///
/// # Safety
///
/// `argv` holds at least `argc` pointers to NUL-terminated strings (C's
/// promise for `main`); a null pointer ends the list early.
#[cfg_attr(test, allow(dead_code))]
#[allow(unsafe_code)]
unsafe fn args_from_c(argc: c_int, argv: *const *const c_char) -> Vec<OsString> {
    let count = usize::try_from(argc).unwrap_or(0);
    let mut args = Vec::with_capacity(count);
    for i in 0..count {
        // SAFETY: `i < argc`, so the pointer is inside `argv`.
        let arg = unsafe { *argv.add(i) };
        if arg.is_null() {
            break;
        }
        // SAFETY: a non-null entry of `argv` is a NUL-terminated string.
        let bytes = unsafe { CStr::from_ptr(arg) }.to_bytes();
        args.push(OsString::from_vec(bytes.to_vec()));
    }
    args
}

#[cfg_attr(test, allow(dead_code))]
fn run_nixpy(args: Vec<OsString>) {
    if let Some(err) = entry::warm::try_warm_without_parsing(&args) {
        ui::error(&err);
        std::process::exit(err.exit_code);
    }
    let cli = match commands::parse(args) {
        Ok(cli) => cli,
        Err(commands::ParseFailure::Nixpy(err)) => {
            ui::error(&err);
            std::process::exit(err.exit_code);
        }
        Err(commands::ParseFailure::Clap(err)) => err.exit(),
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    #[test]
    #[allow(unsafe_code)]
    fn arguments_are_read_from_c_as_bytes() {
        let owned: Vec<CString> = [&b"nixpy"[..], b"run", b"caf\xe9"]
            .iter()
            .map(|a| CString::new(*a).unwrap())
            .collect();
        let mut argv: Vec<*const c_char> = owned.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        // SAFETY: three valid strings, then the null C puts after them.
        let args = unsafe { args_from_c(3, argv.as_ptr()) };
        assert_eq!(args[..2], [OsString::from("nixpy"), OsString::from("run")]);
        assert_eq!(args[2].as_encoded_bytes(), b"caf\xe9");
        // SAFETY: the list ends at its null entry, whatever argc says.
        assert_eq!(unsafe { args_from_c(5, argv.as_ptr()) }.len(), 3);
        // SAFETY: no argument is read.
        assert!(unsafe { args_from_c(0, argv.as_ptr()) }.is_empty());
    }
}
