//! Running nixpy (and programs that run it) with a clean offline
//! environment, and the assertions on what it did.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::*;

/// `nixpy` for this project: run in the project folder, against the offline
/// stand-in, with the project's own cache and a clean NIXPY_*/CI environment.
/// Change anything with the usual `Command` methods before running.
pub(crate) fn nixpy(project: &Project) -> Command {
    nixpy_in(project.root(), project.cache_dir())
}

/// `nixpy` in a folder made by hand (a name [`Project`] cannot pick: bytes
/// that are not UTF-8, a newline) with the cache `cache`, otherwise as
/// [`nixpy`] sets it up.
pub(crate) fn nixpy_in(root: &Path, cache: &Path) -> Command {
    let mut cmd = Command::new(NIXPY);
    offline_env(&mut cmd, root, cache);
    cmd
}

/// What every run of nixpy here gets, directly or through a program that
/// runs it: the folder `root`, the offline stand-in, the cache `cache`,
/// offline Nix and stdin from /dev/null (a command that reads stdin must
/// not wait on the test runner's). Leftover NIXPY_* variables from the
/// developer's shell would change what nixpy does, and CI would switch it
/// to its non-interactive behaviour: both are removed.
fn offline_env<'a>(cmd: &'a mut Command, root: &Path, cache: &Path) -> &'a mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("NIXPY_") {
            cmd.env_remove(&name);
        }
    }
    cmd.current_dir(root)
        .env_remove("CI")
        .env("NIXPY_NIXPKGS", &standin().flake_ref)
        .env("NIXPY_CACHE_DIR", cache)
        .env("NIX_CONFIG", NIX_CONFIG)
        .stdin(Stdio::null())
}

/// `nixpy run -- ARGS...` for this project.
pub(crate) fn nixpy_run<I, S>(project: &Project, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = nixpy(project);
    cmd.args(["run", "--"]).args(args);
    cmd
}

/// What a finished process did, with assertions that show everything on failure.
pub(crate) struct Outcome {
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

pub(crate) trait RunExt {
    /// Runs to completion (at most [`RUN_TIMEOUT`]) capturing both streams.
    fn outcome(&mut self) -> Outcome {
        self.outcome_within(RUN_TIMEOUT)
    }

    /// [`RunExt::outcome`], failing the test when it takes longer than
    /// `limit` (for a run that must not block).
    fn outcome_within(&mut self, limit: Duration) -> Outcome;
}

impl RunExt for Command {
    fn outcome_within(&mut self, limit: Duration) -> Outcome {
        let command = describe(self);
        self.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = self
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command}: {e}"));
        let (tx, rx) = mpsc::channel();
        let readers = [
            (
                0,
                child
                    .stdout
                    .take()
                    .map(|s| Box::new(s) as Box<dyn Read + Send>),
            ),
            (
                1,
                child
                    .stderr
                    .take()
                    .map(|s| Box::new(s) as Box<dyn Read + Send>),
            ),
        ];
        for (which, stream) in readers {
            let tx = tx.clone();
            let mut stream = stream.unwrap();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = stream.read_to_end(&mut buf);
                let _ = tx.send((which, buf));
            });
        }
        drop(tx);
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the child") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let (out, err) = collect(&rx, Duration::from_secs(2));
                panic!("TIMED OUT after {limit:?}: {command}\n--- stdout ---\n{out}\n--- stderr ---\n{err}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // A background process left by the command may keep a pipe open;
        // don't wait for it forever.
        let (stdout, stderr) = collect(&rx, Duration::from_secs(30));
        Outcome {
            command,
            status,
            stdout,
            stderr,
        }
    }
}

fn collect(rx: &mpsc::Receiver<(i32, Vec<u8>)>, wait: Duration) -> (String, String) {
    let (mut out, mut err) = (String::new(), String::new());
    let deadline = Instant::now() + wait;
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((0, buf)) => out = String::from_utf8_lossy(&buf).into_owned(),
            Ok((_, buf)) => err = String::from_utf8_lossy(&buf).into_owned(),
            Err(_) => break,
        }
    }
    (out, err)
}

