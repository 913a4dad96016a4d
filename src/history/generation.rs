//! One generation on disk, the list of them, which one is in use, and
//! the cache entries a project keeps.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::entry::CacheEntry;
use crate::error::{Error, Result};
use crate::layout::{GenerationDir, ProjectDir};
use crate::support::atomic_write;

/// What a generation records (`generation.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Generation {
    pub number: u32,
    /// When it was made (Unix time).
    pub created: i64,
    /// The nixpy command that made it (`nixpy add`, `nixpy run`).
    pub command: String,
    /// What changed from the generation before it, in one line.
    pub change: String,
    /// The files nixpy manages, as they were: a hash, or absent.
    pub files: Vec<SavedFile>,
    /// The store paths its environment needs (each rooted).
    pub store_paths: Vec<String>,
}

/// A managed file of a generation, relative to the project folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SavedFile {
    pub path: PathBuf,
    /// `None`: the file did not exist.
    pub hash: Option<String>,
}

impl Generation {
    /// The kept text of one of its files (`None` when it was absent).
    pub(crate) fn saved_contents(&self, dir: &ProjectDir, relative: &Path) -> Option<Vec<u8>> {
        let saved = self.files.iter().find(|f| f.path == relative)?;
        saved.hash.as_ref()?;
        std::fs::read(dir.generation(self.number).file(relative)).ok()
    }
}

/// Every readable generation, oldest first.
pub(crate) fn list(dir: &ProjectDir) -> Vec<Generation> {
    let Ok(entries) = std::fs::read_dir(dir.generations_dir()) else {
        return Vec::new();
    };
    let mut generations: Vec<Generation> = entries
        .flatten()
        .filter_map(|e| ProjectDir::generation_number(&e.file_name().to_string_lossy()))
        .filter_map(|n| read(&dir.generation(n)).filter(|g| g.number == n))
        .collect();
    generations.sort_by_key(|g| g.number);
    generations
}

/// The cache entries the project keeps, those this nixpy can read: the
/// one in use, those of its `--group` environments and those of its kept
/// generations. What they use stays (`nixpy gc`, a build pruning the
/// project's interpreters): a rollback or a `--group` run needs no build.
pub(crate) fn kept_entries(dir: &ProjectDir) -> Vec<CacheEntry> {
    let groups = std::fs::read_dir(&dir.path)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|f| ProjectDir::is_group_entry(&f.file_name().to_string_lossy()))
        .filter_map(|f| CacheEntry::read(&f.path()));
    let generations = list(dir)
        .into_iter()
        .filter_map(|g| CacheEntry::read(&dir.generation(g.number).entry()));
    CacheEntry::read(&dir.entry())
        .into_iter()
        .chain(groups)
        .chain(generations)
        .collect()
}

pub(super) fn read(dir: &GenerationDir) -> Option<Generation> {
    serde_json::from_slice(&std::fs::read(dir.record()).ok()?).ok()
}

pub(super) fn write(dir: &GenerationDir, generation: &Generation) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(generation).expect("a generation serialises");
    atomic_write::write_file(&dir.record(), &bytes)
}

/// The generation in use: the one last recorded or rolled back to.
pub(crate) fn current(dir: &ProjectDir) -> Option<u32> {
    let recorded = std::fs::read_to_string(dir.current_generation())
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .filter(|n| dir.generation(*n).record().is_file());
    recorded.or_else(|| list(dir).last().map(|g| g.number))
}

pub(super) fn set_current(dir: &ProjectDir, number: u32) -> Result<()> {
    atomic_write::write_file(&dir.current_generation(), format!("{number}\n").as_bytes())
}

/// Removes the oldest generations beyond `keep` (never the current one):
/// with their folder go their GC roots.
pub(super) fn prune(dir: &ProjectDir, keep: u32) -> Result<()> {
    let current = current(dir);
    let generations = list(dir);
    let keep = usize::try_from(keep).unwrap_or(usize::MAX);
    let excess = generations.len().saturating_sub(keep);
    for generation in generations.iter().take(excess) {
        if Some(generation.number) == current {
            continue;
        }
        let path = dir.generation(generation.number).path;
        std::fs::remove_dir_all(&path)
            .map_err(|e| Error::io("remove the old generation", &path, e))?;
    }
    Ok(())
}
