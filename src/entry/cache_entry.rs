//! The cache entry: everything the warm path needs, in one file
//! (`projects/<id>/entry.json`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::flake::{self, ShellEnv};
use crate::layout::ProjectDir;
use crate::nix::GcRoot;
use crate::pip::LayerRef;
use crate::run::EnvSpec;
use crate::support::fingerprint::Fingerprint;
use crate::support::{atomic_write, os_bytes};

/// 2: the entry names the project's manifest. 3: the shell is nixpy's
/// shell file, and the entry lists its GC roots. 4: a pip layer of
/// distributions, and the project interpreter.
pub(crate) const ENTRY_FORMAT: u32 = 4;

/// Everything the warm path needs, in one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CacheEntry {
    pub format: u32,
    pub nixpy_version: String,
    #[serde(with = "os_bytes::path")]
    pub project_root: PathBuf,
    /// The manifest the project uses (nixpy.toml, or a pyproject.toml with
    /// `[tool.nixpy]`): the warm path finds a pyproject.toml project without
    /// parsing its pyproject.toml (the fingerprint notices when it changes).
    #[serde(with = "os_bytes::path")]
    pub manifest: PathBuf,
    pub fingerprint: Fingerprint,
    /// Key of the generated flake and its pin: same key, same shell.
    pub shell_key: String,
    /// The same key without the Nix in use: what nixpy.lock records the
    /// shell under.
    pub portable_key: String,
    /// nixpy's shell file in the store (`nixpy-shell.json`): the shell's
    /// environment, referencing every store path it uses.
    pub shell_file: String,
    /// Key of what the pip resolution depended on.
    pub resolution_key: Option<String>,
    /// Built by `--frozen` from a lock the requirements have moved past:
    /// good for more frozen runs only.
    #[serde(default)]
    pub from_stale_lock: bool,
    pub layer: Option<LayerRef>,
    /// The project interpreter (a venv in the project's cache folder).
    #[serde(default)]
    pub venv: Option<PathBuf>,
    /// Store paths that must still exist for the entry to be used.
    pub store_paths: Vec<String>,
    /// The GC roots keeping them (and the nixpkgs source) alive, which
    /// must still be registered.
    pub roots: Vec<GcRoot>,
    pub env: EnvSpec,
}

