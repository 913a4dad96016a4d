//! The Nix side of an environment: pinning nixpkgs, writing the generated
//! flake (content-addressed), building it with `print-dev-env`, or fetching
//! a shell recorded in nixpy.lock from a substituter.

use std::path::Path;

use crate::entry::ProjectCache;
use crate::error::{Error, Result};
use crate::flake::{self, ShellEnv, ShellPlan};
use crate::layout::{self, ProjectDir};
use crate::nix::Nix;
use crate::project::lockfile::{LockMode, NixpkgsPin};
use crate::support::atomic_write;
use crate::ui;

/// The nixpkgs pin: from nixpy.lock when it pins this reference, else
/// locked now (when the mode allows writing the lock).
pub(super) fn pin_nixpkgs(
    nix: &Nix,
    pc: &ProjectCache,
    plan: &ShellPlan,
    current: Option<&NixpkgsPin>,
    mode: LockMode,
) -> Result<NixpkgsPin> {
    match current {
        Some(pin) if pin.url == plan.nixpkgs && mode != LockMode::Upgrade => return Ok(pin.clone()),
        _ => {}
    }
    if matches!(mode, LockMode::Locked | LockMode::Frozen) {
        let why = match current {
            Some(pin) => format!(
                "nixpy.lock pins nixpkgs `{}`, but the project now uses `{}`",
                pin.url, plan.nixpkgs
            ),
            None => "nixpy.lock is missing or does not pin nixpkgs".to_owned(),
        };
        return Err(Error::new(format!(
            "{why}, and the lock may not be rewritten here (--locked, --frozen or CI is set)"
        ))
        .with_hint("run `nixpy lock` on a development machine and commit nixpy.lock"));
    }
    let phase = ui::Phase::start(format!("locking nixpkgs ({})", plan.nixpkgs));
    let flakes = pc.cache.flakes_dir();
    pc.cache.ensure(&flakes)?;
    let scratch = atomic_write::private_tempdir_in(&flakes, layout::FLAKE_LOCKING)?;
    for (name, text) in flake::source_files(plan) {
        atomic_write::write_file(&scratch.path().join(name), text.as_bytes())?;
    }
    let node = nix.lock_flake(scratch.path())?;
    phase.finish();
    NixpkgsPin::from_flake_lock_node(&plan.nixpkgs, &node)
}

/// Fetches a shell environment recorded in nixpy.lock (from the store or a
/// substituter) and roots it: no evaluation, no build.
pub(super) fn fetch_recorded_shell(nix: &Nix, pc: &ProjectCache, store_path: &str) -> Result<bool> {
    let phase = ui::Phase::start(format!("fetching the recorded Nix shell {store_path}"));
    let fetched = nix.realise_with_root(store_path, &pc.dir.shell_profile())?;
    if fetched {
        phase.finish();
    } else {
        drop(phase);
        ui::note(&format!(
            "{store_path} is not in the store or any substituter; building the shell instead"
        ));
    }
    Ok(fetched)
}

/// Writes the generated flake (content-addressed by `key`) and builds it.
/// Returns the environment and the store path of its environment file.
pub(super) fn build_shell(
    nix: &Nix,
    pc: &ProjectCache,
    plan: &ShellPlan,
    key: &str,
    files: &[(&str, String)],
) -> Result<(ShellEnv, String)> {
    let dir = flake::write_dir(&pc.cache, key, files)?;
    let count = plan.packages.len() + plan.python_packages.len() + plan.nix_files.len();
    let phase = ui::Phase::start(format!(
        "building the Nix shell ({count} package source(s))"
    ));
    let profile = pc.dir.shell_profile();
    let json = nix.print_dev_env(&dir, &plan.installable_fragment(), &profile)?;
    phase.finish();
    prune_profile_generations(&pc.dir, &profile);
    let shell = flake::parse_dev_env(&json)?;
    let env_path = std::fs::canonicalize(&profile)
        .map_err(|e| Error::io("read the GC root", &profile, e))?
        .display()
        .to_string();
    // Written again if something (a concurrent `nixpy gc`) removed it.
    let dir = flake::write_dir(&pc.cache, key, files)?;
    if let Ok(Some(source)) = nix.nixpkgs_source(&dir) {
        nix.add_root(&pc.dir.nixpkgs_source(), &source)?;
    }
    Ok((shell, env_path))
}

/// `--profile` keeps every generation as a GC root; only the current one
/// should hold store paths alive.
fn prune_profile_generations(dir: &ProjectDir, profile: &Path) {
    let current = std::fs::read_link(profile).ok();
    let Ok(entries) = std::fs::read_dir(&dir.path) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if ProjectDir::is_profile_generation(&name) && current.as_deref() != Some(Path::new(&*name))
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