/// The command line, folder and environment changes, for failure messages.
fn describe(cmd: &Command) -> String {
    let mut s = format!("{:?}", cmd.get_program());
    for arg in cmd.get_args() {
        write!(s, " {arg:?}").unwrap();
    }
    if let Some(dir) = cmd.get_current_dir() {
        write!(s, "\n  in {}", dir.display()).unwrap();
    }
    for (name, value) in cmd.get_envs() {
        match value {
            Some(v) => write!(s, "\n  env {}={:?}", name.to_string_lossy(), v).unwrap(),
            None => write!(s, "\n  env -u {}", name.to_string_lossy()).unwrap(),
        }
    }
    s
}

impl Outcome {
    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\n--- command ---\n{}\n--- status: {} ---\n--- stdout ({} bytes) ---\n{}\n--- stderr ({} bytes) ---\n{}\n--- end ---",
            self.command,
            self.describe_status(),
            self.stdout.len(),
            self.stdout,
            self.stderr.len(),
            self.stderr
        )
    }

    fn describe_status(&self) -> String {
        match (self.status.code(), self.status.signal()) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            _ => format!("{:?}", self.status),
        }
    }

    #[track_caller]
    pub(crate) fn success(&self) -> &Self {
        if !self.status.success() {
            self.fail("expected success");
        }
        self
    }

    #[track_caller]
    pub(crate) fn code(&self, code: i32) -> &Self {
        if self.status.code() != Some(code) {
            self.fail(&format!("expected exit code {code}"));
        }
        self
    }

    /// nixpy's own failure: exit 2, an `error:` line on stderr, nothing on stdout.
    #[track_caller]
    pub(crate) fn nixpy_error(&self) -> &Self {
        self.code(2);
        if !self.stderr.contains("error:") {
            self.fail("expected an `error: ...` line on stderr");
        }
        if !self.stdout.is_empty() {
            self.fail("expected nothing on stdout (it belongs to the user's command)");
        }
        self
    }

    #[track_caller]
    pub(crate) fn signal(&self, signal: i32) -> &Self {
        if self.status.signal() != Some(signal) {
            self.fail(&format!("expected death by signal {signal}"));
        }
        self
    }

    #[track_caller]
    pub(crate) fn stdout_is(&self, expected: &str) -> &Self {
        if self.stdout != expected {
            self.fail(&format!(
                "expected stdout to be exactly {expected:?}, got {:?}",
                self.stdout
            ));
        }
        self
    }

    #[track_caller]
    pub(crate) fn stdout_has(&self, needle: &str) -> &Self {
        if !self.stdout.contains(needle) {
            self.fail(&format!("expected stdout to contain {needle:?}"));
        }
        self
    }

    #[track_caller]
    pub(crate) fn stdout_lacks(&self, needle: &str) -> &Self {
        if self.stdout.contains(needle) {
            self.fail(&format!("expected stdout NOT to contain {needle:?}"));
        }
        self
    }

    #[track_caller]
    pub(crate) fn stderr_has(&self, needle: &str) -> &Self {
        if !self.stderr.contains(needle) {
            self.fail(&format!("expected stderr to contain {needle:?}"));
        }
        self
    }

    /// Case-insensitive [`Outcome::stderr_has`], for prose whose capitalisation may vary.
    #[track_caller]
    pub(crate) fn stderr_has_nocase(&self, needle: &str) -> &Self {
        if !self.stderr.to_lowercase().contains(&needle.to_lowercase()) {
            self.fail(&format!("expected stderr to contain {needle:?} (any case)"));
        }
        self
    }

    #[track_caller]
    pub(crate) fn stderr_lacks(&self, needle: &str) -> &Self {
        if self.stderr.contains(needle) {
            self.fail(&format!("expected stderr NOT to contain {needle:?}"));
        }
        self
    }

    /// stderr has `<file>:<line>:<column>` for some column, such as
    /// `nixpy.toml:2:1`. `file` may be preceded by a folder.
    #[track_caller]
    pub(crate) fn stderr_has_position(&self, file: &str, line: u32) -> &Self {
        let needle = format!("{file}:{line}:");
        let found = self.stderr.match_indices(&needle).any(|(i, _)| {
            let rest = &self.stderr[i + needle.len()..];
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            digits > 0 && rest[digits..].starts_with(':')
        });
        if !found {
            self.fail(&format!(
                "expected stderr to point at {file}:{line}:<column>:"
            ));
        }
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| self.fail(&format!("stdout is not JSON: {e}")))
    }
}

