//! A project's folder in the cache.

use super::CacheEntry;
use crate::error::Result;
use crate::layout::{Cache, ProjectDir};
use crate::project::ProjectLocation;
use crate::support::hash::key_of;
use crate::support::FileLock;
use crate::ui;
use std::path::{Path, PathBuf};

/// The cache, and the project's folder in it.
pub(crate) struct ProjectCache {
    pub cache: Cache,
    pub dir: ProjectDir,
    /// The dependency groups a command adds (`--group`): their environment
    /// has an entry of its own.
    groups: Vec<String>,
}

impl ProjectCache {
    pub(crate) fn of(location: &ProjectLocation) -> Result<ProjectCache> {
        Ok(ProjectCache::new(Cache::locate()?, location))
    }

    pub(super) fn new(cache: Cache, location: &ProjectLocation) -> ProjectCache {
        let dir = cache.project(&location.root);
        ProjectCache {
            cache,
            dir,
            groups: Vec::new(),
        }
    }

    /// The same project, for the environment with `groups` added.
    pub(crate) fn with_groups(self, groups: &[String]) -> ProjectCache {
        ProjectCache {
            groups: groups.to_vec(),
            ..self
        }
    }

    /// Whether this is the project's own environment (no `--group`): the
    /// one the warm path serves and the generations keep.
    pub(crate) fn is_default(&self) -> bool {
        self.groups.is_empty()
    }

    /// Where the entry of this environment is.
    pub(crate) fn entry_path(&self) -> PathBuf {
        if self.groups.is_empty() {
            self.dir.entry()
        } else {
            self.dir
                .group_entry(&key_of(&[self.groups.join("\n").as_bytes()]))
        }
    }

    /// The project's lock, held by whatever changes its environment (a
    /// build, a rollback); a run that finds it held says it waits.
    pub(crate) fn lock(&self, project_root: &Path) -> Result<FileLock> {
        self.cache.ensure(&self.dir.path)?;
        FileLock::acquire(&self.dir.lock(), || {
            ui::waiting(&format!(
                "changing the environment of {}",
                project_root.display()
            ));
        })
    }

    /// The entry as it is, fresh or not; `None` when absent or unreadable.
    pub(crate) fn read_entry(&self) -> Option<CacheEntry> {
        CacheEntry::read(&self.entry_path())
    }
}
