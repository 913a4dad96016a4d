//! nixpkgs configuration (issue 17): one explicit config from the project,
//! check-meta's refusals and the NIXPKGS_ALLOW_* overrides, against the
//! stand-in's imitation of check-meta.

use std::path::Path;

use crate::harness::*;

/// The stand-in's tools print `<name> version <version> (nixpy stand-in)`.
fn standin_version(name: &str, version: &str) -> String {
    format!("{name} version {version} (nixpy stand-in)\n")
}

/// A HOME whose nixpkgs settings would change the environment if read: all
/// unfree packages allowed, and an overlay replacing `hello`.
fn home_with_nixpkgs_settings() -> tempfile::TempDir {
    let home = temp_dir("nixpy-it-home-");
    let nixpkgs = home.path().join(".config/nixpkgs");
    std::fs::create_dir_all(nixpkgs.join("overlays")).unwrap();
    std::fs::write(nixpkgs.join("config.nix"), "{ allowUnfree = true; }\n").unwrap();
    std::fs::write(
        nixpkgs.join("overlays/hello.nix"),
        "final: prev: { hello = prev.jq; }\n",
    )
    .unwrap();
    home
}

fn set_mode_recursive(dir: &Path) {
    for path in walk(dir) {
        set_mode(&path, if path.is_dir() { 0o755 } else { 0o644 });
    }
}

#[test]
fn the_users_nixpkgs_config_and_overlays_are_not_read() {
    needs_nix!();
    let home = home_with_nixpkgs_settings();
    set_mode_recursive(home.path());
    let unfree = Project::with_manifest("packages = [\"unrar\"]\n");
    nixpy_run(&unfree, ["unrar"])
        .env("HOME", home.path())
        .outcome()
        .nixpy_error()
        .stderr_has("unrar");
    let overlaid = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy_run(&overlaid, ["hello"])
        .env("HOME", home.path())
        .outcome()
        .success()
        .stdout_is(&standin_version("hello", "2.12.1"));
    // NIXPKGS_CONFIG names a file read the same way.
    nixpy_run(&unfree, ["unrar"])
        .env(
            "NIXPKGS_CONFIG",
            home.path().join(".config/nixpkgs/config.nix"),
        )
        .outcome()
        .nixpy_error()
        .stderr_has("unrar");
}

#[test]
fn nixpkgs_allow_unfree_is_the_temporary_override() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"unrar\"]\n");
    nixpy_run(&project, ["unrar"])
        .env("NIXPKGS_ALLOW_UNFREE", "1")
        .outcome()
        .success()
        .stdout_is(&standin_version("unrar", "7.0.9"));
}
