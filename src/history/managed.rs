//! The files nixpy manages in a project (it edits them with `add`,
//! `remove` and `lock`): the manifest, the requirement files, nixpy.lock,
//! and the files whose appearance changes the project.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::generation::SavedFile;
use crate::project::{ProjectLocation, MANIFEST_FILE, PYPROJECT_FILE, REQUIREMENTS_FILE};
use crate::support::hash::hash_bytes;

/// The managed files of the project at `location`, relative to its folder:
/// `requirement_files` are the files the requirements were read from
/// (those outside the project are the user's business).
pub(crate) fn managed_files(
    location: &ProjectLocation,
    requirement_files: &[PathBuf],
) -> Vec<PathBuf> {
    let root = &location.root;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut add = |path: &Path| {
        if let Ok(relative) = path.strip_prefix(root) {
            if !relative.as_os_str().is_empty() && !files.iter().any(|f| f == relative) {
                files.push(relative.to_path_buf());
            }
        }
    };
    add(&location.manifest);
    for always in [MANIFEST_FILE, PYPROJECT_FILE, REQUIREMENTS_FILE] {
        add(&root.join(always));
    }
    for file in requirement_files {
        add(file);
    }
    add(&location.lock_path());
    files
}

/// The managed files' contents now (`None`: absent), by relative path.
pub(crate) type Contents = BTreeMap<PathBuf, Option<Vec<u8>>>;

pub(crate) fn read_contents(root: &Path, files: &[PathBuf]) -> Contents {
    files
        .iter()
        .map(|f| (f.clone(), std::fs::read(root.join(f)).ok()))
        .collect()
}

pub(crate) fn saved(contents: &Contents) -> Vec<SavedFile> {
    contents
        .iter()
        .map(|(path, bytes)| SavedFile {
            path: path.clone(),
            hash: bytes.as_deref().map(hash_bytes),
        })
        .collect()
}
