//! The pip layer: project-specific packages installed with uv (or pip) into
//! a content-addressed target folder, never re-installing what Nix provides.
//!
//! Resolution sees the Nix-provided distributions as stub wheels pinned at
//! their Nix versions, so the resolver keeps them fixed; the resulting pins
//! minus the Nix-provided ones are installed with `--no-deps`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::wheel_stub;
use crate::error::{Error, Result};
use crate::flake::ShellEnv;
use crate::layout::{self, Cache};
use crate::nix::Nix;
use crate::project::lockfile::{localized, portable, LockMode, LockedPackage, PipLock};
use crate::project::manifest::Installer;
use crate::project::requirements::{self, normalize_name, RequirementSet};
use crate::support::hash::key_of;
use crate::support::{process, FileLock};
use crate::ui;

/// A published pip layer: its key and its store path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    pub key: String,
    pub dir: PathBuf,
}

pub struct PipInputs<'a> {
    pub cache: &'a Cache,
    pub shell: &'a ShellEnv,
    pub installer: Installer,
    pub requirements: &'a RequirementSet,
    pub lock: Option<&'a PipLock>,
    pub mode: LockMode,
    pub offline: bool,
    pub nix: &'a Nix,
    /// (layer key, store path) recorded in nixpy.lock, to fetch instead of installing.
    pub recorded_layer: Option<(String, String)>,
    /// Paths under it are written as `${PROJECT_ROOT}` in the lock, so the
    /// lock holds in any checkout folder.
    pub project_root: &'a Path,
}

pub struct PipOutcome {
    pub lock: PipLock,
    pub layer: LayerRef,
    pub resolution_key: String,
    /// `--frozen` installed a lock that no longer matches the requirements.
    pub from_stale_lock: bool,
}

pub fn ensure(inputs: &PipInputs<'_>) -> Result<PipOutcome> {
    let installer = inputs.installer.effective();
    let nix_provided = nix_provided(inputs.cache, &inputs.shell.python)?;
    check_conflicts(inputs.requirements, &nix_provided)?;
    let resolution_key = resolution_key(inputs, installer, &nix_provided);
    let lock = match (inputs.mode, inputs.lock) {
        (LockMode::Frozen, Some(lock)) => lock.clone(),
        (LockMode::Frozen, None) => {
            return Err(Error::new(
                "--frozen needs a nixpy.lock with the pip resolution, and there is none",
            )
            .with_hint("run `nixpy lock` and commit nixpy.lock"))
        }
        (LockMode::Update | LockMode::Locked, Some(lock)) if lock.inputs == resolution_key => {
            lock.clone()
        }
        (LockMode::Locked, lock) => {
            let what = if lock.is_some() {
                "is out of date with the pip requirements"
            } else {
                "has no pip resolution"
            };
            return Err(Error::new(format!(
                "nixpy.lock {what}, and it may not be rewritten here (--locked or CI is set)"
            ))
            .with_hint("run `nixpy lock` on a development machine and commit nixpy.lock"));
        }
        _ => {
            let phase = ui::Phase::start(format!(
                "resolving {} pip requirement(s) with {}",
                inputs.requirements.requirements.len(),
                installer.name()
            ));
            let packages = resolve(inputs, installer, &nix_provided)?;
            phase.finish();
            PipLock {
                inputs: resolution_key.clone(),
                installer: installer.name().to_owned(),
                packages,
            }
        }
    };
    let layer = build_layer(inputs, installer, &lock)?;
    let mut lock = lock;
    name_direct_references(&mut lock, &layer.dir, inputs.project_root);
    Ok(PipOutcome {
        from_stale_lock: lock.inputs != resolution_key,
        lock,
        layer,
        resolution_key,
    })
}

