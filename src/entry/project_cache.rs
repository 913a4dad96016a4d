//! A project's folder in the cache.

use super::CacheEntry;
use crate::error::Result;
use crate::layout::{Cache, ProjectDir};
use crate::project::ProjectLocation;

/// The cache, and the project's folder in it.
pub(crate) struct ProjectCache {
    pub cache: Cache,
    pub dir: ProjectDir,
}

impl ProjectCache {
    pub(crate) fn of(location: &ProjectLocation) -> Result<ProjectCache> {
        Ok(ProjectCache::new(Cache::locate()?, location))
    }

    pub(super) fn new(cache: Cache, location: &ProjectLocation) -> ProjectCache {
        let dir = cache.project(&location.root);
        ProjectCache { cache, dir }
    }

    /// The entry as it is, fresh or not; `None` when absent or unreadable.
    pub(crate) fn read_entry(&self) -> Option<CacheEntry> {
        CacheEntry::read(&self.dir.entry())
    }
}
