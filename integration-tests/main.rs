//! nixpy's integration tests: the real binary, real Nix, and an offline
//! stand-in for nixpkgs (integration-tests/nixpkgs-standin), so every test
//! checks what a user would see without fetching anything.
//!
//! Run with `cargo test --test integration`. Without Nix the tests that need
//! it are skipped with a note on stderr; set NIXPY_REQUIRE_NIX=1 (CI=true
//! does the same) to make a missing Nix a failure instead.

// Faults are set up with libc (a FIFO, a umask, killing a process group);
// each such block says why it is sound. nixpy itself denies unsafe code.
#![allow(unsafe_code)]

mod bad_input;
mod binary_cache;
mod commands;
mod dists;
mod faults;
mod groups;
mod harness;
mod history;
mod interpreter;
mod locking;
mod nixpkgs_config;
mod nixpkgs_semantics;
mod papercuts;
mod pip_layer;
mod python_version;
mod run;
mod search;
mod shell_entry;
mod warm_path;

use std::path::Path;
use std::process::Command;

use harness::RunExt;

/// The repository's own flake.nix (the package and dev shell for nixpy
/// itself) must exist and be valid Nix. Existence is checked even without
/// Nix: a missing flake.nix is a failure, never a skip.
#[test]
fn repository_flake_nix_parses() {
    let flake = Path::new(env!("CARGO_MANIFEST_DIR")).join("flake.nix");
    assert!(flake.is_file(), "{} is missing", flake.display());
    harness::needs_nix!();
    Command::new("nix-instantiate")
        .arg("--parse")
        .arg(&flake)
        .outcome()
        .success();
}