fn check_conflicts(requirements: &RequirementSet, nix_provided: &[(String, String)]) -> Result<()> {
    let conflicts = requirements::conflicts_with_nix(requirements, nix_provided);
    let Some(first) = conflicts.first() else {
        return Ok(());
    };
    let lines: Vec<String> = conflicts
        .iter()
        .map(|c| {
            format!(
                "`{}` ({}) needs a version Nix does not provide: Nix has {} {}",
                c.requirement, c.origin, c.name, c.nix_version
            )
        })
        .collect();
    Err(Error::new(format!("pip requirements conflict with the Nix Python packages:\n  {}", lines.join("\n  "))).with_hint(format!(
        "relax the requirement to accept {} {}, or remove `{}` from python-packages so the pip layer provides it",
        first.name, first.nix_version, first.name
    )))
}

fn resolution_key(
    inputs: &PipInputs<'_>,
    installer: Installer,
    nix_provided: &[(String, String)],
) -> String {
    let reqs = inputs.requirements;
    let root = inputs.project_root;
    let provided: String = nix_provided
        .iter()
        .map(|(n, v)| format!("{n}=={v}\n"))
        .collect();
    key_of(&[
        portable(&reqs.requirements_text(), root).as_bytes(),
        portable(&reqs.constraints_text(), root).as_bytes(),
        portable(&reqs.index.to_args().join("\n"), root).as_bytes(),
        provided.as_bytes(),
        inputs.shell.python_version.as_bytes(),
        crate::flake::current_system().as_bytes(),
        installer.name().as_bytes(),
    ])
}

/// The distributions the Nix interpreter already has, cached per interpreter
/// store path (which never changes content).
pub fn nix_provided(cache: &Cache, python: &str) -> Result<Vec<(String, String)>> {
    let dir = cache.interpreters_dir();
    let cached = cache.interpreter_facts(python);
    if let Some(list) = std::fs::read(&cached)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
    {
        return Ok(list);
    }
    const SCRIPT: &str = "import json, importlib.metadata as m\n\
        print(json.dumps(sorted({(d.metadata['Name'], d.version) for d in m.distributions() if d.metadata['Name']})))";
    let output = process::capture(
        duct::cmd(python, ["-I", "-c", SCRIPT])
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME"),
    )
    .map_err(|e| Error::new(format!("cannot run the Nix Python {python}: {e}")))?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "the Nix Python {python} could not list its packages:\n{}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let raw: Vec<(String, String)> = serde_json::from_slice(&output.stdout)
        .map_err(|e| Error::new(format!("unexpected package list from {python}: {e}")))?;
    let mut list: Vec<(String, String)> = raw
        .into_iter()
        .map(|(n, v)| (normalize_name(&n), v))
        .collect();
    list.sort();
    list.dedup_by(|a, b| a.0 == b.0);
    cache.ensure(&dir)?;
    crate::support::atomic_write::write_file(
        &cached,
        &serde_json::to_vec(&list).expect("list serialises"),
    )?;
    Ok(list)
}

/// Environment for installer processes: no prompts, no downloads of other
/// Pythons, nothing from the user's site folder.
fn installer_cmd(program: &str, args: Vec<String>) -> duct::Expression {
    duct::cmd(program, args)
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("PYTHONNOUSERSITE", "1")
        .env("PIP_NO_INPUT", "1")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env_remove("PYTHONPATH")
        .env_remove("VIRTUAL_ENV")
        .env_remove("PIP_TARGET")
        .env_remove("PIP_PREFIX")
}

fn scratch_dir(cache: &Cache) -> Result<tempfile::TempDir> {
    let dir = cache.tmp_dir();
    cache.ensure(&dir)?;
    crate::support::atomic_write::private_tempdir_in(&dir, layout::SCRATCH)
}

fn write(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    crate::support::atomic_write::create_private_file(path)?
        .write_all(text.as_bytes())
        .map_err(|e| Error::io("write", path, e))
}

