//! The cache entry of a project: what its environment was built from (the
//! fingerprint) and what the command gets (the composed environment's
//! recipe); the project's folder in the cache; and the warm path, which
//! reads the entry and execs (`warm.rs`).

mod cache_entry;
pub(crate) mod fingerprint;
mod project_cache;
pub(crate) mod warm;

pub(crate) use cache_entry::{CacheEntry, ENTRY_FORMAT};
pub(crate) use project_cache::ProjectCache;
