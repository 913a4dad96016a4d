//! nixpy as users of a multi-user Nix (issue 19): non-root accounts
//! reaching the store through a nix-daemon, trusted, untrusted and outside
//! the `nix-users` group.
//!
//! Every test is `#[ignore]`d in the normal pass: it needs root (to act as
//! the accounts and to play the admin) and a daemon started by
//! `scripts/setup-multiuser`, which records the accounts in the file that
//! `NIXPY_MULTIUSER_ENV` names. `scripts/test` runs them after the root
//! suite (a root's garbage collection here would disturb its tests):
//!
//! ```sh
//! scripts/setup-multiuser
//! NIXPY_MULTIUSER_ENV=/run/nixpy-multiuser/env cargo test --test multiuser -- --ignored
//! scripts/setup-multiuser --stop
//! ```
//!
//! Without that file the tests skip with a note, except under CI
//! (`CI` or `NIXPY_REQUIRE_NIX`), where they fail.

#![allow(unsafe_code)]

// Not every helper (the root suite's `needs_nix!`) is used here.
mod accounts;
#[allow(unused_macros, unused_imports)]
#[path = "../harness/mod.rs"]
mod harness;

mod cache_sharing;
mod daemon_access;
mod gc_roots;
mod permissions;
mod runs;
