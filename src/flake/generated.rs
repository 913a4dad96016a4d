//! The generated flake: its files, and its folder in the cache
//! (content-addressed by the shell key, written whole or not at all).

use std::path::{Path, PathBuf};

use super::contract::SHELL_TEMPLATE;
use super::plan::{flake_lock_json, ShellPlan};
use crate::error::{Error, Result};
use crate::layout::{self, Cache};
use crate::project::lockfile::NixpkgsPin;
use crate::support::atomic_write;
use crate::support::hash::key_of;

/// (file name, text) of each file of a generated flake.
pub(crate) type FlakeFiles = Vec<(&'static str, String)>;

const FLAKE_NIX: &str = "flake.nix";
/// A copy of the shell template.
const SHELL_NIX: &str = "shell.nix";
/// The manifest's lists as data, read by the template.
const PLAN_JSON: &str = "plan.json";
/// The nixpkgs pin from nixpy.lock.
const FLAKE_LOCK: &str = "flake.lock";

/// The files that make the flake, without its lock (locking writes one).
pub(crate) fn source_files(plan: &ShellPlan) -> FlakeFiles {
    vec![
        (FLAKE_NIX, plan.flake_nix()),
        (SHELL_NIX, SHELL_TEMPLATE.to_owned()),
        (PLAN_JSON, plan.plan_json()),
    ]
}

/// Every file of the flake, pinned.
pub(crate) fn files(plan: &ShellPlan, pin: &NixpkgsPin) -> FlakeFiles {
    let mut files = source_files(plan);
    files.push((FLAKE_LOCK, flake_lock_json(&pin.flake_lock_node())));
    files
}

/// A key of the package set the generated flake in `dir` evaluates to:
/// its nixpkgs pin, the template, and the nixpkgs settings of plan.json,
/// not the project's lists (`nixpy search` keeps one index per key).
pub(crate) fn package_set_key(dir: &Path) -> Result<String> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|e| Error::io("read", &path, e))
    };
    let plan: serde_json::Value = serde_json::from_slice(&read(PLAN_JSON)?).map_err(|e| {
        Error::new(format!(
            "{} is not JSON: {e}",
            dir.join(PLAN_JSON).display()
        ))
    })?;
    let settings = plan
        .get("nixpkgsConfig")
        .map(ToString::to_string)
        .unwrap_or_default();
    Ok(key_of(&[
        &read(FLAKE_NIX)?,
        &read(FLAKE_LOCK)?,
        &read(SHELL_NIX)?,
        settings.as_bytes(),
    ]))
}

/// Writes the generated flake, content-addressed by `key`, unless present.
pub(crate) fn write_dir(cache: &Cache, key: &str, files: &[(&str, String)]) -> Result<PathBuf> {
    let flakes = cache.flakes_dir();
    cache.ensure(&flakes)?;
    let dir = cache.flake(key);
    // A published folder is trusted only if it still holds what it should
    // (a damaged one would otherwise fail every run, --refresh included).
    let intact = files.iter().all(|(name, text)| {
        std::fs::read_to_string(dir.join(name)).is_ok_and(|on_disk| on_disk == *text)
    });
    if !intact && dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| Error::io("remove the damaged generated flake", &dir, e))?;
    }
    if !intact {
        let staging = atomic_write::private_tempdir_in(&flakes, layout::FLAKE_WRITING)?;
        for (name, text) in files {
            atomic_write::write_file(&staging.path().join(name), text.as_bytes())?;
        }
        let staged = staging.keep();
        if let Err(e) = std::fs::rename(&staged, &dir) {
            let _ = std::fs::remove_dir_all(&staged);
            if !dir.join(FLAKE_LOCK).is_file() {
                return Err(Error::io("publish the generated flake at", &dir, e));
            }
        }
    }
    Ok(dir)
}
