//! Building a project's environment, step by step: inputs -> shell spec ->
//! Nix shell -> pip layer -> project interpreter -> lock -> cache entry. Each step reuses what has
//! not changed (the built shell, a published layer, the lock), so an edit
//! costs what it changed; the new entry is published atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::context::{BuildOptions, Context};
use super::nix_shell::{build_shell, fetch_recorded_shell, keep_shell_rooted, ProjectFiles};
use super::shell_spec::{shell_spec, ShellSpec};
use crate::entry::{CacheEntry, ProjectCache, ENTRY_FORMAT};
use crate::error::{Error, Result};
use crate::flake::{self, ShellEnv};
use crate::history;
use crate::nix::{self, GcRoot, Nix};
use crate::pip::{self, LayerRef, PipInputs, PipOutcome};
use crate::project::lock_diff::LockDiff;
use crate::project::lockfile::{
    self, LockFile, LockMode, NixpkgsPin, PipLock, StorePaths, LOCK_VERSION,
};
use crate::project::manifest::{Manifest, ManifestKind};
use crate::project::requires_python::RequiresPython;
use crate::project::{self, ProjectLocation};
use crate::run::{self, EnvSpec, InterpreterPaths, SpecInputs};
use crate::support::fingerprint::Fingerprint;
use crate::support::{atomic_write, user, FileLock};
use crate::ui;
use crate::venv::{self, InterpreterInputs};

pub(super) fn build(
    ctx: &Context,
    opts: &BuildOptions,
    location: &ProjectLocation,
    pc: &ProjectCache,
    scalars: BTreeMap<String, String>,
) -> Result<CacheEntry> {
    let inputs = project::read_inputs(location, scalars)?;
    note_allow_variables(location);
    let old_lock = lockfile::read(&location.lock_path())?;
    let mode = opts.lock_mode(ctx);
    let nix = Nix::locate(&ctx.substituters.with_project(
        &inputs.manifest.substituters,
        &inputs.manifest.trusted_public_keys,
    ))?;
    let spec = shell_spec(
        ctx,
        location,
        pc,
        &nix,
        &inputs,
        // `--upgrade-nixpkgs` locks the reference anew.
        old_lock
            .as_ref()
            .and_then(|l| l.nixpkgs.as_ref())
            .filter(|_| !opts.upgrade.nixpkgs),
        mode,
    )?;
    let recorded = old_lock
        .as_ref()
        .and_then(|l| l.store.clone())
        .filter(|_| !opts.refresh);
    let project = ProjectFiles {
        root: &location.root,
        nix_sources: &inputs.nix_sources,
    };
    // The entry this build replaces: its shell may serve again, and its
    // interpreter stays (a process started before may still run it).
    let previous = pc.read_entry();
    let shell = nix_shell(
        &nix,
        pc,
        &spec,
        previous.as_ref().filter(|_| !opts.refresh),
        recorded.as_ref(),
        &project,
    )?;
    check_requires_python(pc, location, &shell.env, &inputs.manifest)?;
    check_hook_size(location, &shell.env, &inputs.manifest)?;
    let nix_version = shell.nix_version.clone().or_else(|| {
        let records_anew = opts.record_paths
            || recorded
                .as_ref()
                .is_some_and(|r| !r.records_shell_of(&spec.portable_key));
        records_anew.then(|| nix.version()).flatten()
    });
    // The dependency groups in the environment: the manifest's, and those
    // this command adds (`--group`).
    project::check_groups(&opts.groups, &inputs.requirements, "--group")?;
    let mut groups = inputs.manifest.groups.clone();
    for group in &opts.groups {
        if !groups.contains(group) {
            groups.push(group.clone());
        }
    }
    // From choosing the layer's distributions to publishing the entry that
    // names them, `nixpy gc` must not unroot them.
    pc.cache.ensure(&pc.cache.locks_dir())?;
    let _store_work = FileLock::acquire_shared(&pc.cache.store_lock(), || {
        ui::waiting("collecting garbage (`nixpy gc`)");
    })?;
    let pip = if inputs.requirements.is_empty() {
        None
    } else {
        Some(pip::ensure(&PipInputs {
            cache: &pc.cache,
            shell: &shell.env,
            installer: inputs.manifest.installer,
            requirements: &inputs.requirements,
            groups: &groups,
            lock: old_lock.as_ref().and_then(|l| l.pip.as_ref()),
            mode,
            upgrade: &opts.upgrade.pip,
            offline: opts.offline,
            refresh: opts.refresh,
            nix: &nix,
            project_root: &location.root,
            recorded_layer: recorded.as_ref().and_then(recorded_layer),
        })?)
    };
    let interpreter = project_interpreter(
        pc,
        location,
        &shell.env,
        pip.as_ref().map(|p| &p.layer),
        &inputs.manifest,
        previous.as_ref().and_then(|e| e.venv.as_deref()),
    )?;
    let lock = next_lock(
        old_lock.as_ref(),
        spec.pin.clone(),
        pip.as_ref().map(|p| (&p.lock, &p.layer)),
        Recorded {
            portable_key: &spec.portable_key,
            shell: &shell.file,
            nix_version: nix_version.as_deref(),
        },
        opts.record_paths,
    );
    update_lock(location, old_lock.as_ref(), &lock, mode, opts.lock_command)?;
    let mut fingerprint = inputs.fingerprint;
    fingerprint.add_file(&location.lock_path());
    let entry = cache_entry(
        location,
        pc,
        fingerprint,
        spec,
        Built {
            shell,
            pip,
            interpreter,
        },
        &inputs.manifest,
    );
    publish(pc, location, &entry)?;
    // A `--group` environment is a variant of the project's, not a change
    // to it: only the project's own environment becomes a generation.
    if pc.is_default() {
        let recording = history::Recording {
            location,
            requirement_files: &inputs.requirements.files,
            entry: &entry,
            keep: inputs.manifest.keep_generations,
            command: if ctx.command.is_empty() {
                "nixpy"
            } else {
                &ctx.command
            },
        };
        // The environment is built and in use; a generation that cannot
        // be recorded only costs the way back to it.
        if let Err(err) = history::record(&nix, &pc.dir, &recording) {
            ui::warn(&format!(
                "this environment could not be kept as a generation: {}",
                err.message
            ));
        }
    }
    Ok(entry)
}

