//! Getting a project's environment: the warm path reads the cached entry
//! when every input is unchanged; otherwise the cold path rebuilds exactly
//! what changed (the Nix shell, the pip layer, or only the runtime parts)
//! under a per-project lock, and publishes a new entry atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cache::{Cache, CacheEntry, FileLock, ENTRY_FORMAT};
use crate::dev_env::{self, ShellEnv};
use crate::error::{Error, Result};
use crate::fingerprint::{key_of, Fingerprint, Freshness};
use crate::lockfile::{self, LockFile, NixpkgsPin, StorePaths, LOCK_VERSION};
use crate::manifest::{self, Manifest};
use crate::nix::{self, Nix};
use crate::pip_layer::{self, LockMode, PipInputs};
use crate::plan::{self, ShellPlan};
use crate::project::{self, ProjectLocation, PYPROJECT_FILE};
use crate::requirements::{self, RequirementSet};
use crate::runtime_env::{self, LayerPaths, SpecInputs};
use crate::{atomic_write, nix_file, ui};

/// Where and how nixpy was asked to work (global flags and variables).
#[derive(Debug, Clone)]
pub struct Context {
    pub start_dir: PathBuf,
    pub nixpkgs_override: Option<String>,
    /// `CI` is set: never rewrite the lock.
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
            ci: std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0"),
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

/// The non-file inputs of the fingerprint, cheap to compute.
pub fn scalars(ctx: &Context) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "nixpy version".to_owned(),
            env!("CARGO_PKG_VERSION").to_owned(),
        ),
        ("system".to_owned(), plan::current_system()),
        (
            "nixpkgs override".to_owned(),
            ctx.nixpkgs_override.clone().unwrap_or_default(),
        ),
        (
            "nix".to_owned(),
            nix::identity().unwrap_or_else(|| "missing".to_owned()),
        ),
    ])
}

pub struct ProjectCache {
    pub cache: Cache,
    pub dir: PathBuf,
}

impl ProjectCache {
    pub fn of(location: &ProjectLocation) -> Result<ProjectCache> {
        let cache = Cache::locate()?;
        let dir = cache.project_dir(&location.root);
        Ok(ProjectCache { cache, dir })
    }

    pub fn entry_path(&self) -> PathBuf {
        CacheEntry::path_in(&self.dir)
    }
}

/// Why the cached entry cannot be used as it is.
pub fn staleness(pc: &ProjectCache, ctx: &Context) -> std::result::Result<CacheEntry, String> {
    let Some(entry) = CacheEntry::read(&pc.entry_path()) else {
        return Err("no cached environment".into());
    };
    match entry.fingerprint.check(&scalars(ctx)) {
        Freshness::Stale(why) => Err(why),
        _ => match entry.missing_path() {
            Some(path) => Err(format!("{path} was garbage collected")),
            None => Ok(entry),
        },
    }
}

/// The warm path: the cached entry, if every input is unchanged and every
/// store path it needs is still there. No Nix, no Python, no bash.
/// `announce` says why a present entry is not used (once per run).
fn warm(
    pc: &ProjectCache,
    scalars: &BTreeMap<String, String>,
    frozen: bool,
    announce: bool,
) -> Option<CacheEntry> {
    let path = pc.entry_path();
    let mut entry = CacheEntry::read(&path)?;
    match entry.fingerprint.check(scalars) {
        Freshness::Fresh => {}
        Freshness::FreshWithNewStats(stamps) => {
            // Record the new stats so the next run skips the hash; skipped
            // when a rebuild holds the lock (it writes a newer entry).
            if let Some(_lock) = FileLock::try_acquire(&pc.dir.join("lock")) {
                entry.fingerprint.restamp(stamps);
                let _ = entry.write(&path);
            }
        }
        Freshness::Stale(why) => {
            tracing::debug!("cached environment is stale: {why}");
            return None;
        }
    }
    if entry.from_stale_lock && !frozen {
        tracing::debug!("cached environment was installed --frozen from a stale lock");
        return None;
    }
    if let Some(missing) = entry.missing_path() {
        if announce {
            ui::note(&format!(
                "{missing} is gone (garbage collected?); rebuilding"
            ));
        }
        return None;
    }
    mark_used(&path);
    Some(entry)
}

/// The warm path alone, for the clap-free start of `nixpy run`: `None`
/// whenever anything needs a look (the normal path then says what).
pub fn warm_only(ctx: &Context) -> Option<CacheEntry> {
    let location = ctx.locate().ok()?;
    let pc = ProjectCache::of(&location).ok()?;
    warm(&pc, &scalars(ctx), false, false)
}

