//! The cache entry of a project: what its environment was built from (the
//! fingerprint) and what the command gets (the composed environment's
//! recipe), read by the warm path.

mod cache_entry;
pub(crate) mod fingerprint;
mod project_cache;
pub(crate) mod warm;

pub(crate) use cache_entry::{CacheEntry, ENTRY_FORMAT};
pub(crate) use project_cache::ProjectCache;