/// `requires-python` of the project's pyproject.toml, against the
/// interpreter just built (its full version: `>=3.11.4` needs the micro),
/// as its facts give it: the project interpreter is made from them next.
fn check_requires_python(
    pc: &ProjectCache,
    location: &ProjectLocation,
    shell: &ShellEnv,
    manifest: &Manifest,
) -> Result<()> {
    let Some(requires) = RequiresPython::read(&location.root.join(project::PYPROJECT_FILE))? else {
        return Ok(());
    };
    let version = pip::interpreter_facts(&pc.cache, &shell.python)?.version;
    if requires.allows(&version) {
        return Ok(());
    }
    let label = match location.kind {
        ManifestKind::Pyproject => "[tool.nixpy] of pyproject.toml",
        ManifestKind::NixpyToml => "nixpy.toml",
    };
    Err(requires.mismatch(&manifest.python.to_string(), &version, label))
}

/// NIXPKGS_ALLOW_* let nixpkgs allow what it refuses, for the runs that
/// have them set (they are part of the fingerprint): say so when the
/// environment is built, and which key records the choice in the project.
fn note_allow_variables(location: &ProjectLocation) {
    let table = match location.kind {
        ManifestKind::Pyproject => "[tool.nixpy.nixpkgs-config] in pyproject.toml",
        ManifestKind::NixpyToml => "[nixpkgs-config] in nixpy.toml",
    };
    for (variable, what, key) in [
        (
            "NIXPKGS_ALLOW_UNFREE",
            "unfree",
            "allow-unfree = true (or a list of package names)",
        ),
        ("NIXPKGS_ALLOW_BROKEN", "broken", "allow-broken = true"),
        (
            "NIXPKGS_ALLOW_INSECURE",
            "insecure",
            "permitted-insecure-packages = [\"NAME-VERSION\"]",
        ),
        (
            "NIXPKGS_ALLOW_UNSUPPORTED_SYSTEM",
            "unsupported",
            "allow-unsupported-system = true",
        ),
    ] {
        if std::env::var(variable).is_ok_and(|v| v == "1") {
            ui::note(&format!(
                "{variable}=1 allows {what} packages in the runs that set it; the project does not record it (to record it, set {key} under {table})"
            ));
        }
    }
}

