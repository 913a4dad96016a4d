//! The warm path: from `nixpy run CMD` to exec when the cached entry is
//! fresh. No Nix, no Python, no bash (unless the project has a shell hook),
//! no argument parser, no allocation-heavy work: a warm start costs little
//! more than the two process starts it cannot avoid.
//!
//! Nothing else runs before exec. After the C runtime's own start-up, these
//! are all the system calls it may make, in order (any failure or doubt
//! returns to the normal path, which parses the arguments, explains and
//! rebuilds):
//!
//! 0. In `main`, before the warm path: `poll` of file descriptors 0-2, and
//!    `openat` of /dev/null for each that is closed (what Rust's own
//!    start-up would do; `fcntl` of each only if `poll` fails).
//! 1. `getcwd`: the start folder (argv comes from `main`'s own parameters,
//!    the environment from libc's `environ`); `getcwd` again only if
//!    `NIXPY_CACHE_DIR` is relative.
//! 2. The start folder made canonical (`readlink` of each component), then
//!    per folder up to the project: `lstat` of `nixpy.toml`, `stat` of
//!    `pyproject.toml`. In a folder with a pyproject.toml, the folder's
//!    entry is read (3); only when that entry does not name the file as the
//!    manifest (a sub-package's pyproject.toml on the way up, a project not
//!    built yet) is the pyproject.toml opened and read, to see whether it
//!    configures nixpy.
//! 3. The entry (`entry.json`): `openat`, `statx`, `getuid` (an entry
//!    another user owns is never used), `read`, `close`, unless step 2
//!    read it already.
//! 4. The Nix identity, a value of the fingerprint: `stat` and `access` of
//!    `nix` in each PATH folder outside the store until found, `readlink`
//!    of each component of its path, `stat` of it.
//! 5. (No system call) the hash of each environment variable a
//!    requirements file names as `${NAME}`; `readlink` of each symbolic
//!    link met on the way to an input file
//!    (none unless the project links folders or files), `stat` of each
//!    input file of the fingerprint (only a file whose stat
//!    moved is opened without blocking, checked to be a regular file with
//!    `statx`, read and hashed), `lstat` of the one store path the
//!    entry needs, `stat` of the pip layer's folder and of the project
//!    interpreter's folder, then `readlink` of
//!    each GC root's registration (`/nix/var/nix/gcroots/auto/<name>`: a
//!    garbage collection drops it while the cache folder is away, and
//!    nothing else would notice). No daemon is asked.
//! 6. Only when stats moved but contents did not: `open` and `flock` of the
//!    project's lock (without waiting), and the entry rewritten with the new
//!    stats (a temporary file, `write`, `fsync`, `fchmod`, `rename`).
//! 7. `openat`, `utimensat`, `close` of the entry: its mtime says when it
//!    was last used (`nixpy gc --older-than`).
//! 8. Without a shell hook: `getcwd`, `stat` of the command in the
//!    project interpreter's bin/ (which pip may add to, so it is not
//!    indexed), then `stat` and `access` of the command in each folder of
//!    the caller's PATH that the program index does not cover (none for a
//!    command of the environment), `rt_sigaction` (std resets SIGPIPE) and
//!    `execve` of the command. With one: `rt_sigaction` and `execve` of
//!    bash, which looks the command up after the hook ran (the hook may
//!    put it on PATH).
//!
//! `strace -f nixpy run -- true` in a built project shows the list.

use std::collections::BTreeMap;
use std::ffi::OsString;

use super::fingerprint::{self, scalars};
use super::{CacheEntry, ProjectCache};
use crate::error::Error;
use crate::layout::Cache;
use crate::project;
use crate::run;
use crate::support::fingerprint::{FileStamp, Freshness};
use crate::support::last_used::mark_used;
use crate::support::FileLock;
use crate::ui;

/// The warm path before any argument parsing: parsing the full command
/// line costs about as much as the rest of a warm start. Only the plain
/// forms `nixpy run CMD...` and `nixpy run -- CMD...` qualify; anything
/// else (flags, a cache that is not fresh) returns `None` and takes the
/// normal path, which parses, explains and rebuilds.
pub(crate) fn try_warm_without_parsing(argv: &[OsString]) -> Option<Error> {
    let [_, subcommand, rest @ ..] = argv else {
        return None;
    };
    if subcommand != "run" {
        return None;
    }
    let command = match rest {
        [dashes, command @ ..] if dashes == "--" => command,
        [first, ..] if !first.as_encoded_bytes().starts_with(b"-") => rest,
        _ => return None,
    };
    if command.is_empty() {
        return None;
    }
    let start_dir = std::env::current_dir().ok()?;
    let nixpkgs_override = std::env::var("NIXPY_NIXPKGS").ok();
    let cache = Cache::locate().ok()?;
    // A pyproject.toml that the entry of its folder names as the manifest
    // configures nixpy: found without parsing it, and the entry read once.
    let mut entry = None;
    let location = project::discover_with(&start_dir, |dir| {
        entry = CacheEntry::read(&cache.project(dir).entry())
            .filter(|e| e.manifest == dir.join(project::PYPROJECT_FILE));
        entry.is_some()
    })
    .ok()?;
    let pc = ProjectCache::new(cache, &location);
    let entry = match entry {
        Some(entry) => entry,
        None => CacheEntry::read(&pc.entry_path())?,
    };
    let entry = serve(
        &pc,
        entry,
        &scalars(nixpkgs_override.as_deref()),
        false,
        false,
    )?;
    Some(run::exec_in(&entry.env, command))
}

