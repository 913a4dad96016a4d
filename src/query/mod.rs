//! Questions about the project's pinned nixpkgs, answered by evaluating its
//! generated flake (so the pinned revision and the project's nixpkgs config
//! apply): the versions of the project's Nix packages (the summary of
//! `nixpy lock`), and every package with its version and description (the
//! index of `nixpy search`). Nothing here builds anything.

mod index;
mod package_set;
mod versions;

pub(crate) use index::{evaluate_index, SetChoice};
pub(crate) use versions::nix_versions;
