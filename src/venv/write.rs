//! Writing a project interpreter's folder: in a temporary folder beside its
//! place, renamed into place when complete, so a folder that exists is
//! whole. Its files name the final folder (console scripts' shebangs,
//! PATH), which is known before it is written.

use std::path::{Path, PathBuf};

use super::spec::{script_header, VenvSpec, PTH_FILE, SPEC_FILE, STARTUP_MODULE};
use crate::error::{Error, Result};
use crate::layout::ProjectDir;
use crate::support::atomic_write;

/// The project interpreter for `spec` in the project's cache folder:
/// reused when it exists, else written.
pub(crate) fn ensure(project: &ProjectDir, spec: &VenvSpec) -> Result<PathBuf> {
    let target = project.venv(&spec.key());
    if target.join("pyvenv.cfg").is_file() {
        return Ok(target);
    }
    let venvs = project.venvs();
    atomic_write::create_private_dir(&venvs)?;
    let tmp = atomic_write::private_tempdir_in(&venvs, ProjectDir::venv_writing_prefix())?;
    write(tmp.path(), &target, spec)?;
    if let Err(e) = std::fs::rename(tmp.path(), &target) {
        if !target.join("pyvenv.cfg").is_file() {
            return Err(Error::io("publish the project interpreter", &target, e));
        }
    }
    Ok(target)
}

/// Writes the venv's files into `dir`, naming `final_dir` where it will be.
fn write(dir: &Path, final_dir: &Path, spec: &VenvSpec) -> Result<()> {
    let bin = dir.join("bin");
    let site = dir.join(format!("lib/python{}/site-packages", spec.minor));
    for folder in [&bin, &site] {
        atomic_write::create_private_dir(folder)?;
    }
    put(&dir.join("pyvenv.cfg"), &spec.pyvenv_cfg())?;
    for name in [
        "python".to_owned(),
        "python3".to_owned(),
        format!("python{}", spec.minor),
    ] {
        let link = bin.join(&name);
        std::os::unix::fs::symlink(&spec.base_python, &link)
            .map_err(|e| Error::io("link", &link, e))?;
    }
    let final_bin = final_dir.join("bin");
    if let Some(layer_bin) = &spec.layer_bin {
        console_scripts(
            Path::new(layer_bin),
            &bin,
            &final_bin.join("python").display().to_string(),
        )?;
    }
    put(&site.join(PTH_FILE), &spec.pth())?;
    put(
        &site.join(format!("{STARTUP_MODULE}.py")),
        &spec.startup_module(&final_bin.display().to_string()),
    )?;
    put(
        &dir.join(SPEC_FILE),
        &serde_json::to_string_pretty(spec).expect("spec serialises"),
    )
}

/// The layer's scripts in the venv's bin/: a copy run by the venv's python
/// for each `#!python` script (as an installer would have written it into
/// the venv), a link for any other (a `#!/bin/sh` script, a binary).
fn console_scripts(layer_bin: &Path, bin: &Path, python: &str) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(layer_bin) else {
        return Ok(());
    };
    let header = script_header(python);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let dest = bin.join(&name);
        if dest.exists() {
            continue;
        }
        let source = entry.path();
        let body = std::fs::read(&source).ok();
        match body.as_deref().and_then(python_script_body) {
            Some(rest) => {
                let mut text = header.clone().into_bytes();
                text.extend_from_slice(rest);
                std::fs::write(&dest, text).map_err(|e| Error::io("write", &dest, e))?;
                set_mode(&dest, 0o755)?;
            }
            None => {
                std::os::unix::fs::symlink(&source, &dest)
                    .map_err(|e| Error::io("link", &dest, e))?;
            }
        }
    }
    Ok(())
}

/// The script after `#!python`, the placeholder line the layer keeps.
fn python_script_body(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(b"#!python")?;
    let end = rest.iter().position(|&b| b == b'\n')?;
    rest[..end]
        .iter()
        .all(u8::is_ascii_whitespace)
        .then_some(&rest[end + 1..])
}

/// Writes a file of the venv, its mode fixed whatever the umask.
fn put(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io("write", path, e))?;
    set_mode(path, 0o644)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("set the permissions of", path, e))
}

/// Is `name` (in [`ProjectDir::venvs`]) a folder being written?
pub(super) fn is_being_written(name: &str) -> bool {
    name.starts_with(ProjectDir::venv_writing_prefix())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_scripts_are_recognised_by_their_placeholder() {
        assert_eq!(
            python_script_body(b"#!python\nimport x\n"),
            Some(&b"import x\n"[..])
        );
        assert_eq!(python_script_body(b"#!python \nx"), Some(&b"x"[..]));
        assert_eq!(python_script_body(b"#!python3\nx"), None);
        assert_eq!(python_script_body(b"#!/bin/sh\nx"), None);
    }

    #[test]
    fn a_written_venv_has_its_scripts_and_files() {
        let tmp = tempfile::tempdir().unwrap();
        let layer_bin = tmp.path().join("layer/bin");
        std::fs::create_dir_all(&layer_bin).unwrap();
        std::fs::write(layer_bin.join("greet"), "#!python\nimport greet\n").unwrap();
        std::fs::write(layer_bin.join("tool.sh"), "#!/bin/sh\necho\n").unwrap();
        let project = ProjectDir::at(tmp.path().join("project"));
        let spec = VenvSpec {
            base_python: "/usr/bin/python3.11".into(),
            version: "3.11.2".into(),
            minor: "3.11".into(),
            layer_site: None,
            layer_bin: Some(layer_bin.display().to_string()),
            layer_pth: false,
            nix_site: "/nix/store/e/lib/python3.11/site-packages".into(),
            nix_pth: false,
            env_path: Vec::new(),
            preload: Vec::new(),
        };
        let venv = ensure(&project, &spec).unwrap();
        assert_eq!(venv, project.venv(&spec.key()));
        assert_eq!(
            std::fs::read_to_string(venv.join("bin/greet")).unwrap(),
            format!("#!{}/bin/python\nimport greet\n", venv.display())
        );
        assert_eq!(
            std::fs::read_link(venv.join("bin/tool.sh")).unwrap(),
            layer_bin.join("tool.sh")
        );
        assert_eq!(
            std::fs::read_link(venv.join("bin/python3.11")).unwrap(),
            Path::new("/usr/bin/python3.11")
        );
        assert!(venv
            .join("lib/python3.11/site-packages/_nixpy.pth")
            .is_file());
        // Written once: the same spec finds it.
        assert_eq!(ensure(&project, &spec).unwrap(), venv);
        let names: Vec<_> = std::fs::read_dir(project.venvs())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}