/// Sets the entry's mtime to now: `nixpy gc --older-than` reads it. One
/// syscall, no write of the contents.
fn mark_used(entry_path: &Path) {
    if let Ok(file) = std::fs::File::options().append(true).open(entry_path) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
}

/// The project's environment, from the cache or freshly built.
pub fn prepare(ctx: &Context, opts: BuildOptions) -> Result<CacheEntry> {
    let location = ctx.locate()?;
    let pc = ProjectCache::of(&location)?;
    let scalars = scalars(ctx);
    let may_use_cache = !opts.refresh && !opts.upgrade && !opts.record_paths;
    if may_use_cache {
        if let Some(entry) = warm(&pc, &scalars, opts.frozen, true) {
            return Ok(entry);
        }
    }
    pc.cache.ensure(&pc.dir)?;
    let _lock = FileLock::acquire(
        &pc.dir.join("lock"),
        &format!("building the environment of {}", location.root.display()),
    )?;
    if may_use_cache {
        // Another run may have built it while we waited.
        if let Some(entry) = warm(&pc, &scalars, opts.frozen, false) {
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
                .and_then(|pc| CacheEntry::read(&pc.entry_path()))
                .filter(|entry| entry.missing_path().is_none());
            match last {
                Some(entry) => {
                    eprintln!("{err}");
                    ui::warn("the environment could not be rebuilt; using the last good one (NIXPY_DID_FALLBACK=1)");
                    Ok((entry, true))
                }
                None => Err(err),
            }
        }
        Err(err) => Err(err),
    }
}

/// Reads every input, stamping each file before it is read.
struct Inputs {
    fingerprint: Fingerprint,
    manifest: Manifest,
    requirements: RequirementSet,
    /// nix-files and the files they import.
    nix_sources: Vec<PathBuf>,
}

fn read_inputs(location: &ProjectLocation, scalars: BTreeMap<String, String>) -> Result<Inputs> {
    let mut fingerprint = Fingerprint {
        scalars,
        files: Vec::new(),
    };
    let root = &location.root;
    // Files whose appearance alone changes the project: stamped even absent.
    for always in [
        &location.manifest,
        &root.join(project::MANIFEST_FILE),
        &root.join(PYPROJECT_FILE),
        &root.join("requirements.txt"),
    ] {
        fingerprint.add_file(always);
    }
    let manifest = manifest::load(&location.manifest, location.kind)?;
    if location.shadowed_pyproject {
        ui::note(
            "both nixpy.toml and [tool.nixpy] in pyproject.toml configure nixpy; nixpy.toml wins",
        );
    }
    // Nix files and what they import by relative path: their contents
    // are part of the shell (the generated flake names only their paths).
    let mut nix_sources: Vec<PathBuf> = Vec::new();
    let mut pending: Vec<PathBuf> = manifest.nix_files.clone();
    while let Some(file) = pending.pop() {
        if nix_sources.contains(&file) {
            continue;
        }
        fingerprint.add_file(&file);
        let text = manifest::read_manifest_text(&file)?;
        nix_file::check(&file, &text)?;
        let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
        for relative in nix_file::relative_paths(&text) {
            let target = dir.join(&relative);
            let target = if target.is_dir() {
                target.join("default.nix")
            } else {
                target
            };
            if target.is_file() {
                pending.push(target.canonicalize().unwrap_or(target));
            }
        }
        nix_sources.push(file);
    }
    let requirements = pip_sources(&manifest)?;
    for file in &requirements.files {
        fingerprint.add_file(file);
    }
    Ok(Inputs {
        fingerprint,
        manifest,
        requirements,
        nix_sources,
    })
}

/// Every input file of the project, stamped (for `nixpy cache-key`).
pub fn input_files(ctx: &Context, location: &ProjectLocation) -> Result<Fingerprint> {
    let mut fingerprint = read_inputs(location, scalars(ctx))?.fingerprint;
    fingerprint.add_file(&location.lock_path());
    Ok(fingerprint)
}