fn resolve(
    inputs: &PipInputs<'_>,
    installer: Installer,
    nix_provided: &[(String, String)],
) -> Result<Vec<LockedPackage>> {
    let scratch = scratch_dir(inputs.cache)?;
    let dir = scratch.path();
    let stubs = dir.join("nix-provided");
    std::fs::create_dir_all(&stubs).map_err(|e| Error::io("create", &stubs, e))?;
    for (name, version) in nix_provided {
        wheel_stub::write(&stubs, name, version)?;
    }
    let reqs = inputs.requirements;
    write(&dir.join("requirements.in"), &reqs.requirements_text())?;
    let nix_pins: String = nix_provided
        .iter()
        .map(|(n, v)| format!("{n}=={v}\n"))
        .collect();
    write(
        &dir.join("constraints.txt"),
        &format!("{}{nix_pins}", reqs.constraints_text()),
    )?;
    let mut common = vec![
        "--find-links".to_owned(),
        stubs.display().to_string(),
        "-c".to_owned(),
        dir.join("constraints.txt").display().to_string(),
    ];
    common.extend(reqs.index.to_args());
    let pins = match installer {
        Installer::Pip => resolve_with_pip(inputs, dir, common)?,
        _ => resolve_with_uv(inputs, dir, common)?,
    };
    let user_hashes = reqs.user_hashes();
    Ok(pins
        .into_iter()
        .filter(|p| !nix_provided.iter().any(|(n, _)| *n == p.name))
        .map(|mut p| {
            // A hash the user wrote is a promise about the file: it must
            // be checked at install (uv's resolver would pick its own).
            if let Some(hashes) = user_hashes.get(&p.name) {
                p.hashes = hashes.clone();
            }
            p.requirement = portable(&p.requirement, inputs.project_root);
            p
        })
        .collect())
}

fn uv_program(shell: &ShellEnv) -> Result<&str> {
    if shell.uv.is_empty() {
        return Err(Error::new("the Nix shell has no uv")
            .with_hint("run with --refresh to rebuild the shell"));
    }
    Ok(&shell.uv)
}

fn resolve_with_uv(
    inputs: &PipInputs<'_>,
    dir: &Path,
    common: Vec<String>,
) -> Result<Vec<LockedPackage>> {
    let out = dir.join("resolved.txt");
    let mut args: Vec<String> = [
        "pip",
        "compile",
        "--quiet",
        "--no-header",
        "--no-annotate",
        "--generate-hashes",
        "--python",
    ]
    .map(str::to_owned)
    .to_vec();
    args.push(inputs.shell.python.clone());
    args.extend(common);
    if inputs.offline {
        args.push("--offline".into());
    }
    args.extend([
        "-o".into(),
        out.display().to_string(),
        dir.join("requirements.in").display().to_string(),
    ]);
    let output = process::capture(installer_cmd(uv_program(inputs.shell)?, args))
        .map_err(|e| Error::new(format!("cannot run uv: {e}")))?;
    if !output.status.success() {
        return Err(resolution_failure(
            &String::from_utf8_lossy(&output.stderr),
            inputs.offline,
        ));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| Error::io("read", &out, e))?;
    Ok(parse_pinned(&text))
}

fn resolve_with_pip(
    inputs: &PipInputs<'_>,
    dir: &Path,
    common: Vec<String>,
) -> Result<Vec<LockedPackage>> {
    let report = dir.join("report.json");
    let mut args: Vec<String> = [
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--report",
    ]
    .map(str::to_owned)
    .to_vec();
    args.push(report.display().to_string());
    args.extend(common);
    if inputs.offline {
        args.push("--no-index".into());
    }
    args.extend([
        "-r".into(),
        dir.join("requirements.in").display().to_string(),
    ]);
    let output = process::capture(installer_cmd(&inputs.shell.python, args))
        .map_err(|e| Error::new(format!("cannot run pip: {e}")))?;
    if !output.status.success() {
        return Err(resolution_failure(
            &String::from_utf8_lossy(&output.stderr),
            inputs.offline,
        ));
    }
    let text = std::fs::read_to_string(&report).map_err(|e| Error::io("read", &report, e))?;
    parse_pip_report(&text)
}