/// Why an entry cannot serve as it is.
enum Unusable {
    Stale(String),
    Gone(String),
    /// A garbage collection dropped this GC root: the paths are here, but
    /// the next collection would take them.
    Unrooted(std::path::PathBuf),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Stale(why) => f.write_str(why),
            Unusable::Gone(path) => write!(f, "{path} was garbage collected"),
            Unusable::Unrooted(link) => write!(
                f,
                "the GC root {} is no longer registered with Nix",
                link.display()
            ),
        }
    }
}

/// Whether `entry` can serve as it is: the new file stats worth recording
/// (unchanged contents, moved stats), or why not.
fn check_entry(
    entry: &CacheEntry,
    scalars: &BTreeMap<String, String>,
    frozen: bool,
) -> std::result::Result<Vec<FileStamp>, Unusable> {
    // A built environment needs no Nix to start: without `nix` on PATH
    // (cron, systemd units) the Nix that built it is taken as unchanged.
    let with_builder;
    let scalars = match entry.fingerprint.scalars.get(fingerprint::NIX) {
        Some(builder)
            if scalars.get(fingerprint::NIX).map(String::as_str)
                == Some(fingerprint::NIX_MISSING) =>
        {
            with_builder = {
                let mut s = scalars.clone();
                s.insert(fingerprint::NIX.to_owned(), builder.clone());
                s
            };
            &with_builder
        }
        _ => scalars,
    };
    let stamps = match entry.fingerprint.check(scalars) {
        Freshness::Fresh => Vec::new(),
        Freshness::FreshWithNewStats(stamps) => stamps,
        Freshness::Stale(why) => return Err(Unusable::Stale(why)),
    };
    if entry.from_stale_lock && !frozen {
        return Err(Unusable::Stale(
            "installed --frozen from a lock the requirements moved past".into(),
        ));
    }
    if let Some(missing) = entry.missing_path() {
        return Err(Unusable::Gone(missing));
    }
    match entry.lost_root() {
        Some(root) => Err(Unusable::Unrooted(root.link.clone())),
        None => Ok(stamps),
    }
}

/// The cached entry if it is fresh (a lost GC root aside: see
/// [`CacheEntry::lost_root`]), else why not (for `nixpy show`).
pub(crate) fn staleness(
    pc: &ProjectCache,
    nixpkgs_override: Option<&str>,
) -> std::result::Result<CacheEntry, String> {
    let entry = pc.read_entry().ok_or("no cached environment")?;
    match check_entry(&entry, &scalars(nixpkgs_override), false) {
        // Usable as it is; `show` reports the lost root on its own line.
        Ok(_) | Err(Unusable::Unrooted(_)) => Ok(entry),
        Err(why) => Err(why.to_string()),
    }
}

/// The warm path: the cached entry, if every input is unchanged and every
/// store path it needs is still there. No Nix, no Python, no bash.
/// `announce` says why a present entry is not used (once per run). The cold
/// path asks too, before and after it takes the project's lock.
pub(crate) fn warm(
    pc: &ProjectCache,
    scalars: &BTreeMap<String, String>,
    frozen: bool,
    announce: bool,
) -> Option<CacheEntry> {
    let entry = CacheEntry::read(&pc.entry_path())?;
    serve(pc, entry, scalars, frozen, announce)
}

