//! A project's folder in the cache.

use std::path::PathBuf;

use super::CacheEntry;
use crate::cache::Cache;
use crate::error::Result;
use crate::project::ProjectLocation;

/// The cache, and the project's folder in it.
pub struct ProjectCache {
    pub cache: Cache,
    pub dir: PathBuf,
}

impl ProjectCache {
    pub fn of(location: &ProjectLocation) -> Result<ProjectCache> {
        let cache = Cache::locate()?;
        let dir = cache.project_dir(&location.root);
        Ok(ProjectCache { cache, dir })
    }

    pub fn entry_path(&self) -> PathBuf {
        CacheEntry::path_in(&self.dir)
    }

    /// The entry as it is, fresh or not; `None` when absent or unreadable.
    pub fn read_entry(&self) -> Option<CacheEntry> {
        CacheEntry::read(&self.entry_path())
    }
}
