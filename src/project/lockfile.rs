//! `nixpy.lock`: the nixpkgs pin and the pip resolution, which users commit.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::support::{atomic_write, input_file};

/// The newest lock format this nixpy reads and writes. A lock is written in
/// the oldest format that holds what it records, so a lock without a
/// recorded shell stays readable by older nixpy versions:
/// 1. the nixpkgs pin, the pip resolution, `[store]` with `shell-env`
///    (Nix's own environment file: its path differs between Nix versions);
/// 2. `[store]` records nixpy's shell file (`shell`) instead, the same
///    path on every Nix version, and the Nix that made it (`nix-version`);
/// 3. `[store]` records the pip layer's distributions (`dists`).
pub(crate) const LOCK_VERSION: u32 = 3;

const HEADER: &str =
    "# This file is written by nixpy: commit it, and change it with `nixpy lock`.\n";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LockFile {
    pub version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nixpkgs: Option<NixpkgsPin>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pip: Option<PipLock>,
    /// Store paths of both layers (`nixpy lock --record-paths`), so another
    /// machine can fetch them from a binary cache instead of building.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<StorePaths>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct StorePaths {
    /// Key of the generated flake files (machine-independent).
    pub shell_key: String,
    /// nixpy's shell file (`nixpy-shell.json`), whose closure is the shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// The version of the Nix that built the recorded shell. Informational:
    /// the shell file does not depend on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nix_version: Option<String>,
    /// Lock format 1's record (Nix's environment file), read only to say
    /// it must be recorded again; never written.
    #[serde(default, skip_serializing)]
    pub shell_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// The layer's distributions (its composition's links are no Nix
    /// references, so they are fetched and pushed by name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dists: Vec<String>,
}

/// The generated flake's `nixpkgs` lock node, and the reference it locks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NixpkgsPin {
    pub url: String,
    pub locked: toml::Table,
    pub original: toml::Table,
    /// The project's nixpkgs settings (`[nixpkgs-config]`) in nixpkgs'
    /// config names, as the environment was built with them.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub config: toml::Table,
}

impl StorePaths {
    /// Records a shell file (lock format 2) for the shell with this key.
    pub(crate) fn records_shell_of(&self, portable_key: &str) -> bool {
        self.shell_key == portable_key && self.shell.is_some()
    }
}

impl LockFile {
    /// The oldest lock format that holds what this lock records.
    pub(crate) fn needed_version(&self) -> u32 {
        match &self.store {
            // 3: the pip layer's distributions.
            Some(s) if !s.dists.is_empty() => 3,
            Some(s) if s.shell.is_some() => 2,
            _ => 1,
        }
    }
}

impl NixpkgsPin {
    pub(crate) fn from_flake_lock_node(url: &str, node: &serde_json::Value) -> Result<NixpkgsPin> {
        let table = |key: &str| -> Result<toml::Table> {
            let value = node.get(key).ok_or_else(|| {
                Error::new(format!("Nix's flake.lock has no `{key}` for nixpkgs"))
            })?;
            toml::Table::try_from(value)
                .map_err(|e| Error::new(format!("cannot record Nix's lock of nixpkgs: {e}")))
        };
        Ok(NixpkgsPin {
            url: url.to_owned(),
            locked: table("locked")?,
            original: table("original")?,
            config: toml::Table::new(),
        })
    }

    /// The node as flake.lock wants it.
    pub(crate) fn flake_lock_node(&self) -> serde_json::Value {
        serde_json::json!({
            "locked": serde_json::to_value(&self.locked).expect("table converts"),
            "original": serde_json::to_value(&self.original).expect("table converts"),
        })
    }

    /// The hash of the pinned source, which any mirror of it shares.
    pub(crate) fn nar_hash(&self) -> Option<&str> {
        self.locked.get("narHash").and_then(|v| v.as_str())
    }

    /// The pinned revision, when the source has one (git, GitHub).
    pub(crate) fn revision(&self) -> Option<&str> {
        self.locked.get("rev").and_then(|v| v.as_str())
    }