fn resolution_failure(stderr: &str, offline: bool) -> Error {
    let detail = stderr.trim();
    let hint = if offline {
        "--offline installs only from the uv/pip cache: run once online first, or add the missing package's wheel to --find-links"
    } else {
        "check the names and versions in your requirements; packages Nix provides are pinned at their Nix versions"
    };
    Error::new(format!(
        "the pip requirements cannot be resolved:\n{}",
        indent(detail)
    ))
    .with_hint(hint)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads `uv pip compile` output: `name==version \ --hash=...` entries,
/// `-e location`, `name @ url`.
pub fn parse_pinned(text: &str) -> Vec<LockedPackage> {
    let joined = text.replace("\\\n", " ");
    let mut packages = Vec::new();
    for line in joined.lines().map(str::trim) {
        if line.is_empty()
            || line.starts_with('#')
            || (line.starts_with("--") && !line.starts_with("--hash"))
        {
            continue;
        }
        let mut parts = line.split_whitespace().peekable();
        let mut requirement = Vec::new();
        let mut hashes = Vec::new();
        for part in parts.by_ref() {
            match part.strip_prefix("--hash=") {
                Some(h) => hashes.push(h.to_owned()),
                None => requirement.push(part),
            }
        }
        let requirement = requirement.join(" ");
        let (name, version) = if let Some((n, v)) = requirement.split_once("==") {
            (
                normalize_name(n.trim()),
                v.split(';').next().unwrap_or(v).trim().to_owned(),
            )
        } else if let Some((n, _)) = requirement.split_once(" @ ") {
            (normalize_name(n.trim()), String::new())
        } else {
            (
                requirement.trim_start_matches("-e ").to_owned(),
                String::new(),
            )
        };
        packages.push(LockedPackage {
            name,
            version,
            requirement,
            hashes,
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    packages
}

fn parse_pip_report(text: &str) -> Result<Vec<LockedPackage>> {
    let report: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::new(format!("unreadable pip --report output: {e}")))?;
    let mut packages = Vec::new();
    for item in report["install"].as_array().into_iter().flatten() {
        let name = normalize_name(item["metadata"]["name"].as_str().unwrap_or_default());
        let version = item["metadata"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let info = &item["download_info"];
        let url = info["url"].as_str().unwrap_or_default();
        let editable = info["dir_info"]["editable"].as_bool().unwrap_or(false);
        let requirement = if item["is_direct"].as_bool().unwrap_or(false) {
            if editable {
                format!("-e {url}")
            } else {
                format!("{name} @ {url}")
            }
        } else {
            format!("{name}=={version}")
        };
        let hashes = info["archive_info"]["hashes"]
            .as_object()
            .map(|h| {
                h.iter()
                    .filter_map(|(alg, v)| Some(format!("{alg}:{}", v.as_str()?)))
                    .collect()
            })
            .unwrap_or_default();
        packages.push(LockedPackage {
            name,
            version,
            requirement,
            hashes,
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(packages)
}

/// Editable, path and URL pins come out of the resolver without a name or
/// version; the installed layer knows both (dist-info METADATA, and the
/// location in direct_url.json), so the lock gets them from there.
fn name_direct_references(lock: &mut PipLock, layer: &Path, root: &Path) {
    if lock.packages.iter().all(|p| !p.version.is_empty()) {
        return;
    }
    let installed = direct_references_in(layer);
    for pin in lock.packages.iter_mut().filter(|p| p.version.is_empty()) {
        let location = localized(&pin.requirement, root);
        let location = location.trim_start_matches("-e ");
        let location = location
            .split_once(" @ ")
            .map_or(location, |(_, url)| url)
            .trim();
        let url = if location.starts_with('/') {
            format!("file://{location}")
        } else {
            location.to_owned()
        };
        if let Some((name, version)) = installed
            .iter()
            .find(|(u, _, _)| u.trim_end_matches('/') == url.trim_end_matches('/'))
            .map(|(_, n, v)| (n, v))
        {
            pin.name = normalize_name(name);
            pin.version = version.clone();
        }
    }
    lock.packages.sort_by(|a, b| a.name.cmp(&b.name));
}

/// (url, name, version) of every distribution in `layer` installed from a
/// direct reference.
fn direct_references_in(layer: &Path) -> Vec<(String, String, String)> {
    let Ok(entries) = std::fs::read_dir(layer) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".dist-info"))
        .filter_map(|e| {
            let direct: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.path().join("direct_url.json")).ok()?)
                    .ok()?;
            let metadata = std::fs::read_to_string(e.path().join("METADATA")).ok()?;
            let field = |key: &str| {
                metadata
                    .lines()
                    .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_owned()))
            };
            Some((
                direct["url"].as_str()?.to_owned(),
                field("Name:")?,
                field("Version:")?,
            ))
        })
        .collect()
}

/// The layer's key: interpreter, exact pins, installer, platform. Two
/// projects with the same resolution share one layer.
pub fn layer_key(shell: &ShellEnv, installer: Installer, lock: &PipLock, root: &Path) -> String {
    // Localised: a path requirement's folder ends up inside the layer
    // (editable .pth files), so it is part of what the layer is.
    let pins: String = lock
        .packages
        .iter()
        .map(|p| {
            format!(
                "{} {}\n",
                localized(&p.requirement, root),
                p.hashes.join(",")
            )
        })
        .collect();
    let installer_id = match installer {
        Installer::Pip => format!("pip:{}", shell.python),
        _ => format!("uv:{}", shell.uv),
    };
    key_of(&[
        shell.python.as_bytes(),
        pins.as_bytes(),
        installer_id.as_bytes(),
        crate::flake::current_system().as_bytes(),
    ])
}

/// A published layer: `layers/<key>` is a GC root (symlink) to its store path.
fn published(key: &str, link: &Path) -> Option<LayerRef> {
    let target = std::fs::read_link(link).ok()?;
    target.is_dir().then(|| LayerRef {
        key: key.to_owned(),
        dir: target,
    })
}

fn build_layer(inputs: &PipInputs<'_>, installer: Installer, lock: &PipLock) -> Result<LayerRef> {
    let key = layer_key(inputs.shell, installer, lock, inputs.project_root);
    let layers = inputs.cache.layers_dir();
    let link = inputs.cache.layer_link(&key);
    if let Some(layer) = published(&key, &link) {
        return Ok(layer);
    }
    inputs.cache.ensure(&layers)?;
    inputs.cache.ensure(&inputs.cache.locks_dir())?;
    let _lock = FileLock::acquire(&inputs.cache.layer_lock(&key), || {
        ui::waiting("installing the same pip layer")
    })?;
    if let Some(layer) = published(&key, &link) {
        return Ok(layer);
    }
    if let Some((_, path)) = inputs.recorded_layer.as_ref().filter(|(k, _)| *k == key) {
        let phase = ui::Phase::start(format!("fetching the recorded pip layer {path}"));
        if inputs.nix.realise_with_root(path, &link)? {
            phase.finish();
            return Ok(LayerRef {
                key,
                dir: path.into(),
            });
        }
        drop(phase);
        ui::note(&format!(
            "{path} is not in the store or any substituter; installing the layer instead"
        ));
    }
    let phase = ui::Phase::start(format!(
        "installing {} pip package(s) with {}",
        lock.packages.len(),
        installer.name()
    ));
    // Installed into a temporary folder (removed on any failure), then
    // added to the Nix store whole: a layer that is published is complete.
    let building = crate::support::atomic_write::private_tempdir_in(
        &layers,
        &Cache::layer_staging_prefix(&key),
    )?;
    let scratch = scratch_dir(inputs.cache)?;
    let pins_file = scratch.path().join("pins.txt");
    write(&pins_file, &pins_text(lock, installer, inputs.project_root))?;
    install(inputs, installer, building.path(), &pins_file)?;
    write(&building.path().join("sitecustomize.py"), SITECUSTOMIZE)?;
    compile_bytecode(&inputs.shell.python, building.path());
    let store_path = inputs
        .nix
        .add_to_store(building.path(), &format!("nixpy-layer-{key}"))?;
    clear_stale_link(&link)?;
    if !inputs.nix.realise_with_root(&store_path, &link)? {
        return Err(Error::new(format!(
            "cannot register {} as a GC root for {store_path}",
            link.display()
        ))
        .with_hint(
            "check that the cache folder and /nix/var/nix/gcroots are writable (`nixpy doctor`)",
        ));
    }
    phase.finish();
    Ok(LayerRef {
        key,
        dir: store_path.into(),
    })
}

/// Removes whatever stands where the layer's GC root goes: a dangling link
/// (its store path was collected) or a folder from an older cache layout.
fn clear_stale_link(link: &Path) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(link) else {
        return Ok(());
    };
    let removed = if meta.is_dir() {
        std::fs::remove_dir_all(link)
    } else {
        std::fs::remove_file(link)
    };
    removed.map_err(|e| Error::io("remove the stale layer", link, e))
}

