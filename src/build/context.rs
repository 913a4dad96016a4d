//! What the cold path is asked to do: where and how (global flags and
//! variables), and how far it may go (the build flags).

use std::path::PathBuf;

use crate::error::Result;
use crate::nix;
use crate::project::lockfile::{LockMode, Upgrade};
use crate::project::{self, ProjectLocation};
use crate::support::ci;

/// Where and how nixpy was asked to work (global flags and variables).
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub start_dir: PathBuf,
    pub nixpkgs_override: Option<String>,
    /// Under CI ([`ci::is_ci`]): never rewrite the lock.
    pub ci: bool,
    pub substituters: nix::Substituters,
    /// The command being run, as `nixpy history` names it (`nixpy add`).
    pub command: String,
}

impl Context {
    /// The context from the environment (`NIXPY_NIXPKGS`, `CI`) and flags.
    pub(crate) fn new(
        start_dir: PathBuf,
        nixpkgs_override: Option<String>,
        substituters: nix::Substituters,
    ) -> Context {
        Context {
            start_dir,
            nixpkgs_override: nixpkgs_override.filter(|r| !r.is_empty()),
            ci: ci::is_ci(),
            substituters,
            command: String::new(),
        }
    }

    pub(crate) fn locate(&self) -> Result<ProjectLocation> {
        project::discover(&self.start_dir)
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct BuildOptions {
    pub refresh: bool,
    pub locked: bool,
    pub frozen: bool,
    pub offline: bool,
    /// `nixpy lock --upgrade*`: what may move.
    pub upgrade: Upgrade,
    /// Dependency groups this command adds (`--group`), normalised: an
    /// environment of its own, with its own cache entry.
    pub groups: Vec<String>,
    /// `nixpy lock --check`: write nothing; fail if the lock would change.
    pub check: bool,
    /// Record the store paths of both layers in nixpy.lock.
    pub record_paths: bool,
    /// The caller is `nixpy lock`: it reports the changes itself, and the
    /// lock is written as nixpy writes it even when only its text differs
    /// (a hand edit), so that `lock --check` passes after it.
    pub lock_command: bool,
}

impl BuildOptions {
    pub(super) fn lock_mode(&self, ctx: &Context) -> LockMode {
        if self.frozen {
            LockMode::Frozen
        } else if self.check {
            LockMode::Check
        } else if self.upgrade.any() {
            LockMode::Update
        } else if self.locked || ctx.ci {
            LockMode::Locked
        } else {
            LockMode::Update
        }
    }

    /// Whether a fresh cache entry may answer: not when asked to rebuild,
    /// to move the lock, to record paths or to check the lock exactly.
    pub(super) fn may_use_cache(&self) -> bool {
        !self.refresh && !self.upgrade.any() && !self.record_paths && !self.check
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_mode_follows_the_flags_and_ci() {
        let ctx = |ci| Context {
            command: String::new(),
            start_dir: PathBuf::from("/p"),
            nixpkgs_override: None,
            ci,
            substituters: nix::Substituters::default(),
        };
        let mode = |opts: &BuildOptions, ci| opts.lock_mode(&ctx(ci));
        let plain = BuildOptions::default();
        assert_eq!(mode(&plain, false), LockMode::Update);
        assert_eq!(
            mode(&plain, true),
            LockMode::Locked,
            "CI never rewrites the lock"
        );
        let locked = BuildOptions {
            locked: true,
            ..BuildOptions::default()
        };
        assert_eq!(mode(&locked, false), LockMode::Locked);
        let upgrade = BuildOptions {
            upgrade: Upgrade {
                nixpkgs: true,
                ..Upgrade::default()
            },
            ..BuildOptions::default()
        };
        assert_eq!(mode(&upgrade, true), LockMode::Update, "asked to upgrade");
        assert!(!upgrade.may_use_cache());
        let check = BuildOptions {
            check: true,
            ..BuildOptions::default()
        };
        assert_eq!(mode(&check, true), LockMode::Check);
        let frozen = BuildOptions {
            frozen: true,
            check: true,
            ..BuildOptions::default()
        };
        assert_eq!(mode(&frozen, false), LockMode::Frozen);
    }
}
