//! `nixpy rollback`: the files nixpy manages and the cache entry of an
//! earlier generation, restored at once; refused, with a diff, when the
//! user changed those files since the current generation.

use std::path::PathBuf;

use super::generation::{self, Generation};
use crate::entry::ProjectCache;
use crate::error::{Error, Result};
use crate::project::ProjectLocation;
use crate::support::atomic_write;
use crate::support::hash::hash_bytes;

/// What a rollback did.
pub(crate) struct Rollback {
    pub generation: Generation,
    /// Files written back, and files removed (they did not exist then).
    pub restored: Vec<PathBuf>,
    pub removed: Vec<PathBuf>,
    /// The generation's environment is the cache entry again: the next run
    /// needs no build.
    pub entry_restored: bool,
}

/// Restores generation `target` (default: the one before the current).
pub(crate) fn rollback(
    pc: &ProjectCache,
    location: &ProjectLocation,
    target: Option<u32>,
    force: bool,
) -> Result<Rollback> {
    let dir = &pc.dir;
    let _lock = pc.lock(&location.root)?;
    let generations = generation::list(dir);
    let Some(current) = generation::current(dir) else {
        return Err(Error::new(format!(
            "{} has no generations yet",
            location.root.display()
        ))
        .with_hint(
            "nixpy records one each time it builds the environment: run `nixpy run -- true` first",
        ));
    };
    let numbers: Vec<String> = generations.iter().map(|g| g.number.to_string()).collect();
    let target = match target {
        Some(n) => generations
            .iter()
            .find(|g| g.number == n)
            .cloned()
            .ok_or_else(|| {
                Error::new(format!("there is no generation {n} of this project")).with_hint(
                    format!(
                        "kept generations: {} (`nixpy history` lists them)",
                        numbers.join(", ")
                    ),
                )
            })?,
        None => generations
            .iter()
            .rev()
            .find(|g| g.number < current)
            .cloned()
            .ok_or_else(|| {
                Error::new(format!(
                    "generation {current} is the oldest one kept; there is none before it"
                ))
                .with_hint("`nixpy history` lists the generations")
            })?,
    };
    if let Some(present) = generation::read(&dir.generation(current)) {
        let changed = changed_since(location, &present);
        if !changed.is_empty() && !force {
            return Err(Error::new(format!(
                "the files nixpy manages changed since generation {current}, the current one:\n{}",
                diff_of(pc, location, &present, &changed).trim_end()
            ))
            .with_hint(format!(
                "`nixpy rollback {} --force` restores generation {} anyway, discarding these changes; `nixpy run -- true` records them as a generation first",
                target.number, target.number
            )));
        }
    }
    let mut changes = Vec::new();
    let (mut restored, mut removed) = (Vec::new(), Vec::new());
    for file in &target.files {
        let path = location.root.join(&file.path);
        match &file.hash {
            Some(_) => {
                let bytes = target.saved_contents(dir, &file.path).ok_or_else(|| {
                    Error::new(format!(
                        "generation {} lacks its copy of {}",
                        target.number,
                        file.path.display()
                    ))
                    .with_hint(
                        "the generation is damaged; roll back to another one (`nixpy history`)",
                    )
                })?;
                if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
                    restored.push(file.path.clone());
                    changes.push((path, Some(bytes)));
                }
            }
            None if path.exists() => {
                removed.push(file.path.clone());
                changes.push((path, None));
            }
            None => {}
        }
    }
    atomic_write::replace_project_files(&changes)?;
    let entry_restored = restore_entry(pc, target.number)?;
    generation::set_current(dir, target.number)?;
    Ok(Rollback {
        generation: target,
        restored,
        removed,
        entry_restored,
    })
}

/// The generation's cache entry back in place, when this nixpy can use it
/// and its store paths are still there (its GC roots keep them).
fn restore_entry(pc: &ProjectCache, number: u32) -> Result<bool> {
    let Some(entry) = crate::entry::CacheEntry::read(&pc.dir.generation(number).entry()) else {
        return Ok(false);
    };
    if entry.missing_path().is_some() {
        return Ok(false);
    }
    entry.write(&pc.dir.entry())?;
    Ok(true)
}

/// The managed files whose contents differ from what `generation` kept.
fn changed_since(location: &ProjectLocation, generation: &Generation) -> Vec<PathBuf> {
    generation
        .files
        .iter()
        .filter(|f| {
            let now = std::fs::read(location.root.join(&f.path)).ok();
            now.as_deref().map(hash_bytes) != f.hash
        })
        .map(|f| f.path.clone())
        .collect()
}

/// A unified diff of each changed file, from the generation's copy to now.
fn diff_of(
    pc: &ProjectCache,
    location: &ProjectLocation,
    generation: &Generation,
    changed: &[PathBuf],
) -> String {
    let mut out = String::new();
    for path in changed {
        let kept = generation.saved_contents(&pc.dir, path);
        let now = std::fs::read(location.root.join(path)).ok();
        let text = |bytes: &Option<Vec<u8>>| {
            bytes
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        };
        let (old, new) = (text(&kept), text(&now));
        let label = path.display().to_string();
        let old_label = if kept.is_some() {
            format!("generation {}: {label}", generation.number)
        } else {
            "/dev/null".to_owned()
        };
        let new_label = if now.is_some() {
            format!("now: {label}")
        } else {
            "/dev/null".to_owned()
        };
        let diff = similar::TextDiff::from_lines(&old, &new);
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(2)
                .header(&old_label, &new_label)
                .to_string(),
        );
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}
