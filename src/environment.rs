//! Getting a project's environment: the warm path reads the cached entry
//! when every input is unchanged; otherwise the cold path rebuilds exactly
//! what changed (the Nix shell, the pip layer, or only the runtime parts)
//! under a per-project lock, and publishes a new entry atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::entry::{fingerprint, warm, CacheEntry, ProjectCache, ENTRY_FORMAT};
use crate::error::{Error, Result};
use crate::flake::{self, FlakeFiles, ShellPlan};
use crate::nix::{self, Nix};
use crate::nix_shell::{build_shell, fetch_recorded_shell, pin_nixpkgs};
use crate::pip::{self, PipInputs};
use crate::project::lockfile::{self, LockFile, LockMode, NixpkgsPin, StorePaths, LOCK_VERSION};
use crate::project::manifest::{self, Manifest};
use crate::project::{self, Inputs, ProjectLocation};
use crate::run::{self, LayerPaths, SpecInputs};
use crate::support::atomic_write;
use crate::support::hash::key_of;
use crate::support::{ci, FileLock};
use crate::ui;

/// Where and how nixpy was asked to work (global flags and variables).
#[derive(Debug, Clone)]
pub struct Context {
    pub start_dir: PathBuf,
    pub nixpkgs_override: Option<String>,
    /// Under CI ([`ci::is_ci`]): never rewrite the lock.
    pub ci: bool,
    pub substituters: nix::Substituters,
}

impl Context {
    /// The context from the environment (`NIXPY_NIXPKGS`, `CI`) and flags.
    pub fn new(
        start_dir: PathBuf,
        nixpkgs_override: Option<String>,
        substituters: nix::Substituters,
    ) -> Context {
        Context {
            start_dir,
            nixpkgs_override: nixpkgs_override.filter(|r| !r.is_empty()),
            ci: ci::is_ci(),
            substituters,
        }
    }

