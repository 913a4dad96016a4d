//! Finding the project: walk up from a folder to the first `nixpy.toml`, or
//! `pyproject.toml` with a `[tool.nixpy]` table, as cargo and uv do.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::project::manifest::{self, ManifestKind};

pub const MANIFEST_FILE: &str = "nixpy.toml";
pub const PYPROJECT_FILE: &str = "pyproject.toml";
pub const LOCK_FILE: &str = "nixpy.lock";
/// The default pip requirements file (see `PipSource`).
pub const REQUIREMENTS_FILE: &str = "requirements.txt";

#[derive(Debug, Clone)]
pub struct ProjectLocation {
    /// Canonical project folder.
    pub root: PathBuf,
    pub manifest: PathBuf,
    pub kind: ManifestKind,
    /// Both files configure nixpy; nixpy.toml won.
    pub shadowed_pyproject: bool,
}

impl ProjectLocation {
    pub fn lock_path(&self) -> PathBuf {
        self.root.join(LOCK_FILE)
    }
}

/// Walks up from `start` (made absolute and canonical first).
pub fn discover(start: &Path) -> Result<ProjectLocation> {
    let start = start
        .canonicalize()
        .map_err(|e| Error::io("open the project folder", start, e))?;
    for dir in start.ancestors() {
        if let Some(found) = project_in(dir) {
            return Ok(found);
        }
    }
    Err(Error::new(format!(
        "no {MANIFEST_FILE} found in {} or any parent folder",
        start.display()
    ))
    .with_hint("run `nixpy init` to create one, or pass `--project DIR`"))
}

fn project_in(dir: &Path) -> Option<ProjectLocation> {
    let manifest = dir.join(MANIFEST_FILE);
    let pyproject = dir.join(PYPROJECT_FILE);
    let pyproject_configures = || {
        std::fs::read_to_string(&pyproject)
            .map(|text| manifest::pyproject_has_nixpy_table(&text))
            .unwrap_or(false)
    };
    // A folder named nixpy.toml still counts, so the user gets a clear error
    // about it instead of nixpy silently skipping to a parent project.
    if manifest.symlink_metadata().is_ok() {
        return Some(ProjectLocation {
            root: dir.to_path_buf(),
            shadowed_pyproject: pyproject_configures(),
            manifest,
            kind: ManifestKind::NixpyToml,
        });
    }
    if pyproject.is_file() && pyproject_configures() {
        return Some(ProjectLocation {
            root: dir.to_path_buf(),
            manifest: pyproject,
            kind: ManifestKind::Pyproject,
            shadowed_pyproject: false,
        });
    }
    None
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
        assert!(found.shadowed_pyproject);
    }
}