/// The shell hook (the Nix shell's and the manifest's) must fit in one
/// environment string, or every command would fail to start with
/// "Argument list too long".
fn check_hook_size(
    location: &ProjectLocation,
    shell: &ShellEnv,
    manifest: &Manifest,
) -> Result<()> {
    let own = manifest.shell_hook.trim().len();
    let total = shell.shell_hook.trim().len() + 1 + own;
    if total <= run::hook::MAX_HOOK_BYTES {
        return Ok(());
    }
    let text = crate::project::manifest::read_manifest_text(&location.manifest).unwrap_or_default();
    let line = text
        .lines()
        .position(|l| l.trim_start().starts_with("shell-hook"))
        .map_or(String::new(), |i| format!("{}:", i + 1));
    let name = location
        .manifest
        .strip_prefix(&location.root)
        .unwrap_or(&location.manifest)
        .display();
    Err(Error::new(format!(
        "{name}:{line} the shell hook is {} KiB ({} KiB of it shell-hook here, the rest the Nix shell's own), more than the 128 KiB Linux passes to a program",
        total / 1024,
        own / 1024
    ))
    .with_hint("move the bulk of shell-hook into a script in the project and source it from there (shell-hook = \". ./scripts/setup.sh\")"))
}

/// A built (or fetched, or reused) Nix shell.
struct Shell {
    env: ShellEnv,
    /// Its shell file in the store, which roots its whole closure.
    file: String,
    /// The Nix version the lock already names for this shell file, when
    /// the file is the recorded one.
    nix_version: Option<String>,
}

/// The Nix shell of `spec`: the previous entry's when its key still matches
/// and it is still in the store, else the one recorded in nixpy.lock when a
/// substituter has it, else built.
fn nix_shell(
    nix: &Nix,
    pc: &ProjectCache,
    spec: &ShellSpec,
    previous: Option<&CacheEntry>,
    recorded: Option<&StorePaths>,
    project: &ProjectFiles,
) -> Result<Shell> {
    let previous = previous.filter(|p| {
        p.shell_key == spec.shell_key && p.store_paths.iter().all(|s| Path::new(s).exists())
    });
    let recorded_here = |file: &str| {
        recorded
            .filter(|r| r.shell.as_deref() == Some(file))
            .and_then(|r| r.nix_version.clone())
    };
    if let Some(previous) = previous {
        keep_shell_rooted(nix, pc, &previous.shell_file)?;
        return Ok(Shell {
            env: flake::read_shell_file(&previous.shell_file)?,
            nix_version: recorded_here(&previous.shell_file),
            file: previous.shell_file.clone(),
        });
    }
    let recorded_file = match recorded {
        Some(r) if r.records_shell_of(&spec.portable_key) => r.shell.as_deref(),
        Some(r) if r.shell_key == spec.portable_key && r.shell_env.is_some() => {
            ui::note("nixpy.lock records the shell as nixpy before lock format 2 did (Nix's own environment file, which differs between Nix versions); `nixpy lock --record-paths` records it again");
            None
        }
        _ => None,
    };
    if let Some(file) = recorded_file {
        if let Some(env) = fetch_recorded_shell(nix, pc, file)? {
            return Ok(Shell {
                env,
                nix_version: recorded_here(file),
                file: file.to_owned(),
            });
        }
    }
    let (env, file) = build_shell(nix, pc, &spec.plan, &spec.shell_key, &spec.files, project)?;
    if let Some(recorded_file) = recorded_file.filter(|r| *r != file) {
        warn_other_shell(nix, recorded, recorded_file, &file);
    }
    Ok(Shell {
        env,
        nix_version: recorded_here(&file),
        file,
    })
}