    /// A short human description: the revision or the narHash.
    pub(crate) fn describe(&self) -> String {
        let field = |k: &str| {
            self.locked
                .get(k)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        match (field("rev"), field("narHash")) {
            (Some(rev), _) => format!("{} @ {}", self.url, &rev[..rev.len().min(12)]),
            (None, Some(hash)) => format!("{} ({hash})", self.url),
            _ => self.url.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PipLock {
    /// Hash of everything the resolution depended on (requirements, index
    /// options, the Nix-provided distributions, the interpreter).
    pub inputs: String,
    pub installer: String,
    #[serde(default, rename = "package")]
    pub packages: Vec<LockedPackage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LockedPackage {
    pub name: String,
    pub version: String,
    /// The line handed to the installer (`name==version`, a URL or a path).
    pub requirement: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<String>,
    /// The dependency groups that need it, when the requirements alone do
    /// not (empty: the requirements need it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

impl PipLock {
    /// The pins an environment with the dependency groups `groups` installs:
    /// those the requirements need, and those of the selected groups.
    pub(crate) fn selection(&self, groups: &[String]) -> PipLock {
        PipLock {
            packages: self
                .packages
                .iter()
                .filter(|p| p.groups.is_empty() || p.groups.iter().any(|g| groups.contains(g)))
                .cloned()
                .collect(),
            ..self.clone()
        }
    }
}

/// How far nixpy may go in changing the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockMode {
    /// Re-resolve when the inputs changed (or an upgrade asks) and rewrite
    /// the lock.
    Update,
    /// `--locked` or `CI`: fail when the lock is stale.
    Locked,
    /// `--frozen`: install exactly the lock, without resolving.
    Frozen,
    /// `nixpy lock --check`: work out the lock as `Update` would, write
    /// nothing, and fail if it differs from the file in any way.
    Check,
}

/// What `nixpy lock --upgrade*` moves: nixpkgs to the newest revision of
/// its reference, and the pip pins (all, or the named ones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Upgrade {
    pub nixpkgs: bool,
    pub pip: PipUpgrade,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum PipUpgrade {
    /// Resolve only when the inputs changed, keeping every pin that still
    /// fits.
    #[default]
    Keep,
    /// Resolve again from scratch: every pin may move.
    All,
    /// Resolve again keeping the other pins: only these (normalised names) move.
    Only(Vec<String>),
}

impl Upgrade {
    pub(crate) fn any(&self) -> bool {
        self.nixpkgs || self.pip != PipUpgrade::Keep
    }
}

impl PipUpgrade {
    /// The pins of `lock` a new resolution should keep where it can.
    pub(crate) fn preferences(&self, lock: Option<&PipLock>) -> Vec<LockedPackage> {
        let Some(lock) = lock else {
            return Vec::new();
        };
        match self {
            PipUpgrade::Keep => lock.packages.clone(),
            PipUpgrade::All => Vec::new(),
            PipUpgrade::Only(names) => lock
                .packages
                .iter()
                .filter(|p| !names.contains(&p.name))
                .cloned()
                .collect(),
        }
    }
}

/// The placeholder for the project folder in nixpy.lock and the keys it
/// records (uv and pip both
/// expand `${VAR}` in requirement files; nixpy expands it itself).
const ROOT_PLACEHOLDER: &str = "${PROJECT_ROOT}";

/// `text` with the project folder replaced by the placeholder.
pub(crate) fn portable(text: &str, root: &Path) -> String {
    text.replace(&root.display().to_string(), ROOT_PLACEHOLDER)
}

pub(crate) fn localized(text: &str, root: &Path) -> String {
    text.replace(ROOT_PLACEHOLDER, &root.display().to_string())
}

pub(crate) fn read(path: &Path) -> Result<Option<LockFile>> {
    let Some(bytes) = input_file::read_if_present(path)? else {
        return Ok(None);
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        let (line, col) = crate::support::source_pos::line_col(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        );
        Error::new(format!(
            "{}:{line}:{col}: the lock is not valid UTF-8",
            path.display()
        ))
        .with_hint("the lock is written by nixpy; restore it from version control, or delete it and run `nixpy lock`")
    })?;
    let lock: LockFile = toml::from_str(&text).map_err(|e| {
        Error::new(crate::support::source_pos::render(path, &text, e.span().unwrap_or(0..0), e.message().trim_end()))
            .with_hint("the lock is written by nixpy; restore it from version control or delete it and run `nixpy lock`")
    })?;
    if lock.version == 0 || lock.version > LOCK_VERSION {
        return Err(Error::new(format!(
            "{} has lock format version {}, this nixpy reads version {LOCK_VERSION}",
            path.display(),
            lock.version
        ))
        .with_hint(
            "use the nixpy version that wrote it, or delete the lock and run `nixpy lock`",
        ));
    }
    Ok(Some(lock))
}

pub(super) fn render(lock: &LockFile) -> String {
    let body = toml::to_string_pretty(lock).expect("lock serialises");
    format!("{HEADER}{body}")
}

/// The file at `path` holds exactly `lock` as nixpy writes it.
pub(crate) fn is_written_as(path: &Path, lock: &LockFile) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| text == render(lock))
}

/// Writes the lock atomically, and only when its text changes.
pub(crate) fn write(path: &Path, lock: &LockFile) -> Result<bool> {
    let text = render(lock);
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    atomic_write::write_project_file(path, text.as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_toml() {
        let node = serde_json::json!({
            "locked": {"type": "github", "owner": "NixOS", "repo": "nixpkgs", "rev": "0123456789abcdef", "narHash": "sha256-x", "lastModified": 1700000000},
            "original": {"type": "github", "owner": "NixOS", "repo": "nixpkgs", "ref": "nixpkgs-unstable"}
        });
        let lock = LockFile {
            version: LOCK_VERSION,
            nixpkgs: Some(
                NixpkgsPin::from_flake_lock_node("github:NixOS/nixpkgs/nixpkgs-unstable", &node)
                    .unwrap(),
            ),
            pip: Some(PipLock {
                inputs: "abc".into(),
                installer: "uv".into(),
                packages: vec![LockedPackage {
                    name: "rich".into(),
                    version: "13.7.0".into(),
                    requirement: "rich==13.7.0".into(),
                    hashes: vec!["sha256:00".into()],
                    groups: Vec::new(),
                }],
            }),
            store: Some(StorePaths {
                shell_key: "k".into(),
                shell: Some("/nix/store/x-nixpy-shell.json".into()),
                nix_version: Some("2.8.0".into()),
                layer_key: Some("l".into()),
                layer: Some("/nix/store/l-nixpy-layer".into()),
                dists: vec!["/nix/store/d-nixpy-dist-rich-13.7.0".into()],
                ..StorePaths::default()
            }),
        };
        let text = render(&lock);
        assert!(text.starts_with(HEADER));
        let back: LockFile = toml::from_str(&text).unwrap();
        assert_eq!(back, lock);
        assert_eq!(back.nixpkgs.unwrap().flake_lock_node(), node);
    }

    #[test]
    fn lock_paths_are_portable_between_checkouts() {
        let root = Path::new("/home/a/proj");
        let line = "localpkg @ file:///home/a/proj/vendor/localpkg";
        let p = portable(line, root);
        assert_eq!(p, "localpkg @ file://${PROJECT_ROOT}/vendor/localpkg");
        assert_eq!(
            localized(&p, Path::new("/srv/ci/proj")),
            "localpkg @ file:///srv/ci/proj/vendor/localpkg"
        );
    }

    /// Issue 13, item 22: a lock that is not UTF-8 is one error with its
    /// position and the fix (it used to be a bare I/O error).
    #[test]
    fn a_lock_that_is_not_utf8_says_where_and_what_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("nixpy.lock");
        std::fs::write(&p, b"version = 1\n# caf\xe9\n").unwrap();
        let err = read(&p).unwrap_err();
        assert!(
            err.message
                .ends_with("nixpy.lock:2:6: the lock is not valid UTF-8"),
            "{}",
            err.message
        );
        assert!(err.hint.unwrap().contains("version control"));
    }

    #[test]
    fn a_format_1_record_is_read_and_never_written() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("nixpy.lock");
        std::fs::write(
            &p,
            "version = 1\n[store]\nshell-key = \"k\"\nshell-env = \"/nix/store/x-nixpy-shell-env\"\n",
        )
        .unwrap();
        let lock = read(&p).unwrap().unwrap();
        let store = lock.store.clone().unwrap();
        assert_eq!(
            store.shell_env.as_deref(),
            Some("/nix/store/x-nixpy-shell-env")
        );
        assert_eq!(store.shell, None);
        assert_eq!(lock.needed_version(), 1);
        assert!(!render(&lock).contains("shell-env"));
    }

    #[test]
    fn future_versions_are_refused_with_a_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("nixpy.lock");
        std::fs::write(&p, "version = 9\n").unwrap();
        let err = read(&p).unwrap_err();
        assert!(err.message.contains("version 9"), "{}", err.message);
    }
}
