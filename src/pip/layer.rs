//! Installing the resolved pins (`--no-deps`) into a folder, compiling its
//! bytecode, adding it to the Nix store content-addressed and rooting it:
//! a published layer is complete, and shared by projects with the same pins.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::inputs::PipInputs;
use super::installer::Tool;
use super::scratch::{scratch_dir, write};
use crate::error::{Error, Result};
use crate::flake::ShellEnv;
use crate::layout::Cache;
use crate::nix::{GcRoot, Nix};
use crate::project::local_project::LocalProject;
use crate::project::lockfile::{localized, PipLock};
use crate::project::requirements::normalize_name;
use crate::support::hash::key_of;
use crate::support::process;
use crate::support::text::indent;
use crate::support::FileLock;
use crate::ui;

/// A published pip layer: its key and its store path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LayerRef {
    pub key: String,
    pub dir: PathBuf,
}

/// Editable, path and URL pins come out of the resolver without a name or
/// version; the installed layer knows both (dist-info METADATA, and the
/// location in direct_url.json), so the lock gets them from there.
pub(super) fn name_direct_references(lock: &mut PipLock, layer: &Path, root: &Path) {
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
fn layer_key(
    shell: &ShellEnv,
    tool: Tool<'_>,
    lock: &PipLock,
    root: &Path,
    local_projects: &[LocalProject],
) -> String {
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
    let identity = tool.identity();
    let system = crate::flake::current_system();
    let mut parts: Vec<&[u8]> = vec![
        shell.python.as_bytes(),
        pins.as_bytes(),
        identity.as_bytes(),
        system.as_bytes(),
    ];
    // A local project's metadata (its version, its dependencies) is built
    // into the layer's dist-info. (A part only when there are some: other
    // layers keep their keys.)
    let local: String = local_projects
        .iter()
        .map(|p| format!("{} {}\n", p.dir.display(), p.metadata_digest))
        .collect();
    if !local.is_empty() {
        parts.push(local.as_bytes());
    }
    key_of(&parts)
}

/// A published layer: `layers/<key>` is a GC root (symlink) to its store
/// path. A root a garbage collection dropped while the link was away (a
/// cache folder moved, an unmounted home) is registered again.
fn published(nix: &Nix, key: &str, link: &Path) -> Result<Option<LayerRef>> {
    let Ok(target) = std::fs::read_link(link) else {
        return Ok(None);
    };
    if !target.is_dir() {
        return Ok(None);
    }
    let root = GcRoot::new(link);
    if root.is_missing() {
        ui::note(&format!(
            "the GC root of the pip layer {} was lost; registering it again",
            target.display()
        ));
        nix.keep_rooted(&target.display().to_string(), link)?;
    }
    Ok(Some(LayerRef {
        key: key.to_owned(),
        dir: target,
    }))
}

pub(super) fn build_layer(
    inputs: &PipInputs<'_>,
    tool: Tool<'_>,
    lock: &PipLock,
) -> Result<LayerRef> {
    let key = layer_key(
        inputs.shell,
        tool,
        lock,
        inputs.project_root,
        &inputs.requirements.local_projects,
    );
    let layers = inputs.cache.layers_dir();
    let link = inputs.cache.layer_link(&key);
    if let Some(layer) = published(inputs.nix, &key, &link)? {
        return Ok(layer);
    }
    inputs.cache.ensure(&layers)?;
    inputs.cache.ensure(&inputs.cache.locks_dir())?;
    let _lock = FileLock::acquire(&inputs.cache.layer_lock(&key), || {
        ui::waiting("installing the same pip layer");
    })?;
    if let Some(layer) = published(inputs.nix, &key, &link)? {
        return Ok(layer);
    }
    if let Some((_, path)) = inputs.recorded_layer.as_ref().filter(|(k, _)| *k == key) {
        let phase = ui::Phase::start(format!("fetching the recorded pip layer {path}"));
        let Err(stderr) = inputs.nix.realise_rooted(path, &link)? else {
            phase.finish();
            return Ok(LayerRef {
                key,
                dir: path.into(),
            });
        };
        drop(phase);
        let (why, fix) = inputs.nix.why_not_fetched(path, &stderr);
        ui::note(&format!("{why}; installing the layer instead"));
        if let Some(fix) = fix {
            ui::note(&format!("fix: {fix}"));
        }
    }
    let phase = ui::Phase::start(format!(
        "installing {} pip package(s) with {}",
        lock.packages.len(),
        tool.name()
    ));
    // Installed into a temporary folder (removed on any failure), then
    // added to the Nix store whole: a layer that is published is complete.
    let building = crate::support::atomic_write::private_tempdir_in(
        &layers,
        &Cache::layer_staging_prefix(&key),
    )?;
    let scratch = scratch_dir(inputs.cache)?;
    let pins_file = scratch.path().join("pins.txt");
    write(&pins_file, &pins_text(lock, tool, inputs.project_root))?;
    install(inputs, tool, building.path(), &pins_file)?;
    write(&building.path().join("sitecustomize.py"), SITECUSTOMIZE)?;
    compile_bytecode(&inputs.shell.python, building.path());
    clear_stale_link(&link)?;
    let (store_path, _) = inputs.nix.add_rooted(&link, || {
        inputs
            .nix
            .add_to_store(building.path(), &format!("nixpy-layer-{key}"))
    })?;
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
    let result = process::dies_with_nixpy(duct::cmd(python, args))
        .stdin_null()
        .stdout_null()
        .stderr_null()
        .unchecked()
        .run();
    if let Err(e) = result {
        tracing::debug!("compileall failed to start: {e}");
    }
}

fn pins_text(lock: &PipLock, tool: Tool<'_>, root: &Path) -> String {
    let every_pin_hashed = lock.packages.iter().all(|p| !p.hashes.is_empty());
    let write_hashes = tool.writes_hashes(every_pin_hashed);
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

fn install(inputs: &PipInputs<'_>, tool: Tool<'_>, target: &Path, pins: &Path) -> Result<()> {
    let args = tool.install_args(
        target,
        inputs.requirements.index.to_args(),
        inputs.offline,
        pins,
    );
    let output = tool.run(args)?;
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
            tool.name(),
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

    use crate::project::lockfile::LockedPackage;

    #[test]
    fn hashes_are_written_only_when_every_pin_has_them() {
        let pin = |r: &str, h: &[&str]| LockedPackage {
            name: r.into(),
            version: "1".into(),
            requirement: r.into(),
            hashes: h.iter().map(std::string::ToString::to_string).collect(),
            groups: Vec::new(),
        };
        let lock = PipLock {
            inputs: String::new(),
            installer: "uv".into(),
            packages: vec![pin("a==1", &["sha256:1"]), pin("-e /x", &[])],
        };
        let root = Path::new("/p");
        let pip = Tool::Pip { python: "/p" };
        let uv = Tool::Uv {
            uv: "/u",
            python: "/p",
        };
        assert_eq!(pins_text(&lock, pip, root), "a==1\n-e /x\n");
        // uv checks each given hash on its own.
        assert_eq!(pins_text(&lock, uv, root), "a==1 --hash=sha256:1\n-e /x\n");
        let lock = PipLock {
            packages: vec![pin("a==1", &["sha256:1"])],
            ..lock
        };
        assert_eq!(pins_text(&lock, pip, root), "a==1 --hash=sha256:1\n");
    }
}
