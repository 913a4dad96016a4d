//! Shared setup for the integration tests.
//!
//! * [`standin`]: once per test process, a world-readable copy of the offline
//!   nixpkgs stand-in under /tmp, with a `host.nix` written for this machine
//!   (Nix builders run as `nixbld` users, so nothing may live under /root).
//! * [`require_nix`]: the gate every Nix-using test starts with. It skips the
//!   test loudly when `nix` is missing, unless `CI` or `NIXPY_REQUIRE_NIX` is
//!   set, in which case a missing Nix fails the test.
//! * [`Project`]: a temporary project folder (and its own cache folder).
//! * [`nixpy`]: a `Command` for the binary under test with a clean, offline
//!   environment; [`RunExt::outcome`] runs it with a timeout and returns an
//!   [`Outcome`] whose assertions print both streams when they fail.
//! * [`make_wheel`]: writes a small pure-Python wheel, for pip-layer tests.

#![allow(dead_code)] // Not every helper is used by every test module.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{Read, Write as _};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// The binary under test.
pub(crate) const NIXPY: &str = env!("CARGO_BIN_EXE_nixpy");

/// Offline Nix: flakes on, no binary cache, no global registry lookups.
pub(crate) const NIX_CONFIG: &str =
    "experimental-features = nix-command flakes\nsubstituters =\nflake-registry = /dev/null\n";

/// Where every temporary folder goes. Not under /root (builders cannot read
/// it) and not `$TMPDIR`, which a developer may have pointed at their home.
pub(crate) const TMP_ROOT: &str = "/tmp";

/// A nixpy run that takes longer than this is hung; the stand-in builds take
/// well under a second, so this only guards against a test waiting forever.
pub(crate) const RUN_TIMEOUT: Duration = Duration::from_secs(300);

const STANDIN_PREFIX: &str = "nixpy-it-standin-";

// ---------------------------------------------------------------------------
// Host programs and the stand-in copy
// ---------------------------------------------------------------------------

/// The host programs the stand-in wraps (the fields of host.nix).
#[derive(Debug, Clone)]
pub(crate) struct HostTools {
    pub system: String,
    pub bash: PathBuf,
    pub coreutils: String,
    pub python: PathBuf,
    pub python_version: String,
    pub uv: PathBuf,
    pub pip: PathBuf,
    pub libstdcxx: PathBuf,
    pub libz: PathBuf,
}

/// The per-process copy of the stand-in.
#[derive(Debug)]
pub(crate) struct Standin {
    /// The copied folder (world-readable, under /tmp).
    pub dir: PathBuf,
    /// `path:<dir>`, the value of `NIXPY_NIXPKGS`.
    pub flake_ref: String,
    pub host: HostTools,
    /// A cache folder for tests that want to share one across projects:
    /// `nixpy(&p).env("NIXPY_CACHE_DIR", &standin().shared_cache)`.
    pub shared_cache: PathBuf,
}

static STANDIN: OnceLock<Standin> = OnceLock::new();

/// The stand-in copy, made on first use. It needs a host Python but not Nix,
/// so tests that run nixpy without Nix can still point it somewhere sane.
pub(crate) fn standin() -> &'static Standin {
    STANDIN.get_or_init(|| {
        let host = host_tools().clone();
        remove_stale_standins();
        let dir = tempfile::Builder::new()
            .prefix(STANDIN_PREFIX)
            .tempdir_in(TMP_ROOT)
            .expect("create the stand-in folder under /tmp")
            // Kept for the whole process (statics are never dropped); stale
            // copies are removed by the next run, see remove_stale_standins.
            .keep();
        let source =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("integration-tests/nixpkgs-standin");
        for entry in
            std::fs::read_dir(&source).unwrap_or_else(|e| panic!("read {}: {e}", source.display()))
        {
            let entry = entry.unwrap();
            let name = entry.file_name();
            // host.nix is always written afresh: the committed one describes
            // somebody else's machine.
            if name == "host.nix" || !entry.file_type().unwrap().is_file() {
                continue;
            }
            std::fs::copy(entry.path(), dir.join(&name))
                .unwrap_or_else(|e| panic!("copy {:?}: {e}", entry.path()));
            set_mode(&dir.join(&name), 0o644);
        }
        std::fs::write(dir.join("host.nix"), host_nix(&host)).expect("write host.nix");
        set_mode(&dir.join("host.nix"), 0o644);
        let shared_cache = dir.join("shared-cache");
        std::fs::create_dir(&shared_cache).unwrap();
        set_mode(&shared_cache, 0o755);
        set_mode(&dir, 0o755);
        Standin {
            flake_ref: format!("path:{}", dir.display()),
            dir,
            host,
            shared_cache,
        }
    })
}

