//! What the user wrote: finding the project, its manifest (`nixpy.toml` or
//! `[tool.nixpy]`), its pip requirement files, its own Nix files, its lock,
//! and edits to them (`nixpy add`/`remove`). Reading the inputs stamps each
//! file for the fingerprint before it is read.

mod attr_path;
pub(crate) mod dependency_groups;
pub(crate) mod edit;
pub(crate) mod gitignore;
mod inputs;
pub(crate) mod local_project;
mod location;
pub(crate) mod lock_diff;
pub(crate) mod lockfile;
pub(crate) mod manifest;
mod nix_file;
mod nix_reads;
mod nixpkgs_config;
pub(crate) mod requirements;
pub(crate) mod requires_python;

pub(crate) use attr_path::AttrPath;
pub(crate) use inputs::{check_groups, input_files, pip_sources, read_inputs, Inputs, PipSource};
pub(crate) use location::{
    discover, discover_with, ProjectLocation, MANIFEST_FILE, PYPROJECT_FILE, REQUIREMENTS_FILE,
};
pub(crate) use nix_file::{package_refs, PackageRef};
pub(crate) use nixpkgs_config::NixpkgsConfig;

/// The Nix-file checks, for the property tests (src/proptests.rs).
#[cfg(test)]
pub(crate) mod nix_checks {
    pub(crate) use super::nix_file::check;
    pub(crate) use super::nix_reads::reads;
}