/// The store is read-only, so Python could never cache bytecode there:
/// compile it now, hash-checked so the files' store timestamps do not
/// invalidate it. Best effort: a module that does not compile (Python 2
/// leftovers in some packages) just stays uncompiled.
fn compile_bytecode(python: &str, dir: &Path) {
    let args: Vec<std::ffi::OsString> = [
        "-I",
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "--invalidation-mode",
        "unchecked-hash",
        // A fixed name for the source path inside the pycs (Python points
        // code at the real file when it loads them), so the same layer
        // gives the same bytes, and so the same store path, everywhere.
        "-d",
        "/nixpy-layer",
    ]
    .iter()
    .map(Into::into)
    .chain([dir.as_os_str().to_owned()])
    .collect();
    let result = duct::cmd(python, args)
        .stdin_null()
        .stdout_null()
        .stderr_null()
        .unchecked()
        .run();
    if let Err(e) = result {
        tracing::debug!("compileall failed to start: {e}");
    }
}

fn pins_text(lock: &PipLock, installer: Installer, root: &Path) -> String {
    // uv checks each hash given; pip turns any hash into hash-checking mode
    // for all, which local and editable pins cannot meet, so for pip hashes
    // are written only when every pin has them.
    let all_hashed = lock.packages.iter().all(|p| !p.hashes.is_empty());
    let write_hashes = installer != Installer::Pip || all_hashed;
    let text: String = lock
        .packages
        .iter()
        .map(|p| {
            let hashes: String = if write_hashes {
                p.hashes.iter().map(|h| format!(" --hash={h}")).collect()
            } else {
                String::new()
            };
            format!("{}{hashes}\n", p.requirement)
        })
        .collect();
    localized(&text, root)
}

