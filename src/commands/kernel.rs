//! `nixpy kernel install|remove`: a Jupyter kernelspec whose kernel is the
//! project interpreter (through the project's `.venv` link when there is
//! one, so the kernel follows environment changes), started with the
//! environment's variables. The interpreter itself brings the pip layer,
//! the Nix packages, the native libraries and the environment's PATH.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::build::{self, Context};
use crate::cli::{KernelCommand, KernelInstallArgs, KernelRemoveArgs};
use crate::error::{Error, Result};
use crate::project::manifest::{self, VenvLink};
use crate::support::atomic_write;
use crate::ui;

pub(super) fn run(ctx: &Context, command: KernelCommand) -> Result<i32> {
    match command {
        KernelCommand::Install(args) => install(ctx, args),
        KernelCommand::Remove(args) => remove(ctx, &args),
    }
}

fn install(ctx: &Context, args: KernelInstallArgs) -> Result<i32> {
    let entry = build::prepare(ctx, args.build.into())?;
    let location = ctx.locate()?;
    let manifest = manifest::load(&location.manifest, location.kind)?;
    let Some(venv) = entry.venv.clone() else {
        return Err(Error::new("the environment has no project interpreter")
            .with_hint("run `nixpy run --refresh -- true`, then install the kernel again"));
    };
    // The link when it points at this interpreter: it moves with the
    // environment, so the kernel never runs a stale one.
    let prefix = match &manifest.venv {
        VenvLink::At(link) if std::fs::read_link(link).is_ok_and(|t| t == venv) => link.clone(),
        _ => venv.clone(),
    };
    let python = prefix.join("bin/python");
    let has_ipykernel = duct::cmd(
        &python,
        [
            "-c",
            "import importlib.util, sys; sys.exit(importlib.util.find_spec('ipykernel') is None)",
        ],
    )
    .stdin_null()
    .stdout_null()
    .stderr_null()
    .unchecked()
    .run()
    .is_ok_and(|o| o.status.success());
    if !has_ipykernel {
        return Err(Error::new("ipykernel is not in the project's environment, so a kernel could not start")
            .with_hint("`nixpy add --pip ipykernel` (or `nixpy add --python ipykernel`), then install the kernel again"));
    }
    let name = kernel_name(args.name.as_deref(), &location.root)?;
    let display = args
        .display_name
        .unwrap_or_else(|| format!("Python ({}, nixpy)", folder_name(&location.root)));
    // The command's variables, as `nixpy run` sets them (PATH is the
    // interpreter's own business: it puts the environment's first).
    let mut env = serde_json::Map::new();
    for (k, v) in &entry.env.set {
        env.insert(k.clone(), json!(v));
    }
    for (k, v) in &entry.env.project {
        env.insert(k.clone(), json!(v.to_string_lossy()));
    }
    env.insert("VIRTUAL_ENV".into(), json!(prefix.display().to_string()));
    env.insert("NIXPY_PYTHON".into(), json!(python.display().to_string()));
    let spec = json!({
        "argv": [python.display().to_string(), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display,
        "language": "python",
        "env": env,
        "metadata": {"nixpy": {"project": location.root.display().to_string()}},
    });
    let dir = kernels_dir()?.join(&name);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create folder", &dir, e))?;
    atomic_write::write_project_file(
        &dir.join("kernel.json"),
        (serde_json::to_string_pretty(&spec).expect("kernelspec serialises") + "\n").as_bytes(),
    )?;
    ui::status(&format!(
        "installed the Jupyter kernel {name} ({display}) in {}",
        dir.display()
    ));
    if !matches!(manifest.venv, VenvLink::At(_)) {
        ui::note("with `venv = false` the kernel runs this environment's interpreter: install it again after the environment changes");
    }
    Ok(0)
}

fn remove(ctx: &Context, args: &KernelRemoveArgs) -> Result<i32> {
    let location = ctx.locate()?;
    let name = kernel_name(args.name.as_deref(), &location.root)?;
    let dir = kernels_dir()?.join(&name);
    let spec: Option<serde_json::Value> = std::fs::read(dir.join("kernel.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let Some(spec) = spec else {
        return Err(Error::new(format!(
            "there is no Jupyter kernel {name} in {}",
            dir.display()
        ))
        .with_hint("`jupyter kernelspec list` shows the installed kernels; pass --name"));
    };
    if spec.pointer("/metadata/nixpy").is_none() {
        return Err(Error::new(format!(
            "the Jupyter kernel {name} was not installed by nixpy; nixpy leaves it alone"
        ))
        .with_hint("remove it with `jupyter kernelspec remove`"));
    }
    std::fs::remove_dir_all(&dir).map_err(|e| Error::io("remove", &dir, e))?;
    ui::status(&format!("removed the Jupyter kernel {name}"));
    Ok(0)
}

/// `--name`, or `nixpy-<project folder>`, as Jupyter accepts kernel names.
fn kernel_name(given: Option<&str>, root: &Path) -> Result<String> {
    let name = match given {
        Some(name) => name.to_owned(),
        None => {
            let folder: String = folder_name(root)
                .to_lowercase()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._-".contains(c) {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            format!("nixpy-{folder}")
        }
    };
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !valid {
        return Err(Error::new(format!("`{name}` is not a Jupyter kernel name"))
            .with_hint("use letters, digits, `.`, `_` and `-`"));
    }
    Ok(name)
}

fn folder_name(root: &Path) -> String {
    root.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".to_owned())
}

/// Where the user's kernelspecs go: `$JUPYTER_DATA_DIR/kernels`, else the
/// XDG data folder's `jupyter/kernels` (as jupyter_core finds it on Linux).
fn kernels_dir() -> Result<PathBuf> {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let data = if let Some(dir) = env("JUPYTER_DATA_DIR") {
        dir
    } else if let Some(dir) = env("XDG_DATA_HOME").filter(|d| d.is_absolute()) {
        dir.join("jupyter")
    } else if let Some(home) = env("HOME") {
        if cfg!(target_os = "macos") {
            home.join("Library/Jupyter")
        } else {
            home.join(".local/share/jupyter")
        }
    } else {
        return Err(
            Error::new("cannot find the Jupyter data folder: HOME is not set")
                .with_hint("set JUPYTER_DATA_DIR"),
        );
    };
    Ok(data.join("kernels"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_names_default_to_the_project_folder() {
        assert_eq!(
            kernel_name(None, Path::new("/home/u/My Proj")).unwrap(),
            "nixpy-my-proj"
        );
        assert_eq!(kernel_name(Some("lab"), Path::new("/p")).unwrap(), "lab");
        assert!(kernel_name(Some("a b"), Path::new("/p")).is_err());
    }
}
