//! Generations: each change nixpy makes to a project's environment (add,
//! remove, lock, an upgrade, a rebuild after the user's own edits) is kept
//! as a generation: the files nixpy manages as they were, the cache entry,
//! and GC roots for the store paths the environment needs. The last
//! `keep-generations` stay, so going back (`nixpy rollback`) restores the
//! files and the entry at once, and the next run is warm.

mod describe;
mod generation;
mod managed;
mod record;
mod restore;

pub(crate) use generation::{current, kept_entries, list, Generation};
pub(crate) use record::{record, Recording};
pub(crate) use restore::rollback;