fn install(inputs: &PipInputs<'_>, installer: Installer, target: &Path, pins: &Path) -> Result<()> {
    let mut args: Vec<String> = match installer {
        Installer::Pip => [
            "-m",
            "pip",
            "install",
            "--no-deps",
            // Bytecode is compiled afterwards, hash-checked: pip's own pycs
            // embed timestamps and would make the layer differ per machine.
            "--no-compile",
            "--no-warn-script-location",
            "--target",
        ]
        .map(str::to_owned)
        .to_vec(),
        _ => ["pip", "install", "--no-deps", "--quiet", "--python"]
            .map(str::to_owned)
            .into_iter()
            .chain([inputs.shell.python.clone(), "--target".to_owned()])
            .collect(),
    };
    args.push(target.display().to_string());
    args.extend(inputs.requirements.index.to_args());
    if inputs.offline {
        args.push(
            if installer == Installer::Pip {
                "--no-index"
            } else {
                "--offline"
            }
            .to_owned(),
        );
    }
    args.extend(["-r".to_owned(), pins.display().to_string()]);
    let program = match installer {
        Installer::Pip => inputs.shell.python.as_str(),
        _ => uv_program(inputs.shell)?,
    };
    let output = process::capture(installer_cmd(program, args))
        .map_err(|e| Error::new(format!("cannot run {}: {e}", installer.name())))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("No space left on device") {
            format!(
                "free disk space where nixpy builds layers ({}): `nixpy gc` removes unused entries, or set NIXPY_CACHE_DIR",
                inputs.cache.root.display()
            )
        } else if inputs.offline {
            "--offline installs only from the installer's cache; run once online, or provide the wheel with --find-links".to_owned()
        } else {
            "the lock may name a version the index no longer serves; `nixpy lock --upgrade` resolves again".to_owned()
        };
        return Err(Error::new(format!(
            "{} failed to install the pip layer:\n{}",
            installer.name(),
            indent(stderr.trim())
        ))
        .with_hint(hint));
    }
    Ok(())
}

