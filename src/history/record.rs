//! Recording a generation after a build, when the files nixpy manages or
//! the store paths the environment needs differ from the current one.

use std::path::PathBuf;

use super::describe::{describe, Roles};
use super::generation::{self, Generation};
use super::managed::{self, Contents};
use crate::entry::CacheEntry;
use crate::error::{Error, Result};
use crate::layout::{self, GenerationDir, ProjectDir};
use crate::nix::Nix;
use crate::project::ProjectLocation;
use crate::support::{atomic_write, date};

/// What a build recording its environment knows.
pub(crate) struct Recording<'a> {
    pub location: &'a ProjectLocation,
    /// The files the pip requirements were read from.
    pub requirement_files: &'a [PathBuf],
    /// The entry just published.
    pub entry: &'a CacheEntry,
    /// `keep-generations`.
    pub keep: u32,
    /// The command that made it (`nixpy add`).
    pub command: &'a str,
}

/// Records a new generation unless the current one already is this state;
/// returns its number. Its GC roots are added once its folder is in place
/// (an indirect root points at its link's final path).
pub(crate) fn record(
    nix: &Nix,
    dir: &ProjectDir,
    recording: &Recording<'_>,
) -> Result<Option<u32>> {
    let location = recording.location;
    let files = managed::managed_files(location, recording.requirement_files);
    let contents = managed::read_contents(&location.root, &files);
    let saved = managed::saved(&contents);
    let store_paths = recording.entry.store_paths_to_root();
    let previous = generation::current(dir).and_then(|n| generation::read(&dir.generation(n)));
    if previous
        .as_ref()
        .is_some_and(|p| same_files(&p.files, &saved) && p.store_paths == store_paths)
    {
        return Ok(None);
    }
    let before = previous.as_ref().map(|p| contents_of(dir, p));
    let relative = |path: &std::path::Path| {
        path.strip_prefix(&location.root)
            .unwrap_or(path)
            .to_path_buf()
    };
    let (manifest, lock) = (
        relative(&location.manifest),
        relative(&location.lock_path()),
    );
    let rebuilt = previous
        .as_ref()
        .is_none_or(|p| p.store_paths != store_paths);
    let change = describe(
        before.as_ref(),
        &contents,
        &Roles {
            manifest: &manifest,
            lock: &lock,
        },
        rebuilt,
    );
    let number = generation::list(dir).last().map_or(1, |g| g.number + 1);
    let generation = Generation {
        number,
        created: date::now(),
        command: recording.command.to_owned(),
        change,
        files: saved,
        store_paths,
    };
    let generations = dir.generations_dir();
    atomic_write::create_private_dir(&generations)?;
    let staging = atomic_write::private_tempdir_in(&generations, layout::GENERATION_WRITING)?;
    let staged = GenerationDir::at(staging.path().to_path_buf());
    for (path, bytes) in &contents {
        if let Some(bytes) = bytes {
            let target = staged.file(path);
            if let Some(parent) = target.parent() {
                atomic_write::create_private_dir(parent)?;
            }
            atomic_write::write_file(&target, bytes)?;
        }
    }
    recording.entry.write(&staged.entry())?;
    generation::write(&staged, &generation)?;
    let final_dir = dir.generation(number);
    std::fs::rename(staging.keep(), &final_dir.path)
        .map_err(|e| Error::io("publish the generation", &final_dir.path, e))?;
    for (index, path) in generation.store_paths.iter().enumerate() {
        nix.keep_rooted(path, &final_dir.root(index))?;
    }
    generation::set_current(dir, number)?;
    generation::prune(dir, recording.keep)?;
    Ok(Some(number))
}

/// The same files with the same contents (in any order).
fn same_files(a: &[generation::SavedFile], b: &[generation::SavedFile]) -> bool {
    a.len() == b.len() && a.iter().all(|f| b.contains(f))
}

/// A generation's kept files, as [`Contents`].
fn contents_of(dir: &ProjectDir, generation: &Generation) -> Contents {
    generation
        .files
        .iter()
        .map(|f| (f.path.clone(), generation.saved_contents(dir, &f.path)))
        .collect()
}