/// Stand-in copies from earlier test runs that are more than a day old.
fn remove_stale_standins() {
    let Ok(entries) = std::fs::read_dir(TMP_ROOT) else {
        return;
    };
    let day_ago = SystemTime::now() - Duration::from_secs(24 * 3600);
    for entry in entries.flatten() {
        let stale = entry
            .file_name()
            .to_string_lossy()
            .starts_with(STANDIN_PREFIX)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < day_ago);
        if stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn host_nix(h: &HostTools) -> String {
    let s = |p: &Path| nix_string(&p.display().to_string());
    format!(
        "# Written by the nixpy integration-test harness for this machine.\n{{\n  system = {};\n  bash = {};\n  coreutils = {};\n  python = {};\n  pythonVersion = {};\n  uv = {};\n  pip = {};\n  libstdcxx = {};\n  libz = {};\n}}\n",
        nix_string(&h.system),
        s(&h.bash),
        nix_string(&h.coreutils),
        s(&h.python),
        nix_string(&h.python_version),
        s(&h.uv),
        s(&h.pip),
        s(&h.libstdcxx),
        s(&h.libz),
    )
}

/// A Nix string literal: `"`, `\` and `${` escaped.
pub(crate) fn nix_string(text: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

static HOST_TOOLS: OnceLock<HostTools> = OnceLock::new();

/// The host's programs, found once. Only a Python 3 is required; anything
/// else that is missing becomes a path that does not exist, which breaks
/// only the tests that use it (with a clear "No such file" from the tool).
pub(crate) fn host_tools() -> &'static HostTools {
    HOST_TOOLS.get_or_init(detect_host_tools)
}

fn detect_host_tools() -> HostTools {
    let python = host_python();
    let python_version = capture(
        Command::new(&python).args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]),
    )
    .unwrap_or_else(|| panic!("cannot run {}", python.display()));
    let missing = |what: &str| PathBuf::from(format!("/nonexistent/nixpy-test-host-{what}"));
    HostTools {
        system: nix_system(),
        bash: PathBuf::from("/bin/bash"),
        coreutils: "/usr/bin:/bin".to_owned(),
        pip: find_pip(&python, &python_version).unwrap_or_else(|| missing("pip")),
        uv: find_uv(&python).unwrap_or_else(|| missing("uv")),
        libstdcxx: find_library("libstdc++.so.6").unwrap_or_else(|| missing("libstdc++.so.6")),
        libz: find_library("libz.so.1").unwrap_or_else(|| missing("libz.so.1")),
        python,
        python_version,
    }
}

/// Nix's name for this platform, from `uname`; it must match what nixpy
/// computes, or the generated flake asks the stand-in for another system.
fn nix_system() -> String {
    let arch = capture(Command::new("uname").arg("-m")).expect("uname -m");
    let os = capture(Command::new("uname").arg("-s")).expect("uname -s");
    let arch = match arch.as_str() {
        "arm64" => "aarch64",
        other => other,
    };
    let os = if os == "Darwin" { "darwin" } else { "linux" };
    format!("{arch}-{os}")
}