/// Makes the layer a site directory, so `.pth` files in it (editable
/// installs, namespace packages) take effect, then runs the sitecustomize
/// this file shadows (nixpkgs' Python has one).
const SITECUSTOMIZE: &str = r#"# Written by nixpy. Processes this pip layer's .pth files, then chains to
# the interpreter's own sitecustomize, which this file shadows.
import os as _os, site as _site, sys as _sys

_layer = _os.path.dirname(_os.path.abspath(__file__))
_site.addsitedir(_layer)


def _nixpy_chain():
    import importlib.util
    for entry in list(_sys.path):
        if not entry or _os.path.abspath(entry) == _layer:
            continue
        candidate = _os.path.join(entry, "sitecustomize.py")
        if _os.path.isfile(candidate):
            spec = importlib.util.spec_from_file_location("_nixpy_next_sitecustomize", candidate)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return


_nixpy_chain()
del _nixpy_chain
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uv_output_is_read_into_pins() {
        let text = "pkga==0.1 \\\n    --hash=sha256:aaa\nrich==13.7.0 ; python_version >= \"3.8\" \\\n    --hash=sha256:bbb \\\n    --hash=sha256:ccc\n-e file:///src/editable\nfoo @ file:///w/foo-1.0-py3-none-any.whl\n";
        let pins = parse_pinned(text);
        let pkga = pins.iter().find(|p| p.name == "pkga").unwrap();
        assert_eq!(
            (pkga.version.as_str(), pkga.requirement.as_str()),
            ("0.1", "pkga==0.1")
        );
        assert_eq!(pkga.hashes, ["sha256:aaa"]);
        let rich = pins.iter().find(|p| p.name == "rich").unwrap();
        assert_eq!(rich.version, "13.7.0");
        assert_eq!(rich.hashes.len(), 2);
        assert!(pins
            .iter()
            .any(|p| p.requirement == "-e file:///src/editable"));
        assert!(pins
            .iter()
            .any(|p| p.name == "foo" && p.requirement.starts_with("foo @ ")));
    }

    #[test]
    fn hashes_are_written_only_when_every_pin_has_them() {
        let pin = |r: &str, h: &[&str]| LockedPackage {
            name: r.into(),
            version: "1".into(),
            requirement: r.into(),
            hashes: h.iter().map(|s| s.to_string()).collect(),
        };
        let lock = PipLock {
            inputs: String::new(),
            installer: "uv".into(),
            packages: vec![pin("a==1", &["sha256:1"]), pin("-e /x", &[])],
        };
        let root = Path::new("/p");
        assert_eq!(pins_text(&lock, Installer::Pip, root), "a==1\n-e /x\n");
        // uv checks each given hash on its own.
        assert_eq!(
            pins_text(&lock, Installer::Uv, root),
            "a==1 --hash=sha256:1\n-e /x\n"
        );
        let lock = PipLock {
            packages: vec![pin("a==1", &["sha256:1"])],
            ..lock
        };
        assert_eq!(
            pins_text(&lock, Installer::Pip, root),
            "a==1 --hash=sha256:1\n"
        );
    }
}
