//! Building a project's environment, step by step: inputs -> shell spec ->
//! Nix shell -> pip layer -> lock -> cache entry. Rebuilds exactly what
//! changed (the Nix shell, the pip layer, or only the runtime parts) and
//! publishes the new entry atomically.

use std::collections::BTreeMap;
use std::path::Path;

use super::context::{BuildOptions, Context};
use super::nix_shell::{build_shell, fetch_recorded_shell};
use super::shell_spec::{shell_spec, ShellSpec};
use crate::entry::{CacheEntry, ProjectCache, ENTRY_FORMAT};
use crate::error::Result;
use crate::flake;
use crate::nix::Nix;
use crate::pip::{self, PipInputs};
use crate::project::lockfile::{self, LockFile, LockMode, StorePaths, LOCK_VERSION};
use crate::project::{self, Inputs, ProjectLocation};
use crate::run::{self, LayerPaths, SpecInputs};
use crate::support::atomic_write;
use crate::ui;

pub(super) fn build(
    ctx: &Context,
    opts: BuildOptions,
    location: &ProjectLocation,
    pc: &ProjectCache,
    scalars: BTreeMap<String, String>,
) -> Result<CacheEntry> {
    let inputs = project::read_inputs(location, scalars)?;
    let lock_path = location.lock_path();
    let old_lock = lockfile::read(&lock_path)?;
    let mut lock = old_lock.clone().unwrap_or(LockFile {
        version: LOCK_VERSION,
        ..LockFile::default()
    });
    let mode = opts.lock_mode(ctx);
    let nix = Nix::locate(&ctx.substituters)?;

    let ShellSpec {
        plan,
        pin,
        files,
        portable_key,
        shell_key,
    } = shell_spec(
        ctx,
        location,
        pc,
        &nix,
        &inputs,
        lock.nixpkgs.as_ref(),
        mode,
    )?;
    let Inputs {
        mut fingerprint,
        manifest,
        requirements,
        ..
    } = inputs;
    let previous = pc.read_entry();
    let reusable = previous.as_ref().filter(|p| {
        !opts.refresh
            && p.shell_key == shell_key
            && p.store_paths.iter().all(|s| Path::new(s).exists())
    });
    let recorded = lock.store.clone().filter(|_| !opts.refresh);
    let (shell_env, shell_env_path) = match reusable {
        Some(prev) => (
            flake::read_dev_env(&prev.shell_env_path)?,
            prev.shell_env_path.clone(),
        ),
        None => match recorded.as_ref().filter(|r| r.shell_key == portable_key) {
            Some(r) if fetch_recorded_shell(&nix, pc, &r.shell_env)? => {
                (flake::read_dev_env(&r.shell_env)?, r.shell_env.clone())
            }
            _ => build_shell(&nix, pc, &plan, &shell_key, &files)?,
        },
    };

    let pip = if requirements.is_empty() {
        None
    } else {
        Some(pip::ensure(&PipInputs {
            cache: &pc.cache,
            shell: &shell_env,
            installer: manifest.installer,
            requirements: &requirements,
            lock: lock.pip.as_ref(),
            mode,
            offline: opts.offline,
            nix: &nix,
            project_root: &location.root,
            recorded_layer: recorded
                .as_ref()
                .and_then(|r| r.layer_key.clone().zip(r.layer.clone())),
        })?)
    };

    lock.nixpkgs = Some(pin);
    lock.pip = pip.as_ref().map(|p| p.lock.clone());
    // Once recorded, store paths are kept current with the rest of the lock.
    if opts.record_paths || lock.store.is_some() {
        lock.store = Some(StorePaths {
            shell_key: portable_key,
            shell_env: shell_env_path.clone(),
            layer_key: pip.as_ref().map(|p| p.layer.key.clone()),
            layer: pip.as_ref().map(|p| p.layer.dir.display().to_string()),
        });
    }
    if Some(&lock) != old_lock.as_ref() {
        match mode {
            LockMode::Update | LockMode::Upgrade => {
                if lockfile::write(&lock_path, &lock)? {
                    ui::status(&format!("wrote {}", lock_path.display()));
                }
            }
            // Frozen and locked runs use the lock as it is; what they
            // needed from it was checked above.
            LockMode::Locked | LockMode::Frozen => {}
        }
    }
    fingerprint.add_file(&lock_path);

    let layer_paths = pip.as_ref().map(|p| LayerPaths {
        dir: p.layer.dir.display().to_string(),
        bin: p.layer.dir.join("bin").display().to_string(),
    });
    let root = location.root.display().to_string();
    let mut env = run::spec(SpecInputs {
        shell: &shell_env,
        layer: layer_paths.as_ref(),
        project_root: &root,
        manifest_env: &manifest.env,
        manifest_hook: &manifest.shell_hook,
    });
    env.programs = run::ProgramIndex::build(env.prepend.get("PATH").map_or(&[][..], Vec::as_slice));
    let entry = CacheEntry {
        format: ENTRY_FORMAT,
        nixpy_version: env!("CARGO_PKG_VERSION").to_owned(),
        project_root: location.root.clone(),
        fingerprint,
        shell_key,
        // The environment file references every package, so while it is in
        // the store its whole closure is (Nix keeps closures complete): one
        // stat on the warm path, however many packages there are.
        store_paths: vec![shell_env_path.clone()],
        shell_env_path,
        resolution_key: pip.as_ref().map(|p| p.resolution_key.clone()),
        from_stale_lock: pip.as_ref().is_some_and(|p| p.from_stale_lock),
        layer: pip.map(|p| p.layer),
        env,
    };
    atomic_write::write_file(&pc.dir.project_root(), root.as_bytes())?;
    entry.write(&pc.dir.entry())?;
    Ok(entry)
}
