//! Messages to the user on stderr. stdout belongs to the user's command
//! (and to commands whose output is data, such as `nixpy env`).

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::support::text::printable;

static VERBOSITY: AtomicU8 = AtomicU8::new(1);
static COLOR: AtomicU8 = AtomicU8::new(COLOR_AUTO);

pub(crate) const COLOR_AUTO: u8 = 0;
pub(crate) const COLOR_ALWAYS: u8 = 1;
pub(crate) const COLOR_NEVER: u8 = 2;

/// `--color`; `auto` means: stderr is a terminal and NO_COLOR is unset.
pub(crate) fn set_color(choice: u8) {
    COLOR.store(choice, Ordering::Relaxed);
}

pub(crate) fn color() -> bool {
    match COLOR.load(Ordering::Relaxed) {
        COLOR_ALWAYS => true,
        COLOR_NEVER => false,
        _ => {
            use std::io::IsTerminal;
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// `label` in bold colour (`31` red, `33` yellow, `36` cyan) when colour is on.
fn label(text: &str, code: &str) -> String {
    if color() {
        format!("\x1b[1;{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// An error as the user sees it, with `error:` coloured on a terminal.
pub(crate) fn error(err: &crate::error::Error) {
    let text = err.to_string();
    let text = match text.strip_prefix("error:") {
        Some(rest) => format!("{}{rest}", label("error:", "31")),
        None => text,
    };
    let _ = writeln!(
        std::io::stderr(),
        "{}",
        text.replacen("\n  hint:", &format!("\n  {}", label("hint:", "36")), 1)
    );
}

/// 0 = quiet, 1 = normal, 2+ = verbose.
pub(crate) fn set_verbosity(level: u8) {
    VERBOSITY.store(level, Ordering::Relaxed);
}

pub(crate) fn verbosity() -> u8 {
    VERBOSITY.load(Ordering::Relaxed)
}

/// A progress line: what nixpy is doing now. One line, always: a path
/// with a newline (or another control character) in it is escaped.
pub(crate) fn status(message: &str) {
    if verbosity() >= 1 {
        let _ = writeln!(std::io::stderr(), "nixpy: {}", printable(message));
    }
}

/// Lines that belong to the status line before them (a summary), as they are.
pub(crate) fn block(text: &str) {
    if verbosity() >= 1 && !text.is_empty() {
        let _ = write!(std::io::stderr(), "{text}");
    }
}

/// This run waits for another nixpy to finish `what` (it holds a lock).
pub(crate) fn waiting(what: &str) {
    status(&format!("waiting for another nixpy to finish {what}"));
}

/// Something the user should know, even in quiet mode.
pub(crate) fn warn(message: &str) {
    let _ = writeln!(std::io::stderr(), "{} {message}", label("warning:", "33"));
}

pub(crate) fn note(message: &str) {
    if verbosity() >= 1 {
        let _ = writeln!(std::io::stderr(), "{} {message}", label("note:", "36"));
    }
}

/// A long phase (Nix build, pip resolve/install): a spinner with the elapsed
/// time on a terminal, plain start/finish lines with the duration otherwise
/// (CI logs), nothing with `-q`. Under GitHub Actions the phase is a
/// collapsible group.
pub(crate) struct Phase {
    label: String,
    started: std::time::Instant,
    spinner: Option<indicatif::ProgressBar>,
    grouped: bool,
    /// When the last plain progress line was written.
    last_progress: Option<std::time::Instant>,
}

impl Phase {
    pub(crate) fn start(label: impl Into<String>) -> Phase {
        let label = printable(&label.into());
        let started = std::time::Instant::now();
        let mut phase = Phase {
            label,
            started,
            spinner: None,
            grouped: false,
            last_progress: None,
        };
        if verbosity() == 0 {
            return phase;
        }
        use std::io::IsTerminal;
        // The spinner redraws a line: for a person at a terminal only.
        if std::io::stderr().is_terminal()
            && !crate::support::ci::is_ci()
            && COLOR.load(Ordering::Relaxed) != COLOR_NEVER
        {
            let spinner = indicatif::ProgressBar::new_spinner();
            let style =
                indicatif::ProgressStyle::with_template("{spinner} nixpy: {msg} ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
            spinner.set_style(style);
            spinner.set_message(phase.label.clone());
            spinner.enable_steady_tick(std::time::Duration::from_millis(100));
            phase.spinner = Some(spinner);
        } else {
            phase.grouped = std::env::var_os("GITHUB_ACTIONS").is_some();
            let open = if phase.grouped { "::group::" } else { "" };
            let _ = writeln!(std::io::stderr(), "{open}nixpy: {} ...", phase.label);
        }
        phase
    }

    pub(crate) fn finish(mut self) {
        self.end("done");
    }

    /// How far a long phase has come (`1200/21000 names`): on the spinner,
    /// or as a plain line when stderr is not a terminal, at most one line a
    /// second after the first.
    pub(crate) fn progress(&mut self, detail: &str) {
        if verbosity() == 0 {
            return;
        }
        if let Some(spinner) = &self.spinner {
            spinner.set_message(format!("{}: {detail}", self.label));
            return;
        }
        let now = std::time::Instant::now();
        if self
            .last_progress
            .is_some_and(|at| now.duration_since(at) < std::time::Duration::from_secs(1))
        {
            return;
        }
        self.last_progress = Some(now);
        let _ = writeln!(std::io::stderr(), "nixpy: {}: {detail}", self.label);
    }

    fn end(&mut self, how: &str) {
        let elapsed = self.started.elapsed().as_secs_f64();
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
        if verbosity() == 0 {
            return;
        }
        let _ = writeln!(
            std::io::stderr(),
            "nixpy: {}: {how} in {elapsed:.1}s",
            self.label
        );
        if self.grouped {
            let _ = writeln!(std::io::stderr(), "::endgroup::");
            self.grouped = false;
        }
    }
}

impl Drop for Phase {
    /// A phase dropped without `finish` failed; its error follows.
    fn drop(&mut self) {
        if self.spinner.is_some() || self.grouped {
            self.end("failed");
        }
    }
}