/// The shell built here is not the one nixpy.lock records for the same
/// inputs: something nixpy does not key on differs between the machines
/// (a change in a Nix version's `print-dev-env`, say). The lock keeps its
/// record; this machine uses its own shell.
fn warn_other_shell(nix: &Nix, recorded: Option<&StorePaths>, recorded_file: &str, built: &str) {
    let theirs = recorded
        .and_then(|r| r.nix_version.as_deref())
        .map_or_else(String::new, |v| format!(" (made with Nix {v})"));
    let ours = nix
        .version()
        .map_or_else(String::new, |v| format!(" with Nix {v}"));
    ui::warn(&format!(
        "nixpy.lock records the shell {recorded_file}{theirs}, but this machine built {built}{ours} from the same inputs; \
         using its own. Push from a machine that has the recorded one, or record this one with `nixpy lock --record-paths`"
    ));
}

/// The layer nixpy.lock records, when it records one.
fn recorded_layer(store: &StorePaths) -> Option<LayerRef> {
    Some(LayerRef {
        key: store.layer_key.clone()?,
        dir: store.layer.clone()?.into(),
        dists: store.dists.clone(),
    })
}

/// The project interpreter of this environment (a venv seeing the layer
/// and the Nix packages), with the project's `.venv` pointing at it when
/// this is the project's own environment (not one a `--group` adds).
/// `previous` is the interpreter of the entry this build replaces.
fn project_interpreter(
    pc: &ProjectCache,
    location: &ProjectLocation,
    shell: &ShellEnv,
    layer: Option<&LayerRef>,
    manifest: &Manifest,
    previous: Option<&Path>,
) -> Result<PathBuf> {
    let facts = pip::interpreter_facts(&pc.cache, &shell.python)?;
    // The interpreters other environments of the project use stay: those
    // of `--group` runs, and of the kept generations.
    let keep: Vec<PathBuf> = history::kept_entries(&pc.dir)
        .into_iter()
        .filter_map(|e| e.venv)
        .collect();
    venv::make(&InterpreterInputs {
        shell,
        facts: &facts,
        layer,
        project: &pc.dir,
        root: &location.root,
        link: &manifest.venv,
        previous,
        project_default: pc.is_default(),
        keep: &keep,
    })
}

/// What `nixpy lock --record-paths` records of the shell.
#[derive(Clone, Copy)]
struct Recorded<'a> {
    portable_key: &'a str,
    shell: &'a str,
    nix_version: Option<&'a str>,
}

/// nixpy.lock as this build leaves it: the pin and the pip resolution, and
/// the store paths of both layers when asked to record them (once
/// recorded, they are kept current with the rest of the lock). The shell's
/// record changes only with its key (or when asked): a machine whose Nix
/// differs never rewrites it.
fn next_lock(
    old: Option<&LockFile>,
    pin: NixpkgsPin,
    pip: Option<(&PipLock, &LayerRef)>,
    shell: Recorded<'_>,
    record_paths: bool,
) -> LockFile {
    let mut lock = old.cloned().unwrap_or(LockFile {
        version: LOCK_VERSION,
        ..LockFile::default()
    });
    lock.nixpkgs = Some(pin);
    lock.pip = pip.map(|(pip_lock, _)| pip_lock.clone());
    if record_paths || lock.store.is_some() {
        let kept = lock
            .store
            .take()
            .filter(|s| !record_paths && s.records_shell_of(shell.portable_key));
        let shell_part = kept.unwrap_or_else(|| StorePaths {
            shell_key: shell.portable_key.to_owned(),
            shell: Some(shell.shell.to_owned()),
            nix_version: shell.nix_version.map(str::to_owned),
            ..StorePaths::default()
        });
        lock.store = Some(StorePaths {
            layer_key: pip.map(|(_, layer)| layer.key.clone()),
            layer: pip.map(|(_, layer)| layer.dir.display().to_string()),
            dists: pip
                .map(|(_, layer)| layer.dists.clone())
                .unwrap_or_default(),
            ..shell_part
        });
    }
    lock.version = lock.needed_version();
    lock
}