/// The file's bytes, if this user owns it and no one else may write it: an
/// entry someone else wrote (a cache folder shared between users) could
/// make nixpy exec anything. The
/// same system calls as `std::fs::read` (open, statx, read, close).
fn read_own_file(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let mut file = std::fs::File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    if meta.uid() != crate::support::user::current_uid() || meta.mode() & 0o022 != 0 {
        tracing::debug!("ignoring {}: a file other users may write", path.display());
        return None;
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

impl CacheEntry {
    /// The shell's variables and facts. Not kept in the entry (the warm path
    /// never needs them): they are read back from the shell's environment
    /// file in the store, which the entry's GC root keeps.
    pub(crate) fn shell_env(&self) -> ShellEnv {
        flake::read_shell_file(&self.shell_file).unwrap_or_default()
    }

    /// Reads an entry; anything unreadable (truncated, garbage, another
    /// format or nixpy version) is treated as absent and rebuilt.
    pub(crate) fn read(path: &Path) -> Option<CacheEntry> {
        let bytes = read_own_file(path)?;
        let entry: CacheEntry = match serde_json::from_slice(&bytes) {
            Ok(entry) => entry,
            Err(e) => {
                tracing::debug!("ignoring unreadable cache entry {}: {e}", path.display());
                return None;
            }
        };
        (entry.format == ENTRY_FORMAT && entry.nixpy_version == env!("CARGO_PKG_VERSION"))
            .then_some(entry)
    }

    pub(crate) fn write(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec(self).expect("entry serialises");
        atomic_write::write_file(path, &bytes)
    }

    /// A GC root a garbage collection dropped (one `readlink` each).
    pub(crate) fn lost_root(&self) -> Option<&GcRoot> {
        self.roots.iter().find(|root| root.is_missing())
    }

    /// The store paths the environment needs, each of which roots a
    /// closure: what a generation keeps alive so that going back to it
    /// needs no build (`nixpy history`). They are the targets of the
    /// entry's own GC roots (less the nixpkgs source, which only saves a
    /// download), so whatever roots an environment gets, its generations
    /// keep the same paths; a root that cannot be read falls back to the
    /// paths the entry names.
    pub(crate) fn store_paths_to_root(&self) -> Vec<String> {
        let mut paths: Vec<String> = Vec::new();
        let mut add = |path: String| {
            if !paths.contains(&path) {
                paths.push(path);
            }
        };
        for root in &self.roots {
            if ProjectDir::is_nixpkgs_source(&root.link) {
                continue;
            }
            if let Ok(target) = std::fs::read_link(&root.link) {
                add(target.display().to_string());
            }
        }
        for path in &self.store_paths {
            add(path.clone());
        }
        if let Some(layer) = &self.layer {
            for path in layer.store_paths() {
                add(path);
            }
        }
        paths
    }

    /// A store path, layer or interpreter folder that has gone (garbage
    /// collected, deleted).
    pub(crate) fn missing_path(&self) -> Option<String> {
        self.store_paths
            .iter()
            .find(|p| std::fs::symlink_metadata(p).is_err())
            .cloned()
            .or_else(|| {
                self.layer
                    .iter()
                    .map(|l| &l.dir)
                    .chain(self.venv.iter())
                    .find(|dir| !dir.is_dir())
                    .map(|dir| dir.display().to_string())
            })
    }

    /// Every store path the environment is made of: nixpy's shell file
    /// (which references the shell's whole closure), the pip layer's
    /// composition and each of its distributions (which no Nix reference
    /// holds). What `push` copies.
    pub(crate) fn needed_store_paths(&self) -> Vec<String> {
        let mut paths = vec![self.shell_file.clone()];
        if let Some(layer) = &self.layer {
            paths.extend(layer.store_paths());
        }
        paths
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Cache;

    #[test]
    fn generations_root_what_the_entrys_roots_keep() {
        let tmp = tempfile::tempdir().unwrap();
        let store = tmp.path().join("store");
        for name in ["shell", "layer", "source"] {
            std::fs::create_dir_all(store.join(name)).unwrap();
        }
        let cache = Cache {
            root: tmp.path().join("v1"),
        };
        let project = cache.project(Path::new("/p"));
        std::fs::create_dir_all(&project.path).unwrap();
        std::fs::create_dir_all(cache.layers_dir()).unwrap();
        let links = [
            (project.shell_file(), "shell"),
            (cache.layer_link("k"), "layer"),
            (project.nixpkgs_source(), "source"),
        ];
        for (link, target) in &links {
            std::os::unix::fs::symlink(store.join(target), link).unwrap();
        }
        let entry = CacheEntry {
            format: ENTRY_FORMAT,
            nixpy_version: String::new(),
            project_root: PathBuf::from("/p"),
            manifest: PathBuf::from("/p/nixpy.toml"),
            fingerprint: Fingerprint::default(),
            shell_key: String::new(),
            portable_key: String::new(),
            shell_file: store.join("shell").display().to_string(),
            resolution_key: None,
            from_stale_lock: false,
            layer: Some(LayerRef {
                key: "k".into(),
                dir: store.join("layer"),
                dists: Vec::new(),
            }),
            venv: None,
            store_paths: vec![store.join("shell").display().to_string()],
            roots: links.iter().map(|(link, _)| GcRoot::new(link)).collect(),
            env: EnvSpec::default(),
        };
        let shown = |name: &str| store.join(name).display().to_string();
        assert_eq!(
            entry.store_paths_to_root(),
            [shown("shell"), shown("layer")]
        );
    }
}
