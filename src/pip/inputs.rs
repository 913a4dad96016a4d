//! What the pip side of an environment is asked to do.

use std::path::Path;

use super::LayerRef;
use crate::flake::ShellEnv;
use crate::layout::Cache;
use crate::nix::Nix;
use crate::project::lockfile::{LockMode, PipLock, PipUpgrade};
use crate::project::manifest::Installer;
use crate::project::requirements::RequirementSet;

pub(crate) struct PipInputs<'a> {
    pub cache: &'a Cache,
    /// The built Nix shell: its Python, and uv when it installs.
    pub shell: &'a ShellEnv,
    pub installer: Installer,
    pub requirements: &'a RequirementSet,
    /// The dependency groups the environment includes (normalised).
    pub groups: &'a [String],
    /// The pip resolution in nixpy.lock.
    pub lock: Option<&'a PipLock>,
    pub mode: LockMode,
    /// Which pins may move (`nixpy lock --upgrade*`).
    pub upgrade: &'a PipUpgrade,
    pub offline: bool,
    /// `--refresh`: resolve again (when the lock may change) and install
    /// every distribution again, whatever the index has: a local wheel
    /// rebuilt under the same name and version is noticed (or its hash
    /// refused).
    pub refresh: bool,
    pub nix: &'a Nix,
    /// The layer recorded in nixpy.lock, to fetch instead of installing.
    pub recorded_layer: Option<LayerRef>,
    /// Paths under it are written as `${PROJECT_ROOT}` in the lock, so the
    /// lock holds in any checkout folder.
    pub project_root: &'a Path,
}