/// Writes the lock when it changed and the mode allows it. Locked runs
/// fail when the pin or the pip resolution would change (the steps that
/// read the lock catch most of that first), `lock --check` when anything
/// in the file would; frozen runs use the lock as it is.
fn update_lock(
    location: &ProjectLocation,
    old: Option<&LockFile>,
    lock: &LockFile,
    mode: LockMode,
    lock_command: bool,
) -> Result<()> {
    let lock_path = location.lock_path();
    let out_of_date = |diff: LockDiff, hint: &str| {
        let summary = diff.render();
        let summary = if summary.is_empty() {
            "  (its text differs from what nixpy writes)\n".to_owned()
        } else {
            summary
        };
        Error::new(format!(
            "{} is out of date; it would change:\n{}",
            lock_path.display(),
            summary.trim_end()
        ))
        .with_hint(hint.to_owned())
    };
    match mode {
        LockMode::Update => {
            let changed = Some(lock) != old || lock_command;
            if !changed || lockfile::is_written_as(&lock_path, lock) {
                return Ok(());
            }
            if let Err(denied) = user::write_access(&location.root) {
                return Err(not_writable(location, old.is_some(), &denied));
            }
            // Any other failure (a full disk, a folder made read-only
            // meanwhile): say what the lock is for, not only what failed.
            let written = lockfile::write(&lock_path, lock).map_err(|err| {
                let hint = match old {
                    None => "nixpy.lock holds the nixpkgs pin and the pip resolution: run `nixpy lock` in a writable checkout and commit it",
                    Some(_) => "run `nixpy lock` in a writable checkout and commit nixpy.lock, or use the lock as it is with --frozen",
                };
                Error::new(format!(
                    "cannot write {} ({}), and this build needs {}",
                    lock_path.display(),
                    err.message,
                    if old.is_none() { "a new lock" } else { "the lock updated" }
                ))
                .with_hint(hint)
            })?;
            if written && !lock_command {
                let verb = if old.is_some() { "updated" } else { "wrote" };
                ui::status(&format!("{verb} {}:", lock_path.display()));
                ui::block(&LockDiff::between(old, lock).render());
            }
        }
        LockMode::Locked => {
            let moved = old.is_none_or(|old| old.nixpkgs != lock.nixpkgs || old.pip != lock.pip);
            if moved {
                return Err(out_of_date(
                    LockDiff::between(old, lock),
                    "the lock may not be rewritten here (--locked or CI is set): run `nixpy lock` on a development machine and commit nixpy.lock",
                ));
            }
        }
        LockMode::Check => {
            if !lockfile::is_written_as(&lock_path, lock) {
                return Err(out_of_date(
                    LockDiff::between(old, lock),
                    "run `nixpy lock` and commit nixpy.lock",
                ));
            }
        }
        LockMode::Frozen => {}
    }
    Ok(())
}

/// nixpy.lock must be written and the project folder cannot be: a
/// read-only file system (a mounted checkout, root too) or a user without
/// permission, each with its way out.
fn not_writable(location: &ProjectLocation, has_lock: bool, denied: &std::io::Error) -> Error {
    let read_only = denied.raw_os_error() == Some(libc::EROFS);
    let what = if has_lock {
        "is out of date"
    } else {
        "is missing"
    };
    let why = if read_only {
        format!(
            "the project folder {} is on a read-only file system",
            location.root.display()
        )
    } else {
        format!(
            "{} may not write the project folder {}",
            nix::user_name(),
            location.root.display()
        )
    };
    let hint = match (has_lock, read_only) {
        (true, true) => "run with --frozen to use nixpy.lock as it is, or run `nixpy lock` in a writable checkout and commit it",
        (true, false) => "run with --frozen to use nixpy.lock as it is, or ask the project's owner to run `nixpy lock`",
        (false, true) => "nixpy.lock holds the nixpkgs pin and the pip resolution: run `nixpy lock` in a writable checkout and commit it",
        (false, false) => "ask the project's owner to run `nixpy lock` (and commit nixpy.lock)",
    };
    Error::new(format!("nixpy.lock {what}, and {why}")).with_hint(hint)
}