/// A Python 3 interpreter: /usr/bin/python3.11 when present (a plain file,
/// not a pyenv shim), else `python3` on PATH resolved to its real binary.
pub(crate) fn host_python() -> PathBuf {
    let preferred = Path::new("/usr/bin/python3.11");
    if preferred.is_file() {
        return preferred.to_path_buf();
    }
    // A pyenv shim is a script that needs pyenv on PATH; ask the interpreter
    // itself where it lives.
    let real = capture(Command::new("python3").args([
        "-c",
        "import sys, os; print(os.path.realpath(sys.executable))",
    ]))
    .expect("the integration tests need a Python 3 on PATH (python3)");
    PathBuf::from(real)
}

fn find_pip(python: &Path, version: &str) -> Option<PathBuf> {
    let script = "import pip, os, sys; print('%d.%d' % sys.version_info[:2]); print(os.path.dirname(os.path.realpath(pip.__file__)))";
    let mut candidates = vec![python.to_path_buf(), PathBuf::from("python3")];
    // pyenv installs ship pip even when the system Python does not; it is
    // only symlinked, so any version of the same minor release will do.
    if let Ok(entries) = std::fs::read_dir("/root/.pyenv/versions") {
        let mut more: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path().join("bin/python3"))
            .collect();
        more.sort();
        candidates.extend(more);
    }
    let mut fallback = None;
    for candidate in candidates {
        let Some(out) = capture(Command::new(&candidate).args(["-c", script])) else {
            continue;
        };
        let mut lines = out.lines();
        let (Some(v), Some(dir)) = (lines.next(), lines.next()) else {
            continue;
        };
        if v == version {
            return Some(PathBuf::from(dir));
        }
        fallback.get_or_insert(PathBuf::from(dir));
    }
    fallback
}

fn find_uv(python: &Path) -> Option<PathBuf> {
    // The `uv` Python package knows where its binary is; a pyenv shim on
    // PATH is a script that needs pyenv, so only a real binary will do.
    for py in [python, Path::new("python3")] {
        if let Some(p) =
            capture(Command::new(py).args(["-c", "import uv; print(uv.find_uv_bin())"]))
        {
            if let Ok(real) = std::fs::canonicalize(p) {
                return Some(real);
            }
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.ends_with("shims"))
        .map(|dir| dir.join("uv"))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
}

/// The real path of a shared library, from `ldconfig -p` or the usual folders.
fn find_library(name: &str) -> Option<PathBuf> {
    let arch_tag = if std::env::consts::ARCH == "x86_64" {
        "x86-64"
    } else {
        ""
    };
    for ldconfig in ["ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"] {
        let Some(out) = capture(Command::new(ldconfig).arg("-p")) else {
            continue;
        };
        for line in out.lines() {
            let line = line.trim();
            // `libz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1`
            let Some((left, path)) = line.split_once(" => ") else {
                continue;
            };
            // Kept as named: the stand-in links the library under its file
            // name, which must be the soname (libz.so.1, not libz.so.1.2.13).
            if left.split_whitespace().next() == Some(name)
                && left.contains(arch_tag)
                && Path::new(path).exists()
            {
                return Some(PathBuf::from(path));
            }
        }
    }
    let multiarch = format!("{}-linux-gnu", std::env::consts::ARCH);
    for dir in [
        format!("/usr/lib/{multiarch}"),
        format!("/lib/{multiarch}"),
        "/usr/lib64".into(),
        "/usr/lib".into(),
    ] {
        let candidate = Path::new(&dir).join(name);
        if candidate.exists() {
            return Some(candidate);
        }
    }
    None
}

/// The first `name` on PATH.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Trimmed stdout of a successful command, or None.
fn capture(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub(crate) fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

// ---------------------------------------------------------------------------
// The Nix gate
// ---------------------------------------------------------------------------

enum NixGate {
    Ready,
    Skip(String),
    Fail(String),
}

static NIX_GATE: OnceLock<NixGate> = OnceLock::new();

fn nix_gate() -> &'static NixGate {
    NIX_GATE.get_or_init(|| {
        let probe = Command::new("nix").arg("--version").stdin(Stdio::null()).output();
        if matches!(&probe, Ok(out) if out.status.success()) {
            return NixGate::Ready;
        }
        let why = match probe {
            Ok(out) => format!("`nix --version` failed: {}", String::from_utf8_lossy(&out.stderr).trim()),
            Err(e) => format!("`nix` is not runnable from PATH: {e}"),
        };
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        if ci || std::env::var_os("NIXPY_REQUIRE_NIX").is_some() {
            NixGate::Fail(format!("{why}; CI or NIXPY_REQUIRE_NIX is set, so the integration tests must not be skipped"))
        } else {
            NixGate::Skip(why)
        }
    })
}

/// Call first in every test that needs Nix:
/// `let Some(standin) = require_nix() else { return };`
///
/// Returns None (after saying so on stderr) when the test must be skipped.
/// Panics when Nix is missing under CI or with NIXPY_REQUIRE_NIX set.
pub(crate) fn require_nix() -> Option<&'static Standin> {
    match nix_gate() {
        NixGate::Ready => Some(warm_standin()),
        NixGate::Skip(why) => {
            let test = std::thread::current().name().unwrap_or("?").to_owned();
            // Straight to the process's stderr: libtest captures eprintln!
            // and hides it for tests that pass, and a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: {why} (set NIXPY_REQUIRE_NIX=1 to make this a failure)"
            );
            None
        }
        NixGate::Fail(why) => panic!("{why}"),
    }
}

