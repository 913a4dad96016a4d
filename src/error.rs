//! nixpy's one error type: a cause, an optional hint, and the exit status.
//!
//! Every failure the user sees goes through here so messages share one
//! format: `error: <cause>` then `  hint: <fix>`.

use std::fmt;

/// Exit status for nixpy's own failures (a user's command keeps its own).
pub(crate) const EXIT_NIXPY_FAILURE: i32 = 2;

#[derive(Debug)]
pub(crate) struct Error {
    pub message: String,
    pub hint: Option<String>,
    pub exit_code: i32,
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            hint: None,
            exit_code: EXIT_NIXPY_FAILURE,
        }
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub(crate) fn with_exit_code(mut self, code: i32) -> Self {
        self.exit_code = code;
        self
    }

    /// An I/O failure on `path`, phrased for a person.
    pub(crate) fn io(action: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        Error::new(format!("cannot {action} {}: {err}", path.display()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message.trim_end())?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {}", hint.trim_end())?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