/// What the build made: the Nix shell, the pip layer, the project
/// interpreter.
struct Built {
    shell: Shell,
    pip: Option<PipOutcome>,
    interpreter: PathBuf,
}

/// The entry the warm path will read: the fingerprint, and the recipe of
/// the command's environment (with the index of its programs).
fn cache_entry(
    location: &ProjectLocation,
    pc: &ProjectCache,
    fingerprint: Fingerprint,
    spec: ShellSpec,
    built: Built,
    manifest: &Manifest,
) -> CacheEntry {
    let Built {
        shell,
        pip,
        interpreter,
    } = built;
    let env = command_env(
        location,
        &shell.env,
        &interpreter,
        pip.as_ref().map(|p| &p.layer),
        manifest,
    );
    let mut roots = vec![GcRoot::new(&pc.dir.shell_file())];
    // The layer's composition and each of its distributions (`<key>`,
    // `<key>-2`, ...): the composition's links are no Nix references.
    if let Some(layer) = pip.as_ref().map(|p| &p.layer) {
        let link = pc.cache.layer_link(&layer.key);
        roots.extend(
            nix::rooted_links(&link, layer.store_paths().len())
                .iter()
                .map(|l| GcRoot::new(l)),
        );
    }
    if pc.dir.nixpkgs_source().exists() {
        roots.push(GcRoot::new(&pc.dir.nixpkgs_source()));
    }
    CacheEntry {
        format: ENTRY_FORMAT,
        nixpy_version: env!("CARGO_PKG_VERSION").to_owned(),
        project_root: location.root.clone(),
        manifest: location.manifest.clone(),
        fingerprint,
        shell_key: spec.shell_key,
        portable_key: spec.portable_key,
        // The shell file references every package, so while it is in the
        // store its whole closure is (Nix keeps closures complete): one
        // stat on the warm path, however many packages there are.
        store_paths: vec![shell.file.clone()],
        shell_file: shell.file,
        roots,
        resolution_key: pip.as_ref().map(|p| p.resolution_key.clone()),
        from_stale_lock: pip.as_ref().is_some_and(|p| p.from_stale_lock),
        layer: pip.map(|p| p.layer),
        venv: Some(interpreter),
        env,
    }
}

/// The recipe of the command's environment, with the index of the programs
/// its store folders hold.
fn command_env(
    location: &ProjectLocation,
    shell: &ShellEnv,
    interpreter: &Path,
    layer: Option<&LayerRef>,
    manifest: &Manifest,
) -> EnvSpec {
    let interpreter = InterpreterPaths {
        venv: interpreter.display().to_string(),
        layer: layer.map(|l| l.dir.display().to_string()),
    };
    let mut env = run::spec(SpecInputs {
        shell,
        interpreter: Some(&interpreter),
        project_root: &location.root,
        manifest_env: &manifest.env,
        manifest_hook: &manifest.shell_hook,
    });
    env.programs = run::ProgramIndex::build(env.prepend.get("PATH").map_or(&[][..], Vec::as_slice));
    env
}

