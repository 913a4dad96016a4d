//! The cache entry of a project: what its environment was built from (the
//! fingerprint) and what the command gets (the composed environment's
//! recipe), read by the warm path.

mod cache_entry;
pub mod fingerprint;
mod project_cache;
pub mod warm;

pub use cache_entry::{CacheEntry, ENTRY_FORMAT};
pub use project_cache::ProjectCache;
