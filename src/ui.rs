//! Messages to the user on stderr. stdout belongs to the user's command
//! (and to commands whose output is data, such as `nixpy env`).

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

static VERBOSITY: AtomicU8 = AtomicU8::new(1);

/// 0 = quiet, 1 = normal, 2+ = verbose.
pub fn set_verbosity(level: u8) {
    VERBOSITY.store(level, Ordering::Relaxed);
}

pub fn verbosity() -> u8 {
    VERBOSITY.load(Ordering::Relaxed)
}

/// A progress line: what nixpy is doing now.
pub fn status(message: &str) {
    if verbosity() >= 1 {
        let _ = writeln!(std::io::stderr(), "nixpy: {message}");
    }
}

/// Something the user should know, even in quiet mode.
pub fn warn(message: &str) {
    let _ = writeln!(std::io::stderr(), "warning: {message}");
}

pub fn note(message: &str) {
    if verbosity() >= 1 {
        let _ = writeln!(std::io::stderr(), "note: {message}");
    }
}
