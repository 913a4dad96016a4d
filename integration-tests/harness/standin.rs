//! The offline nixpkgs stand-in, copied for this machine, the host programs
//! it wraps, and the gate every Nix-using test passes first.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use super::*;

const STANDIN_PREFIX: &str = "nixpy-it-standin-";

/// The host programs the stand-in wraps (the fields of host.nix).
#[derive(Debug, Clone)]
pub(crate) struct HostTools {
    pub system: String,
    pub bash: PathBuf,
    pub coreutils: String,
    pub python: PathBuf,
    pub python_version: String,
    /// A second interpreter of another minor version, when the host has one:
    /// the stand-in's `python312`, for tests of applications built for
    /// another Python than the project's.
    pub python_alt: Option<(PathBuf, String)>,
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

/// What the stand-in's tool `name` prints when asked its version:
/// `<name> version <version> (nixpy stand-in)`.
pub(crate) fn standin_version(name: &str, version: &str) -> String {
    format!("{name} version {version} (nixpy stand-in)\n")
}

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
        // Nix builders (nixbld users under a daemon) and other users run
        // the stand-in's host programs: one they cannot reach (uv under
        // /root) is copied into the stand-in's folder.
        // Not inside the stand-in's folder: that becomes the nixpkgs
        // source in the store (and in every binary cache pushed to).
        let mut host = host;
        if host.uv.is_file() && !reachable_by_everyone(&host.uv) {
            let bin = tempfile::Builder::new()
                .prefix(&format!("{STANDIN_PREFIX}bin-"))
                .tempdir_in(TMP_ROOT)
                .expect("create a folder under /tmp")
                .keep();
            host.uv = copy_for_everyone(&host.uv, &bin);
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

/// Every user may run (or read) `path`: each folder above it is
/// searchable by others, and the file readable and executable by them.
pub(crate) fn reachable_by_everyone(path: &Path) -> bool {
    let file_ok = path
        .metadata()
        .is_ok_and(|m| m.permissions().mode() & 0o005 == 0o005);
    file_ok
        && path.ancestors().skip(1).all(|dir| {
            dir.as_os_str().is_empty()
                || dir
                    .metadata()
                    .is_ok_and(|m| m.permissions().mode() & 0o001 != 0)
        })
}

/// Copies `file` into `dir` (made world-readable), for every user.
pub(crate) fn copy_for_everyone(file: &Path, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    set_mode(dir, 0o755);
    let copy = dir.join(file.file_name().unwrap());
    std::fs::copy(file, &copy).unwrap_or_else(|e| panic!("copy {}: {e}", file.display()));
    set_mode(&copy, 0o755);
    copy
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
    let alt = match &h.python_alt {
        Some((path, version)) => format!(
            "  pythonAlt = {};\n  pythonAltVersion = {};\n",
            s(path),
            nix_string(version)
        ),
        None => String::new(),
    };
    format!(
        "# Written by the nixpy integration-test harness for this machine.\n{{\n  system = {};\n  bash = {};\n  coreutils = {};\n  python = {};\n  pythonVersion = {};\n{alt}  uv = {};\n  pip = {};\n  libstdcxx = {};\n  libz = {};\n}}\n",
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
        python_alt: find_python_alt(&python_version),
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

/// A Python 3.12 (3.13 when the host's own is 3.12) from the system or
/// pyenv, that runs.
fn find_python_alt(host_version: &str) -> Option<(PathBuf, String)> {
    let version = if host_version == "3.12" {
        "3.13"
    } else {
        "3.12"
    };
    let program = format!("python{version}");
    let mut candidates = vec![PathBuf::from("/usr/bin").join(&program)];
    if let Ok(entries) = std::fs::read_dir("/root/.pyenv/versions") {
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path().join("bin").join(&program))
            .collect();
        found.sort();
        candidates.extend(found);
    }
    candidates.into_iter().find_map(|path| {
        let reported = capture(
            Command::new(&path).args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]),
        )?;
        (reported == version).then_some((path, reported))
    })
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
        if skipping_is_a_failure() {
            NixGate::Fail(format!("{why}; CI or NIXPY_REQUIRE_NIX is set, so the integration tests must not be skipped"))
        } else {
            NixGate::Skip(why)
        }
    })
}

