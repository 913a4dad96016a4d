//! `nixpy search`'s index and matching: one file per package set and
//! pinned revision in the cache folder (`attr`, version, description a
//! line), read whole and matched without evaluating anything, so a search
//! answers in milliseconds once the index exists.

mod index_file;
mod rank;

pub(crate) use index_file::{read_index, write_index};
pub(crate) use rank::{search, Match};