static WARM: OnceLock<Result<(), String>> = OnceLock::new();

/// The stand-in with the packages every shell uses already built, by one Nix
/// process, so that a stand-in that cannot build on this machine is reported
/// once, as a harness problem, instead of as thirty nixpy failures.
fn warm_standin() -> &'static Standin {
    let standin = standin();
    let warm = WARM.get_or_init(|| {
        let system = &standin.host.system;
        let attrs = [
            "python3",
            "python3.pkgs.pip",
            "uv",
            "bashInteractive",
            "zlib",
            "stdenv.cc.cc.lib",
        ];
        let mut cmd = Command::new("nix");
        cmd.args(["build", "--no-link"])
            .env("NIX_CONFIG", NIX_CONFIG)
            .stdin(Stdio::null());
        for attr in attrs {
            cmd.arg(format!(
                "{}#legacyPackages.{system}.{attr}",
                standin.flake_ref
            ));
        }
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run nix build: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    });
    if let Err(why) = warm {
        panic!(
            "the nixpkgs stand-in in {} does not build on this machine (a test-harness problem, not a nixpy one); host.nix:\n{}\nnix said:\n{why}",
            standin.dir.display(),
            std::fs::read_to_string(standin.dir.join("host.nix")).unwrap_or_default()
        );
    }
    standin
}

// ---------------------------------------------------------------------------
// Projects
// ---------------------------------------------------------------------------

/// A temporary project folder, plus a cache folder of its own.
pub(crate) struct Project {
    /// Held so the folder lives as long as the project (removed on drop).
    dir: tempfile::TempDir,
    root: PathBuf,
    cache: tempfile::TempDir,
}

/// A temporary folder under /tmp, world-readable, removed on drop.
pub(crate) fn temp_dir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(TMP_ROOT)
        .expect("create a folder under /tmp");
    set_mode(dir.path(), 0o755);
    dir
}

impl Project {
    /// An empty project folder; add files with [`Project::file`].
    pub(crate) fn new() -> Project {
        let dir = temp_dir("nixpy-it-project-");
        // Canonical, so tests can compare it with NIXPY_PROJECT.
        let root = dir.path().canonicalize().unwrap();
        Project {
            dir,
            root,
            cache: temp_dir("nixpy-it-cache-"),
        }
    }

    /// A project whose only file is `nixpy.toml` with this text.
    pub(crate) fn with_manifest(nixpy_toml: &str) -> Project {
        Project::new().file("nixpy.toml", nixpy_toml)
    }

    /// Writes `rel` (creating folders), and returns the project for chaining.
    pub(crate) fn file(self, rel: &str, contents: &str) -> Project {
        self.write(rel, contents);
        self
    }