/// The suite runs under CI: `CI` is set to anything but empty, `0` or
/// `false` in any case (nixpy's own rule, `support::ci`).
pub(crate) fn under_ci() -> bool {
    std::env::var("CI")
        .is_ok_and(|v| !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")))
}

/// A test that lacks what it needs fails instead of skipping: under CI, or
/// with NIXPY_REQUIRE_NIX set (`scripts/test` sets it).
pub(crate) fn skipping_is_a_failure() -> bool {
    under_ci() || std::env::var_os("NIXPY_REQUIRE_NIX").is_some()
}

/// Says that the running test is skipped, and why. Straight to the
/// process's stderr: libtest captures eprintln! and hides it for tests
/// that pass, and a skip must be seen.
pub(crate) fn say_skipped(why: &str) {
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// The gate of [`needs_nix!`], for a test that needs the stand-in itself:
/// `let Some(standin) = require_nix() else { return };`
///
/// Returns None (after saying so on stderr) when the test must be skipped.
/// Panics when Nix is missing under CI or with NIXPY_REQUIRE_NIX set.
pub(crate) fn require_nix() -> Option<&'static Standin> {
    match nix_gate() {
        NixGate::Ready => Some(warm_standin()),
        NixGate::Skip(why) => {
            say_skipped(&format!(
                "{why} (set NIXPY_REQUIRE_NIX=1 to make this a failure)"
            ));
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

/// A folder to put first on PATH whose `nix` runs the real one, but the
/// first time it adds something to the store (`store add-path`, or an
/// `eval` writing a file with `builtins.toFile`) deletes it at once, as a
/// garbage collection between adding and rooting would. A `raced-*` file
/// in the folder marks each deletion.
pub(crate) fn gc_race_wrapper() -> tempfile::TempDir {
    let real = which("nix").expect("nix on PATH").canonicalize().unwrap();
    let real_store = real.with_file_name("nix-store");
    let dir = temp_dir("nixpy-it-gc-race-");
    let script = format!(
        r#"#!/bin/bash
real={real}
case "$*" in
  *add-path*) what=layer ;;
  *builtins.toFile*) what=shell ;;
  *) exec "$real" "$@" ;;
esac
out=$("$real" "$@") || exit $?
marker="$(dirname "$0")/raced-$what"
if [ ! -e "$marker" ]; then
  : > "$marker"
  {real_store} --delete "$out" >/dev/null 2>&1 || rm -f "$marker"
fi
printf '%s\n' "$out"
"#,
        real = real.display(),
        real_store = real_store.display()
    );
    let nix = dir.path().join("nix");
    std::fs::write(&nix, script).unwrap();
    set_mode(&nix, 0o755);
    // The pip layer's distributions and composition are added with
    // `nix-store --add`: the first such call loses what it added.
    let store_script = format!(
        r#"#!/bin/bash
real={real_store}
case "$1" in
  --add) ;;
  *) exec "$real" "$@" ;;
esac
out=$("$real" "$@") || exit $?
marker="$(dirname "$0")/raced-layer"
if [ ! -e "$marker" ]; then
  : > "$marker"
  "$real" --delete $out >/dev/null 2>&1 || rm -f "$marker"
fi
printf '%s\n' "$out"
"#,
        real_store = real_store.display()
    );
    let nix_store = dir.path().join("nix-store");
    std::fs::write(&nix_store, store_script).unwrap();
    set_mode(&nix_store, 0o755);
    // The folder may be written by another user's nixpy (its markers).
    set_mode(dir.path(), 0o777);
    dir
}
