//! Shared setup for the integration tests.
//!
//! * [`standin`]: once per test process, a world-readable copy of the offline
//!   nixpkgs stand-in under /tmp, with a `host.nix` written for this machine
//!   (Nix builders run as `nixbld` users, so nothing may live under /root).
//! * [`needs_nix!`]: the first line of every Nix-using test. It skips the
//!   test loudly when `nix` is missing, unless `CI` or `NIXPY_REQUIRE_NIX` is
//!   set, in which case a missing Nix fails the test ([`require_nix`] when
//!   the test needs the stand-in itself).
//! * [`Project`]: a temporary project folder (and its own cache folder).
//! * [`nixpy`]: a `Command` for the binary under test with a clean, offline
//!   environment; [`RunExt::outcome`] runs it with a timeout and returns an
//!   [`Outcome`] whose assertions print both streams when they fail.
//! * [`make_wheel`]: writes a small pure-Python wheel, for pip-layer tests.
//!
//! One file each: `standin.rs` (the stand-in, host programs, the Nix gate),
//! `project.rs`, `running.rs` (running nixpy, `Outcome`), `wheels.rs`,
//! `git_nixpkgs.rs` (the stand-in as a git repository, for revisions).

#![allow(dead_code)] // Not every helper is used by every test module.

mod git_nixpkgs;
mod project;
mod running;
mod standin;
mod wheels;

use std::time::Duration;

pub(crate) use git_nixpkgs::*;
pub(crate) use project::*;
pub(crate) use running::*;
pub(crate) use standin::*;
pub(crate) use wheels::*;

/// The binary under test.
pub(crate) const NIXPY: &str = env!("CARGO_BIN_EXE_nixpy");

/// Offline Nix: flakes on, no binary cache, no global registry lookups;
/// no sandbox, whatever nix.conf says (a current Nix sandboxes by
/// default, and the stand-in's builders run host programs).
pub(crate) const NIX_CONFIG: &str = "experimental-features = nix-command flakes\nsubstituters =\nflake-registry = /dev/null\nsandbox = false\n";

/// Where every temporary folder goes. Not under /root (builders cannot read
/// it) and not `$TMPDIR`, which a developer may have pointed at their home.
pub(crate) const TMP_ROOT: &str = "/tmp";

/// A nixpy run that takes longer than this is hung; the stand-in builds take
/// well under a second, so this only guards against a test waiting forever.
pub(crate) const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// The first line of every test that needs Nix: returns from the test (a
/// loud skip) when Nix is missing, and fails it instead under CI or
/// NIXPY_REQUIRE_NIX.
macro_rules! needs_nix {
    () => {
        if $crate::harness::require_nix().is_none() {
            return;
        }
    };
}
pub(crate) use needs_nix;