    pub fn locate(&self) -> Result<ProjectLocation> {
        project::discover(&self.start_dir)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct BuildOptions {
    pub refresh: bool,
    pub locked: bool,
    pub frozen: bool,
    pub offline: bool,
    pub upgrade: bool,
    /// Record the store paths of both layers in nixpy.lock.
    pub record_paths: bool,
}

impl BuildOptions {
    fn lock_mode(&self, ctx: &Context) -> LockMode {
        if self.frozen {
            LockMode::Frozen
        } else if self.upgrade {
            LockMode::Upgrade
        } else if self.locked || ctx.ci {
            LockMode::Locked
        } else {
            LockMode::Update
        }
    }
}

/// The project's environment, from the cache or freshly built.
pub fn prepare(ctx: &Context, opts: BuildOptions) -> Result<CacheEntry> {
    let location = ctx.locate()?;
    let pc = ProjectCache::of(&location)?;
    let scalars = fingerprint::scalars(ctx.nixpkgs_override.as_deref());
    let may_use_cache = !opts.refresh && !opts.upgrade && !opts.record_paths;
    if may_use_cache {
        if let Some(entry) = warm::warm(&pc, &scalars, opts.frozen, true) {
            return Ok(entry);
        }
    }
    pc.cache.ensure(&pc.dir.path)?;
    let _lock = FileLock::acquire(&pc.dir.lock(), || {
        ui::waiting(&format!(
            "building the environment of {}",
            location.root.display()
        ));
    })?;
    if may_use_cache {
        // Another run may have built it while we waited.
        if let Some(entry) = warm::warm(&pc, &scalars, opts.frozen, false) {
            return Ok(entry);
        }
    }
    build(ctx, opts, &location, &pc, scalars)
}

/// For shell entry (direnv, `nixpy env`): when a rebuild fails, keep the
/// last good environment with a warning instead of leaving the user with
/// none. Never under CI, where a stale environment must not pass as fresh.
pub fn prepare_or_last_good(ctx: &Context, opts: BuildOptions) -> Result<(CacheEntry, bool)> {
    match prepare(ctx, opts) {
        Ok(entry) => Ok((entry, false)),
        Err(err) if !ctx.ci => {
            let last = ctx
                .locate()
                .and_then(|location| ProjectCache::of(&location))
                .ok()
                .and_then(|pc| pc.read_entry())
                .filter(|entry| entry.missing_path().is_none());
            match last {
                Some(entry) => {
                    ui::error(&err);
                    ui::warn("the environment could not be rebuilt; using the last good one (NIXPY_DID_FALLBACK=1)");
                    Ok((entry, true))
                }
                None => Err(err),
            }
        }
        Err(err) => Err(err),
    }
}

pub fn effective_nixpkgs(ctx: &Context, manifest: &Manifest) -> Result<String> {
    match &ctx.nixpkgs_override {
        Some(reference) => {
            manifest::check_flake_ref(reference).map_err(|why| {
                Error::new(format!("--nixpkgs / NIXPY_NIXPKGS: {why}"))
                    .with_hint("pass a flake reference such as path:/srv/nixpkgs")
            })?;
            Ok(reference.clone())
        }
        None => Ok(manifest.nixpkgs.clone()),
    }
}

fn build(
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

/// The generated flake of a project, its pin and its keys.
struct ShellSpec {
    plan: ShellPlan,
    pin: NixpkgsPin,
    files: FlakeFiles,
    /// The same on every machine: what nixpy.lock records store paths under.
    portable_key: String,
    /// Also keyed on the Nix in use: the key of the built shell and its flake folder.
    shell_key: String,
}

fn shell_spec(
    ctx: &Context,
    location: &ProjectLocation,
    pc: &ProjectCache,
    nix: &Nix,
    inputs: &Inputs,
    current_pin: Option<&NixpkgsPin>,
    mode: LockMode,
) -> Result<ShellSpec> {
    let Inputs {
        manifest,
        requirements,
        fingerprint,
        nix_sources,
    } = inputs;
    let nixpkgs = effective_nixpkgs(ctx, manifest)?;
    let plan = ShellPlan::new(manifest, &nixpkgs, !requirements.is_empty());
    let pin = pin_nixpkgs(nix, pc, &plan, current_pin, mode)?;
    let files = flake::files(&plan, &pin);
    // The contents of nix-files (and what they import) are part of the
    // shell: the generated flake names only their paths.
    let nix_source_hashes: Vec<String> = nix_sources
        .iter()
        .map(|p| {
            let hash = fingerprint
                .files
                .iter()
                .find(|f| &f.path == p)
                .and_then(|f| f.hash.clone());
            format!(
                "{}:{}",
                p.strip_prefix(&location.root).unwrap_or(p).display(),
                hash.unwrap_or_default()
            )
        })
        .collect();
    // plan.json names nix-files by absolute path: the project folder is
    // left out, so another checkout of the project finds recorded paths.
    let portable_texts: Vec<String> = files
        .iter()
        .map(|(_, text)| lockfile::portable(text, &location.root))
        .collect();
    let portable_key = key_of(
        &portable_texts
            .iter()
            .chain(&nix_source_hashes)
            .map(|t| t.as_bytes())
            .collect::<Vec<_>>(),
    );
    let shell_key = key_of(&[
        portable_key.as_bytes(),
        fingerprint.scalars["nix"].as_bytes(),
    ]);
    Ok(ShellSpec {
        plan,
        pin,
        files,
        portable_key,
        shell_key,
    })
}

/// The project's generated flake, pinned, written but not built (the same
/// folder a build uses): for questions about the pinned nixpkgs, such as
/// whether an attribute exists.
pub fn generated_flake(ctx: &Context) -> Result<(PathBuf, ShellPlan)> {
    let location = ctx.locate()?;
    let pc = ProjectCache::of(&location)?;
    let inputs = project::read_inputs(
        &location,
        fingerprint::scalars(ctx.nixpkgs_override.as_deref()),
    )?;
    let lock = lockfile::read(&location.lock_path())?;
    let nix = Nix::locate(&ctx.substituters)?;
    let spec = shell_spec(
        ctx,
        &location,
        &pc,
        &nix,
        &inputs,
        lock.as_ref().and_then(|l| l.nixpkgs.as_ref()),
        BuildOptions::default().lock_mode(ctx),
    )?;
    Ok((
        flake::write_dir(&pc.cache, &spec.shell_key, &spec.files)?,
        spec.plan,
    ))
}
