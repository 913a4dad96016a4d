//! Finding the project: walk up from a folder to the first `nixpy.toml`, or
//! `pyproject.toml` with a `[tool.nixpy]` table, as cargo and uv do.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::project::manifest::{self, ManifestKind};
use crate::support::input_file;

pub(crate) const MANIFEST_FILE: &str = "nixpy.toml";
pub(crate) const PYPROJECT_FILE: &str = "pyproject.toml";
pub(super) const LOCK_FILE: &str = "nixpy.lock";
/// The default pip requirements file (see `PipSource`).
pub(crate) const REQUIREMENTS_FILE: &str = "requirements.txt";

#[derive(Debug, Clone)]
pub(crate) struct ProjectLocation {
    /// Canonical project folder.
    pub root: PathBuf,
    pub manifest: PathBuf,
    pub kind: ManifestKind,
}

impl ProjectLocation {
    pub(crate) fn lock_path(&self) -> PathBuf {
        self.root.join(LOCK_FILE)
    }

    /// Both files configure nixpy, and nixpy.toml won (read only when
    /// asked: the warm path never needs to know).
    pub(super) fn shadows_pyproject(&self) -> bool {
        self.kind == ManifestKind::NixpyToml && configures_nixpy(&self.root.join(PYPROJECT_FILE))
    }
}

/// Walks up from `start` (made absolute and canonical first).
pub(crate) fn discover(start: &Path) -> Result<ProjectLocation> {
    discover_with(start, |_| false)
}

/// [`discover`], with `known(dir)` saying without reading it that the
/// pyproject.toml in `dir` configures nixpy (the warm path knows it from
/// the cache entry, whose fingerprint notices when the file changes);
/// `false` means "read it".
pub(crate) fn discover_with(
    start: &Path,
    mut known: impl FnMut(&Path) -> bool,
) -> Result<ProjectLocation> {
    let start = start
        .canonicalize()
        .map_err(|e| Error::io("open the project folder", start, e))?;
    for dir in start.ancestors() {
        if let Some(found) = project_in(dir, &mut known) {
            return Ok(found);
        }
    }
    Err(Error::new(format!(
        "no {MANIFEST_FILE} found in {} or any parent folder",
        start.display()
    ))
    .with_hint("run `nixpy init` to create one, or pass `--project DIR`"))
}

fn project_in(dir: &Path, known: &mut impl FnMut(&Path) -> bool) -> Option<ProjectLocation> {
    let manifest = dir.join(MANIFEST_FILE);
    // A folder named nixpy.toml still counts, so the user gets a clear error
    // about it instead of nixpy silently skipping to a parent project.
    if manifest.symlink_metadata().is_ok() {
        return Some(ProjectLocation {
            root: dir.to_path_buf(),
            manifest,
            kind: ManifestKind::NixpyToml,
        });
    }
    let pyproject = dir.join(PYPROJECT_FILE);
    if pyproject.is_file() && (known(dir) || configures_nixpy(&pyproject)) {
        return Some(ProjectLocation {
            root: dir.to_path_buf(),
            manifest: pyproject,
            kind: ManifestKind::Pyproject,
        });
    }
    None
}

/// The pyproject.toml at `path` has a `[tool.nixpy]` table.
fn configures_nixpy(path: &Path) -> bool {
    input_file::read(path)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .is_some_and(|text| manifest::pyproject_has_nixpy_table(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_nearest_manifest_upwards() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::write(root.join("nixpy.toml"), "").unwrap();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        let found = discover(&root.join("a/b")).unwrap();
        assert_eq!(found.root, root);
        assert_eq!(found.kind, ManifestKind::NixpyToml);
    }

    #[test]
    fn pyproject_counts_only_with_a_nixpy_table() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("pyproject.toml"), "[tool.nixpy]\npackages = []\n").unwrap();
        std::fs::write(root.join("sub/pyproject.toml"), "[project]\nname = \"x\"\n").unwrap();
        let found = discover(&root.join("sub")).unwrap();
        assert_eq!(found.root, root);
        assert_eq!(found.kind, ManifestKind::Pyproject);
    }

    #[test]
    fn nixpy_toml_wins_over_pyproject_and_says_so() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("pyproject.toml"), "[tool.nixpy]\n").unwrap();
        std::fs::write(tmp.path().join("nixpy.toml"), "").unwrap();
        let found = discover(tmp.path()).unwrap();
        assert_eq!(found.kind, ManifestKind::NixpyToml);
        assert!(found.shadows_pyproject());
    }

    #[test]
    fn a_known_pyproject_is_not_read() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        // Not even TOML, and not naming [tool.nixpy]: only `known` can
        // make it the project.
        std::fs::write(root.join("pyproject.toml"), "[tool.black\n").unwrap();
        assert!(discover(&root).is_err());
        let mut asked = Vec::new();
        let found = discover_with(&root, |dir| {
            asked.push(dir.to_path_buf());
            dir == root
        })
        .unwrap();
        assert_eq!(found.kind, ManifestKind::Pyproject);
        assert_eq!(asked, [root]);
    }
}