/// Publishes the entry (and the project folder, for `nixpy gc`).
fn publish(pc: &ProjectCache, location: &ProjectLocation, entry: &CacheEntry) -> Result<()> {
    let root = location.root.as_os_str().as_encoded_bytes();
    atomic_write::write_file(&pc.dir.project_root(), root)?;
    entry.write(&pc.entry_path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(rev: &str) -> NixpkgsPin {
        let node = serde_json::json!({
            "locked": {"type": "github", "owner": "NixOS", "repo": "nixpkgs", "rev": rev},
            "original": {"type": "github", "owner": "NixOS", "repo": "nixpkgs"},
        });
        NixpkgsPin::from_flake_lock_node("github:NixOS/nixpkgs", &node).unwrap()
    }

    fn pip_lock() -> (PipLock, LayerRef) {
        let lock = PipLock {
            inputs: "r".into(),
            installer: "uv".into(),
            packages: Vec::new(),
        };
        let layer = LayerRef {
            key: "l".into(),
            dir: PathBuf::from("/nix/store/l-nixpy-layer-l"),
            dists: vec!["/nix/store/d-nixpy-dist-rich-13.7.0".into()],
        };
        (lock, layer)
    }

    const SHELL: Recorded<'static> = Recorded {
        portable_key: "p",
        shell: "/nix/store/s-nixpy-shell.json",
        nix_version: Some("2.18.1"),
    };

    #[test]
    fn a_new_lock_pins_and_resolves_without_store_paths() {
        let (pip, layer) = pip_lock();
        let lock = next_lock(None, pin("a"), Some((&pip, &layer)), SHELL, false);
        assert_eq!(
            lock.version, 1,
            "readable by nixpy versions before format 2"
        );
        assert_eq!(lock.nixpkgs, Some(pin("a")));
        assert_eq!(lock.pip, Some(pip));
        assert_eq!(lock.store, None);
    }

    #[test]
    fn store_paths_are_recorded_when_asked_and_kept_current_after() {
        let (pip, layer) = pip_lock();
        let recorded = next_lock(None, pin("a"), Some((&pip, &layer)), SHELL, true);
        assert_eq!(recorded.version, LOCK_VERSION);
        let store = recorded.store.clone().unwrap();
        assert_eq!(store.shell_key, "p");
        assert_eq!(
            store.shell.as_deref(),
            Some("/nix/store/s-nixpy-shell.json")
        );
        assert_eq!(store.nix_version.as_deref(), Some("2.18.1"));
        assert_eq!(store.layer.as_deref(), Some("/nix/store/l-nixpy-layer-l"));
        assert_eq!(store.dists, ["/nix/store/d-nixpy-dist-rich-13.7.0"]);
        let moved = Recorded {
            portable_key: "q",
            shell: "/nix/store/t-nixpy-shell.json",
            nix_version: Some("2.8.0"),
        };
        let next = next_lock(Some(&recorded), pin("b"), None, moved, false);
        let store = next.store.unwrap();
        assert_eq!(store.shell_key, "q", "kept current without being asked");
        assert_eq!(
            store.shell.as_deref(),
            Some("/nix/store/t-nixpy-shell.json")
        );
        assert_eq!(store.layer, None, "no pip layer any more");
        assert_eq!(next.pip, None);
    }

    #[test]
    fn another_nix_never_rewrites_the_recorded_shell_of_the_same_inputs() {
        let (pip, layer) = pip_lock();
        let recorded = next_lock(None, pin("a"), Some((&pip, &layer)), SHELL, true);
        let elsewhere = Recorded {
            portable_key: "p",
            shell: "/nix/store/other-nixpy-shell.json",
            nix_version: Some("2.8.0"),
        };
        let next = next_lock(
            Some(&recorded),
            pin("a"),
            Some((&pip, &layer)),
            elsewhere,
            false,
        );
        assert_eq!(next, recorded);
        // Unless asked to record this machine's.
        let asked = next_lock(
            Some(&recorded),
            pin("a"),
            Some((&pip, &layer)),
            elsewhere,
            true,
        );
        let store = asked.store.unwrap();
        assert_eq!(
            store.shell.as_deref(),
            Some("/nix/store/other-nixpy-shell.json")
        );
        assert_eq!(store.nix_version.as_deref(), Some("2.8.0"));
    }

    #[test]
    fn a_format_1_record_is_recorded_again() {
        let (pip, layer) = pip_lock();
        let old = LockFile {
            version: 1,
            store: Some(StorePaths {
                shell_key: "p".into(),
                shell_env: Some("/nix/store/e-nixpy-shell-env".into()),
                ..StorePaths::default()
            }),
            ..LockFile::default()
        };
        let next = next_lock(Some(&old), pin("a"), Some((&pip, &layer)), SHELL, false);
        // 3: the layer's distributions are recorded too.
        assert_eq!(next.version, 3);
        let store = next.store.unwrap();
        assert_eq!(
            store.shell.as_deref(),
            Some("/nix/store/s-nixpy-shell.json")
        );
        assert_eq!(store.shell_env, None);
    }
}
