//! The project interpreter: a PEP 405 venv on the Nix base interpreter, in
//! the project's cache folder (never in the store), that sees the pip
//! layer, the Nix Python packages and the native libraries the layer
//! needs, through its own files alone. So only this interpreter sees them
//! (no PYTHONPATH or LD_LIBRARY_PATH for the rest of the environment), and
//! every child running the same interpreter (`sys.executable`,
//! multiprocessing) sees them with no variable at all. `.venv` at the
//! project root links to it, for editors.
//!
//! ```text
//! spec (pure: what it holds, its key) -> write (folder, renamed into place)
//! -> link (.venv, atomic) -> what the previous one had installed by hand
//! ```

mod elf;
mod hand_installed;
mod link;
mod preload;
mod spec;
mod write;

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::flake::ShellEnv;
use crate::layout::ProjectDir;
use crate::pip::{InterpreterFacts, LayerRef};
use crate::project::manifest::VenvLink;
use crate::ui;

pub(crate) use hand_installed::hand_installed;
pub(crate) use spec::VenvSpec;

/// What the project interpreter is made from.
pub(crate) struct InterpreterInputs<'a> {
    pub shell: &'a ShellEnv,
    pub facts: &'a InterpreterFacts,
    pub layer: Option<&'a LayerRef>,
    pub project: &'a ProjectDir,
    pub root: &'a Path,
    pub link: &'a VenvLink,
    /// The interpreter of the environment this one replaces.
    pub previous: Option<&'a Path>,
    /// The project's own environment (not one a `--group` adds): the one
    /// `.venv` links to.
    pub project_default: bool,
    /// Interpreters other environments of the project still use.
    pub keep: &'a [PathBuf],
}

/// The project interpreter for this environment (written when it is new),
/// with the project's link pointing at it. Returns its folder.
pub(crate) fn make(inputs: &InterpreterInputs<'_>) -> Result<PathBuf> {
    let spec = spec_of(inputs.shell, inputs.facts, inputs.layer);
    let dir = write::ensure(inputs.project, &spec)?;
    if !inputs.project_default {
        return Ok(dir);
    }
    if let Err(e) = link::update(inputs.link, inputs.root, inputs.project, &dir) {
        // A read-only checkout, say: commands still get the interpreter.
        ui::warn(&format!(
            "the project interpreter's link could not be made, so editors do not see it: {}",
            e.message
        ));
    }
    if let Some(previous) = inputs.previous.filter(|p| *p != dir) {
        let left = hand_installed(previous);
        if !left.is_empty() {
            let names: Vec<String> = left.iter().map(|(n, v)| format!("{n} {v}")).collect();
            ui::note(&format!(
                "the environment changed; installed by hand before, and not in requirements, so left behind: {}",
                names.join(", ")
            ));
            ui::note(&format!(
                "`nixpy add --pip {}` keeps them",
                left.iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(" --pip ")
            ));
        }
    }
    prune(inputs.project, &dir, inputs.previous, inputs.keep);
    Ok(dir)
}

/// What the interpreter holds for this shell and layer.
pub(crate) fn spec_of(
    shell: &ShellEnv,
    facts: &InterpreterFacts,
    layer: Option<&LayerRef>,
) -> VenvSpec {
    let layer_site = layer.and_then(LayerRef::site_packages);
    let layer_bin = layer.map(|l| l.dir.join("bin")).filter(|b| b.is_dir());
    VenvSpec {
        base_python: shell.base_python.clone(),
        version: facts.version.clone(),
        minor: facts.minor_version(),
        layer_pth: layer_site.as_deref().is_some_and(has_pth),
        layer_site: layer_site.map(|p| p.display().to_string()),
        layer_bin: layer_bin.map(|p| p.display().to_string()),
        nix_pth: has_pth(Path::new(&shell.site_packages)),
        nix_site: shell.site_packages.clone(),
        env_path: shell.path.clone(),
        preload: layer
            .map(|l| preload::libraries_to_preload(&l.dists, &shell.library_path))
            .unwrap_or_default(),
    }
}

fn has_pth(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".pth"))
    })
}

/// Removes the project's interpreters other than the current one, the one
/// it replaces (a process started before the change may still run that
/// one) and those other environments of the project use (`keep`).
fn prune(project: &ProjectDir, current: &Path, previous: Option<&Path>, keep: &[PathBuf]) {
    let Ok(entries) = std::fs::read_dir(project.venvs()) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let kept = path == current || Some(path.as_path()) == previous || keep.contains(&path);
        if !kept && (write::is_being_written(&name) || !name.starts_with('.')) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}