/// `requirements = [...]`, else requirements.txt, else `[project]` of pyproject.toml.
pub fn pip_sources(manifest: &Manifest) -> Result<RequirementSet> {
    if let Some(files) = &manifest.requirements {
        return requirements::read_files(files);
    }
    let default = manifest.root.join("requirements.txt");
    if default.is_file() {
        return requirements::read_files(&[default]);
    }
    let pyproject = manifest.root.join(PYPROJECT_FILE);
    let mut set = RequirementSet::default();
    if pyproject.is_file() {
        if let Some(deps) = manifest::load_pyproject_dependencies(&pyproject)? {
            let mut lines = deps.dependencies.clone();
            for extra in &manifest.pip_extras {
                let group = deps.optional.get(extra).ok_or_else(|| {
                    Error::new(format!("pip-extras names `{extra}`, which is not a group of [project.optional-dependencies] in {}", pyproject.display()))
                        .with_hint(format!("groups there: {}", deps.optional.keys().cloned().collect::<Vec<_>>().join(", ")))
                })?;
                lines.extend(group.iter().cloned());
            }
            set.add_strings(&pyproject, &manifest.root, &lines)?;
        }
    }
    Ok(set)
}

fn effective_nixpkgs(ctx: &Context, manifest: &Manifest) -> Result<String> {
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
    let Inputs {
        mut fingerprint,
        manifest,
        requirements,
        nix_sources,
    } = read_inputs(location, scalars)?;
    let nixpkgs = effective_nixpkgs(ctx, &manifest)?;
    let plan = ShellPlan::new(&manifest, &nixpkgs, !requirements.is_empty());
    let lock_path = location.lock_path();
    let old_lock = lockfile::read(&lock_path)?;
    let mut lock = old_lock.clone().unwrap_or(LockFile {
        version: LOCK_VERSION,
        ..LockFile::default()
    });
    let mode = opts.lock_mode(ctx);
    let nix = Nix::locate(&ctx.substituters)?;

    let pin = pin_nixpkgs(&nix, pc, &plan, lock.nixpkgs.as_ref(), mode)?;
    let files = flake_files(&plan, &pin);
    // The same on every machine: what nixpy.lock records store paths under.
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
    let root_text = location.root.display().to_string();
    let portable_texts: Vec<String> = files
        .iter()
        .map(|(_, text)| text.replace(&root_text, "${PROJECT_ROOT}"))
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
    let previous = CacheEntry::read(&pc.entry_path());
    let reusable = previous.as_ref().filter(|p| {
        !opts.refresh
            && p.shell_key == shell_key
            && p.store_paths.iter().all(|s| Path::new(s).exists())
    });
    let recorded = lock.store.clone().filter(|_| !opts.refresh);
    let (shell_env, shell_env_path) = match reusable {
        Some(prev) => (prev.shell_env(), prev.shell_env_path.clone()),
        None => match recorded.as_ref().filter(|r| r.shell_key == portable_key) {
            Some(r) if fetch_recorded_shell(&nix, pc, &r.shell_env)? => {
                (read_shell_env_file(&r.shell_env)?, r.shell_env.clone())
            }
            _ => build_shell(&nix, pc, &plan, &shell_key, &files)?,
        },
    };

    let pip = if requirements.is_empty() {
        None
    } else {
        Some(pip_layer::ensure(&PipInputs {
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
    let env = runtime_env::spec(SpecInputs {
        shell: &shell_env,
        layer: layer_paths.as_ref(),
        project_root: &root,
        manifest_env: &manifest.env,
        manifest_hook: &manifest.shell_hook,
    });
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
        shell_env: CacheEntry::raw_shell_env(&shell_env),
        shell_env_path,
        resolution_key: pip.as_ref().map(|p| p.resolution_key.clone()),
        from_stale_lock: pip.as_ref().is_some_and(|p| p.from_stale_lock),
        layer: pip.map(|p| p.layer),
        env,
    };
    atomic_write::write_file(&pc.dir.join("project-root"), root.as_bytes())?;
    entry.write(&pc.entry_path())?;
    Ok(entry)
}

/// The nixpkgs pin: from nixpy.lock when it pins this reference, else
/// locked now (when the mode allows writing the lock).
fn pin_nixpkgs(
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
    let scratch = atomic_write::private_tempdir_in(&flakes, ".locking-")?;
    for (name, text) in flake_source_files(plan) {
        atomic_write::write_file(&scratch.path().join(name), text.as_bytes())?;
    }
    let node = nix.lock_flake(scratch.path())?;
    phase.finish();
    NixpkgsPin::from_flake_lock_node(&plan.nixpkgs, &node)
}

fn flake_source_files(plan: &ShellPlan) -> Vec<(&'static str, String)> {
    vec![
        ("flake.nix", plan.flake_nix()),
        ("shell.nix", plan::SHELL_TEMPLATE.to_owned()),
        ("plan.json", plan.plan_json()),
    ]
}

fn flake_files(plan: &ShellPlan, pin: &NixpkgsPin) -> Vec<(&'static str, String)> {
    let mut files = flake_source_files(plan);
    files.push(("flake.lock", plan::flake_lock_json(&pin.flake_lock_node())));
    files
}

/// Fetches a shell environment recorded in nixpy.lock (from the store or a
/// substituter) and roots it: no evaluation, no build.
fn fetch_recorded_shell(nix: &Nix, pc: &ProjectCache, store_path: &str) -> Result<bool> {
    let phase = ui::Phase::start(format!("fetching the recorded Nix shell {store_path}"));
    let fetched = nix.realise_with_root(store_path, &pc.dir.join("shell-profile"))?;
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

/// The environment file Nix builds for a shell holds the same JSON that
/// `print-dev-env --json` prints.
fn read_shell_env_file(store_path: &str) -> Result<ShellEnv> {
    let text = std::fs::read_to_string(store_path)
        .map_err(|e| Error::io("read", Path::new(store_path), e))?;
    dev_env::parse(&text)
}

/// Writes the generated flake, content-addressed by `key`, unless present.
fn write_flake_dir(pc: &ProjectCache, key: &str, files: &[(&str, String)]) -> Result<PathBuf> {
    let flakes = pc.cache.flakes_dir();
    pc.cache.ensure(&flakes)?;
    let dir = flakes.join(key);
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
        let staging = atomic_write::private_tempdir_in(&flakes, ".writing-")?;
        for (name, text) in files {
            atomic_write::write_file(&staging.path().join(name), text.as_bytes())?;
        }
        let staged = staging.keep();
        if let Err(e) = std::fs::rename(&staged, &dir) {
            let _ = std::fs::remove_dir_all(&staged);
            if !dir.join("flake.lock").is_file() {
                return Err(Error::io("publish the generated flake at", &dir, e));
            }
        }
    }
    Ok(dir)
}

/// The project's generated flake, pinned, written but not built: for
/// questions about the pinned nixpkgs (does this attribute exist?).
pub fn generated_flake(ctx: &Context) -> Result<(PathBuf, ShellPlan)> {
    let location = ctx.locate()?;
    let pc = ProjectCache::of(&location)?;
    let manifest = manifest::load(&location.manifest, location.kind)?;
    let requirements = pip_sources(&manifest)?;
    let plan = ShellPlan::new(
        &manifest,
        &effective_nixpkgs(ctx, &manifest)?,
        !requirements.is_empty(),
    );
    let lock = lockfile::read(&location.lock_path())?;
    let nix = Nix::locate(&ctx.substituters)?;
    let mode = BuildOptions::default().lock_mode(ctx);
    let pin = pin_nixpkgs(
        &nix,
        &pc,
        &plan,
        lock.as_ref().and_then(|l| l.nixpkgs.as_ref()),
        mode,
    )?;
    let files = flake_files(&plan, &pin);
    let key = key_of(
        &files
            .iter()
            .map(|(_, text)| text.as_bytes())
            .collect::<Vec<_>>(),
    );
    Ok((write_flake_dir(&pc, &key, &files)?, plan))
}

/// Writes the generated flake (content-addressed by `key`) and builds it.
/// Returns the environment and the store path of its environment file.
fn build_shell(
    nix: &Nix,
    pc: &ProjectCache,
    plan: &ShellPlan,
    key: &str,
    files: &[(&str, String)],
) -> Result<(ShellEnv, String)> {
    let dir = write_flake_dir(pc, key, files)?;
    let count = plan.packages.len() + plan.python_packages.len() + plan.nix_files.len();
    let phase = ui::Phase::start(format!(
        "building the Nix shell ({count} package source(s))"
    ));
    let profile = pc.dir.join("shell-profile");
    let json = nix.print_dev_env(&dir, &plan.installable_fragment(), &profile)?;
    phase.finish();
    prune_profile_generations(&pc.dir, &profile);
    let shell = dev_env::parse(&json)?;
    let env_path = std::fs::canonicalize(&profile)
        .map_err(|e| Error::io("read the GC root", &profile, e))?
        .display()
        .to_string();
    if let Ok(Some(source)) = nix.nixpkgs_source(&dir) {
        nix.add_root(&pc.dir.join("nixpkgs-source"), &source)?;
    }
    Ok((shell, env_path))
}

/// `--profile` keeps every generation as a GC root; only the current one
/// should hold store paths alive.
fn prune_profile_generations(dir: &Path, profile: &Path) {
    let current = std::fs::read_link(profile).ok();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("shell-profile-")
            && name.ends_with("-link")
            && current.as_deref() != Some(Path::new(&*name))
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