pub(crate) fn is_store_path(path: &str, name_prefix: &str) -> bool {
    let Some(rest) = path.strip_prefix("/nix/store/") else {
        return false;
    };
    let Some((hash, name)) = rest.split_once('-') else {
        return false;
    };
    hash.len() == 32
        && hash
            .chars()
            .all(|c| c.is_ascii_digit() || (c.is_ascii_lowercase() && !"eotu".contains(c)))
        && name.starts_with(name_prefix)
        && !name.contains('/')
}

/// A warm run: success, no phase line, nothing at all on stderr.
#[track_caller]
pub(crate) fn assert_warm(project: &Project, args: &[&str]) -> Outcome {
    let out = nixpy_run(project, args).outcome();
    out.success();
    assert!(
        out.stderr.is_empty(),
        "expected a warm run (nothing on stderr), got:\n{}",
        out.stderr
    );
    out
}

pub(crate) fn nixpy_python(project: &Project, code: &str) -> Command {
    nixpy_run(project, ["python", "-c", code])
}

// ---------------------------------------------------------------------------
// Runs killed midway
// ---------------------------------------------------------------------------

/// Starts `cmd` in a process group of its own (so the whole tree, Nix's
/// builders included, can be killed), stderr piped to follow its phases.
pub(crate) fn spawn_group(mut cmd: Command) -> Child {
    cmd.process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nixpy")
}

/// Kills the process group `child` leads, and reaps the child.
pub(crate) fn kill_group(child: &mut Child) {
    // SAFETY: kill(2) with a negative pid signals the process group the
    // child leads; it touches no memory.
    unsafe {
        libc::kill(-libc::pid_t::try_from(child.id()).unwrap(), libc::SIGKILL);
    }
    let _ = child.wait();
}

// --- warm path / reliability helpers ---
pub(crate) fn phases_started(stderr: &str, label: &str) -> usize {
    phase_lines(stderr)
        .iter()
        .filter(|line| line["nixpy: ".len()..].starts_with(label))
        .count()
}
pub(crate) fn phase_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.starts_with("nixpy: ") && line.ends_with(" ..."))
        .collect()
}

// ---------------------------------------------------------------------------
// Programs that run nixpy themselves (direnv, tmux, shells), for
// integration-tests/shell_entry.rs
// ---------------------------------------------------------------------------

/// Gives `cmd` the environment [`nixpy`] gives the binary (the stand-in, the
/// project's cache, offline Nix, no NIXPY_*/CI/DIRENV_* leftovers, stdin
/// from /dev/null), for a program that runs nixpy itself. The binary's
/// folder goes first on PATH, so `nixpy` there is the one under test.
pub(crate) fn with_nixpy_env<'a>(cmd: &'a mut Command, project: &Project) -> &'a mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("DIRENV_") {
            cmd.env_remove(&name);
        }
    }
    let bin_dir = Path::new(NIXPY).parent().expect("the binary has a folder");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(bin_dir.to_path_buf()).chain(std::env::split_paths(&path)),
    )
    .expect("PATH entries have no colons");
    cmd.env("PATH", path);
    offline_env(cmd, project.root(), project.cache_dir())
}

/// `nix-store --gc --print-dead`: what a collection would delete, computed
/// without deleting anything (it still drops the registrations of roots
/// whose link is gone, as a real collection does). Nix 2.8 sometimes aborts
/// it ("terminate called without an active exception") while other
/// processes change the store, as the tests running beside it do; only
/// such an abort is tried again.
pub(crate) fn gc_print_dead() -> Outcome {
    let mut attempt = 1;
    loop {
        let out = Command::new("nix-store")
            .args(["--gc", "--print-dead"])
            .env("NIX_CONFIG", NIX_CONFIG)
            .outcome();
        if out.status.signal() != Some(libc::SIGABRT) || attempt == 3 {
            return out;
        }
        attempt += 1;
    }
}