    pub(crate) fn write(&self, rel: &str, contents: &str) {
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Creates a folder (and parents) inside the project.
    pub(crate) fn mkdir(&self, rel: &str) -> PathBuf {
        let path = self.root.join(rel);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub(crate) fn read(&self, rel: &str) -> String {
        let path = self.root.join(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// This project's own cache folder (the default NIXPY_CACHE_DIR).
    pub(crate) fn cache_dir(&self) -> &Path {
        self.cache.path()
    }

    /// Every file and folder in the project, as sorted relative paths.
    pub(crate) fn listing(&self) -> BTreeSet<String> {
        walk(&self.root)
            .into_iter()
            .map(|p| p.strip_prefix(&self.root).unwrap().display().to_string())
            .collect()
    }
}

impl Default for Project {
    fn default() -> Self {
        Project::new()
    }
}

/// All paths below `dir` (files, folders and symlinks; symlinks not followed).
pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

/// A TOML basic string holding exactly `text`.
pub(crate) fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => write!(out, "\\u{:04X}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------
// Running nixpy
// ---------------------------------------------------------------------------

/// `nixpy` for this project: run in the project folder, against the offline
/// stand-in, with the project's own cache and a clean NIXPY_*/CI environment.
/// Change anything with the usual `Command` methods before running.
pub(crate) fn nixpy(project: &Project) -> Command {
    let standin = standin();
    let mut cmd = Command::new(NIXPY);
    cmd.current_dir(project.root());
    // Leftovers from the developer's shell would change what nixpy does; CI
    // would switch nixpy to its non-interactive behaviour.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("NIXPY_") {
            cmd.env_remove(&name);
        }
    }
    cmd.env_remove("CI");
    cmd.env("NIXPY_NIXPKGS", &standin.flake_ref);
    cmd.env("NIXPY_CACHE_DIR", project.cache_dir());
    cmd.env("NIX_CONFIG", NIX_CONFIG);
    // A command that reads stdin must not wait on the test runner's.
    cmd.stdin(Stdio::null());
    cmd
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
    fn outcome(&mut self) -> Outcome;
}

impl RunExt for Command {
    fn outcome(&mut self) -> Outcome {
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
        let deadline = Instant::now() + RUN_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the child") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let (out, err) = collect(&rx, Duration::from_secs(2));
                panic!("TIMED OUT after {RUN_TIMEOUT:?}: {command}\n--- stdout ---\n{out}\n--- stderr ---\n{err}");
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

// ---------------------------------------------------------------------------
// Wheels
// ---------------------------------------------------------------------------

/// The wheel writer, run by the host Python: a spec comes in as JSON on
/// stdin, the wheel's path goes out on stdout. Entries are written in a
/// fixed order with a fixed timestamp, so the same spec gives the same bytes.
const WHEEL_WRITER: &str = r#"
import base64, hashlib, json, os, re, sys, zipfile
spec = json.load(sys.stdin)
name, version = spec["name"], spec["version"]
dist = re.sub(r"[-_.]+", "_", name).lower()
info = f"{dist}-{version}.dist-info"
entries = [(path, text.encode()) for path, text in spec["files"]]
meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
meta += "".join(f"Requires-Dist: {r}\n" for r in spec["requires"])
entries.append((f"{info}/METADATA", meta.encode()))
entries.append((f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: nixpy-integration-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
if spec["console_scripts"]:
    eps = "[console_scripts]\n" + "".join(f"{n} = {t}\n" for n, t in spec["console_scripts"])
    entries.append((f"{info}/entry_points.txt", eps.encode()))
record = ""
for path, data in entries:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record += f"{path},sha256={digest},{len(data)}\n"
record += f"{info}/RECORD,,\n"
entries.append((f"{info}/RECORD", record.encode()))
out = os.path.join(spec["dir"], f"{dist}-{version}-py3-none-any.whl")
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for path, data in entries:
        zi = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
        zi.external_attr = 0o644 << 16
        zi.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(zi, data)
print(out)
"#;

/// Writes `<name>-<version>-py3-none-any.whl` into `dir` and returns its path.
///
/// * `requires`: `Requires-Dist` lines, such as `"attrs>=23"`.
/// * `files`: `(path inside the wheel, text)`, such as `("greet/__init__.py", "...")`.
/// * `console_scripts`: `(command, "module:function")`.
pub(crate) fn make_wheel(
    dir: &Path,
    name: &str,
    version: &str,
    requires: &[&str],
    files: &[(&str, &str)],
    console_scripts: &[(&str, &str)],
) -> PathBuf {
    let spec = serde_json::json!({
        "dir": dir,
        "name": name,
        "version": version,
        "requires": requires,
        "files": files,
        "console_scripts": console_scripts,
    });
    let python = host_python();
    let mut child = Command::new(&python)
        .args(["-c", WHEEL_WRITER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "writing the wheel failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The harness's own check: the wheel installs and its script runs. Needs
/// no Nix, only the host Python and uv (or pip).
#[test]
fn make_wheel_writes_an_installable_wheel() {
    let tmp = temp_dir("nixpy-it-wheel-");
    let wheel = make_wheel(
        tmp.path(),
        "Nixpy-Greet",
        "0.1.0",
        &["attrs>=23"],
        &[(
            "nixpy_greet/__init__.py",
            "def main():\n    print('hello from the wheel')\n",
        )],
        &[("nixpy-greet", "nixpy_greet:main")],
    );
    assert_eq!(
        wheel.file_name().unwrap(),
        "nixpy_greet-0.1.0-py3-none-any.whl"
    );
    let target = tmp.path().join("site");
    let host = host_tools();
    let python = host_python();
    let mut install = if host.uv.is_file() {
        let mut c = Command::new(&host.uv);
        c.args(["pip", "install", "--offline", "--no-deps", "--python"])
            .arg(&python);
        c
    } else {
        let mut c = Command::new(&python);
        c.args(["-m", "pip", "install", "--no-index", "--no-deps"]);
        c
    };
    install
        .arg("--target")
        .arg(&target)
        .arg(&wheel)
        .env("UV_CACHE_DIR", tmp.path().join("uv-cache"));
    install.outcome().success();
    let meta =
        std::fs::read_to_string(target.join("nixpy_greet-0.1.0.dist-info/METADATA")).unwrap();
    assert!(meta.contains("Requires-Dist: attrs>=23"), "{meta}");
    Command::new(target.join("bin/nixpy-greet"))
        .env("PYTHONPATH", &target)
        .outcome()
        .success()
        .stdout_is("hello from the wheel\n");
}

// --- pip layer / binary cache helpers ---

/// requirements.txt text that installs only from the project's `wheels/`
/// folder (no index, so nothing is fetched), followed by `lines`.
pub(crate) fn local_requirements(lines: &[&str]) -> String {
    let mut text = String::from("--no-index\n--find-links ./wheels\n");
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// The project's nixpy.lock, parsed.
pub(crate) fn read_lock(project: &Project) -> toml::Value {
    let text = project.read("nixpy.lock");
    toml::from_str(&text).unwrap_or_else(|e| panic!("nixpy.lock is not TOML: {e}\n{text}"))
}

/// `/nix/store/<32 base-32 chars>-<name>` where the name starts with `name_prefix`.
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

/// A python one-liner run by `nixpy run -- python -c CODE`; CODE prints JSON.
pub(crate) fn nixpy_python(project: &Project, code: &str) -> Command {
    nixpy_run(project, ["python", "-c", code])
}

// --- warm path / reliability helpers ---

/// How many of nixpy's phases whose label starts with `label` began, going by
/// the start lines printed when stderr is not a terminal
/// (`nixpy: building the Nix shell (2 package source(s)) ...`). The matching
/// `...: done in 0.1s` lines are not counted.
pub(crate) fn phases_started(stderr: &str, label: &str) -> usize {
    phase_lines(stderr)
        .iter()
        .filter(|line| line["nixpy: ".len()..].starts_with(label))
        .count()
}

/// nixpy's phase start lines in `stderr`: none at all on the warm path.
pub(crate) fn phase_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.starts_with("nixpy: ") && line.ends_with(" ..."))
        .collect()
}

/// A name no earlier run has used (process id, time and a counter), for
/// derivations and wheels that must really be built, not found in the store.
pub(crate) fn unique_name(prefix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}-{n}", std::process::id())
}

/// `<cache>/v1/projects/<id>`, the folder nixpy keeps for `project` in the
/// cache folder `cache`; the id is the key of the canonical project path
/// (src/layout.rs `Cache::project`, src/support/hash.rs `key_of`).
pub(crate) fn project_cache_dir(cache: &Path, project: &Project) -> PathBuf {
    let root = project.root().as_os_str().as_encoded_bytes();
    let mut hasher = blake3::Hasher::new();
    hasher.update(&(root.len() as u64).to_le_bytes());
    hasher.update(root);
    let id = hasher.finalize().to_hex()[..32].to_owned();
    cache.join("v1/projects").join(id)
}

/// The project's `entry.json` in `cache`, parsed; None when absent or not JSON.
pub(crate) fn read_entry(cache: &Path, project: &Project) -> Option<serde_json::Value> {
    let bytes = std::fs::read(project_cache_dir(cache, project).join("entry.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Text for a `nix-files` entry whose one package is built from scratch:
/// after sleeping `sleep_secs` it puts `bin/<name>` (printing `<name> ok`) on
/// PATH. Use a [`unique_name`] so the store path is this test's alone. The
/// builder's command line holds `name`, so a test can wait for it to exit.
pub(crate) fn scratch_package_nix(name: &str, sleep_secs: u32) -> String {
    // The EXIT trap is the stand-in's holdLogUntilExit (see pkgs.nix): without
    // it Nix 2.8 may report a builder that succeeded as killed by signal 9.
    let script = format!(
        "trap '( while read -r _ _ s _ 2>/dev/null < /proc/$$/stat && [ \"$s\" != Z ]; do :; done ) &' EXIT\n\
         : {name}\n\
         /bin/sleep {sleep_secs}\n\
         /bin/mkdir -p \"$out/bin\"\n\
         printf '#!/bin/sh\\necho \"%s ok\"\\n' {name} > \"$out/bin/{name}\"\n\
         /bin/chmod +x \"$out/bin/{name}\"\n"
    );
    format!(
        "{{ pkgs, ... }}: [ (builtins.derivation {{ name = {}; system = builtins.currentSystem; builder = \"/bin/bash\"; args = [ \"-c\" {} ]; }}) ]\n",
        nix_string(name),
        nix_string(&script)
    )
}

/// Writes the wheel `<name>-<version>` into the project's `wheels/` folder;
/// its module (the name with `-` as `_`) has `VERSION = "<version>"`.
pub(crate) fn add_wheel(project: &Project, name: &str, version: &str) -> PathBuf {
    let module = name.replace('-', "_");
    let init = format!("{module}/__init__.py");
    let text = format!("VERSION = {version:?}\n");
    make_wheel(
        &project.mkdir("wheels"),
        name,
        version,
        &[],
        &[(&init, &text)],
        &[],
    )
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
    let standin = standin();
    for (name, _) in std::env::vars_os() {
        let name_str = name.to_string_lossy();
        if name_str.starts_with("NIXPY_") || name_str.starts_with("DIRENV_") {
            cmd.env_remove(&name);
        }
    }
    let bin_dir = Path::new(NIXPY).parent().expect("the binary has a folder");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(bin_dir.to_path_buf()).chain(std::env::split_paths(&path)),
    )
    .expect("PATH entries have no colons");
    cmd.current_dir(project.root())
        .env_remove("CI")
        .env("PATH", path)
        .env("NIXPY_NIXPKGS", &standin.flake_ref)
        .env("NIXPY_CACHE_DIR", project.cache_dir())
        .env("NIX_CONFIG", NIX_CONFIG)
        .stdin(Stdio::null());
    cmd
}