/// [`warm`], with the entry already read.
fn serve(
    pc: &ProjectCache,
    mut entry: CacheEntry,
    scalars: &BTreeMap<String, String>,
    frozen: bool,
    announce: bool,
) -> Option<CacheEntry> {
    let path = pc.entry_path();
    match check_entry(&entry, scalars, frozen) {
        Ok(stamps) if stamps.is_empty() => {}
        Ok(stamps) => {
            // Record the new stats so the next run skips the hash; skipped
            // when a rebuild holds the lock (it writes a newer entry).
            if let Some(_lock) = FileLock::try_acquire(&pc.dir.lock()) {
                entry.fingerprint.restamp(stamps);
                let _ = entry.write(&path);
            }
        }
        Err(Unusable::Gone(missing)) => {
            if announce {
                ui::note(&format!(
                    "{missing} is gone (garbage collected?); rebuilding"
                ));
            }
            return None;
        }
        // The cold path registers it again, and says so.
        Err(Unusable::Unrooted(link)) => {
            tracing::debug!("GC root {} lost", link.display());
            return None;
        }
        Err(Unusable::Stale(why)) => {
            tracing::debug!("cached environment is stale: {why}");
            return None;
        }
    }
    mark_used(&path);
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::EnvSpec;
    use crate::support::fingerprint::Fingerprint;
    use std::path::Path;

    fn scalars(nix: &str) -> BTreeMap<String, String> {
        [("nix".to_owned(), nix.to_owned())].into()
    }

    /// An entry built from `dir/input`, needing the "store path" `dir/store`.
    fn entry(dir: &Path) -> CacheEntry {
        std::fs::write(dir.join("input"), "packages = []\n").unwrap();
        std::fs::write(dir.join("store"), "").unwrap();
        let mut fingerprint = Fingerprint {
            scalars: scalars("2.18"),
            files: Vec::new(),
            ..Fingerprint::default()
        };
        fingerprint.add_file(&dir.join("input"));
        CacheEntry {
            format: super::super::ENTRY_FORMAT,
            nixpy_version: env!("CARGO_PKG_VERSION").to_owned(),
            project_root: dir.to_path_buf(),
            manifest: dir.join("input"),
            fingerprint,
            shell_key: "k".into(),
            portable_key: "p".into(),
            shell_file: dir.join("store").display().to_string(),
            resolution_key: None,
            from_stale_lock: false,
            layer: None,
            venv: None,
            store_paths: vec![dir.join("store").display().to_string()],
            roots: Vec::new(),
            env: EnvSpec::default(),
        }
    }

    fn why(result: std::result::Result<Vec<FileStamp>, Unusable>) -> String {
        match result {
            Ok(stamps) => panic!("usable ({} new stamps)", stamps.len()),
            Err(why) => why.to_string(),
        }
    }

    #[test]
    fn a_fresh_entry_serves_as_it_is() {
        let tmp = tempfile::tempdir().unwrap();
        let entry = entry(tmp.path());
        assert!(check_entry(&entry, &scalars("2.18"), false)
            .ok()
            .is_some_and(|stamps| stamps.is_empty()));
    }

    #[test]
    fn same_contents_with_new_stats_serve_with_new_stamps() {
        let tmp = tempfile::tempdir().unwrap();
        let entry = entry(tmp.path());
        let input = tmp.path().join("input");
        std::fs::remove_file(&input).unwrap();
        std::fs::write(&input, "packages = []\n").unwrap();
        let stamps = check_entry(&entry, &scalars("2.18"), false).ok().unwrap();
        assert_eq!(stamps.len(), 1);
    }

    #[test]
    fn a_changed_scalar_makes_it_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let entry = entry(tmp.path());
        assert_eq!(
            why(check_entry(&entry, &scalars("2.24"), false)),
            "nix changed"
        );
    }

    /// Issue 13, item 18: without `nix` on PATH a built environment still
    /// serves (a changed Nix does not).
    #[test]
    fn a_missing_nix_does_not_make_it_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let entry = entry(tmp.path());
        assert!(check_entry(&entry, &scalars(fingerprint::NIX_MISSING), false).is_ok());
    }

    #[test]
    fn a_changed_file_makes_it_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let entry = entry(tmp.path());
        std::fs::write(tmp.path().join("input"), "packages = [\"jq\"]\n").unwrap();
        assert!(why(check_entry(&entry, &scalars("2.18"), false)).ends_with("input changed"));
    }

    #[test]
    fn a_collected_store_path_makes_it_unusable() {
        let tmp = tempfile::tempdir().unwrap();
        let entry = entry(tmp.path());
        std::fs::remove_file(tmp.path().join("store")).unwrap();
        let result = check_entry(&entry, &scalars("2.18"), false);
        assert!(matches!(result, Err(Unusable::Gone(_))));
        assert!(why(result).ends_with("store was garbage collected"));
    }

    #[test]
    fn an_entry_from_a_stale_lock_serves_frozen_runs_only() {
        let tmp = tempfile::tempdir().unwrap();
        let mut entry = entry(tmp.path());
        entry.from_stale_lock = true;
        assert!(why(check_entry(&entry, &scalars("2.18"), false)).contains("--frozen"));
        assert!(check_entry(&entry, &scalars("2.18"), true).is_ok());
    }
}
