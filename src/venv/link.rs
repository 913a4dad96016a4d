//! The project's link to its interpreter (`.venv` by default, key `venv`),
//! where editors, pyright and uv look. Replaced atomically (a new link
//! renamed over the old), never half there; a `.venv` nixpy did not make
//! is never touched.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::layout::ProjectDir;
use crate::project::manifest::{VenvLink, DEFAULT_VENV};
use crate::ui;

/// What stands where a link goes.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Nothing,
    /// A link nixpy made (to a project interpreter in some nixpy cache).
    Ours(PathBuf),
    /// A folder, a file, or a link to anything else.
    Foreign,
}

fn inspect(link: &Path) -> Found {
    match std::fs::symlink_metadata(link) {
        Err(_) => Found::Nothing,
        Ok(meta) if meta.file_type().is_symlink() => match std::fs::read_link(link) {
            Ok(target) if is_project_interpreter_path(&target) => Found::Ours(target),
            _ => Found::Foreign,
        },
        Ok(_) => Found::Foreign,
    }
}

/// `.../projects/<id>/venvs/<key>`: where nixpy keeps project interpreters.
fn is_project_interpreter_path(path: &Path) -> bool {
    let names: Vec<String> = path
        .components()
        .rev()
        .take(4)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let hex = |s: &String| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    matches!(names.as_slice(), [key, venvs, id, projects]
        if hex(key) && venvs == "venvs" && hex(id) && projects == "projects")
}

/// Points the project's link at `venv` as `setting` says, and removes
/// nixpy's own link at the default place when the setting moved it away.
pub(crate) fn update(
    setting: &VenvLink,
    root: &Path,
    project: &ProjectDir,
    venv: &Path,
) -> Result<()> {
    let default = root.join(DEFAULT_VENV);
    if setting != &VenvLink::At(default.clone()) && matches!(inspect(&default), Found::Ours(_)) {
        std::fs::remove_file(&default).map_err(|e| Error::io("remove", &default, e))?;
    }
    let VenvLink::At(link) = setting else {
        return Ok(());
    };
    match inspect(link) {
        Found::Ours(target) if target == venv => Ok(()),
        Found::Ours(_) => replace(link, venv),
        Found::Nothing => {
            replace(link, venv)?;
            let relative = link.strip_prefix(root).unwrap_or(link);
            crate::project::gitignore::ignore(
                &root.join(".gitignore"),
                &relative.display().to_string(),
            )?;
            Ok(())
        }
        Found::Foreign => {
            let marker = project.venv_link_warned();
            if !marker.exists() {
                ui::warn(&format!(
                    "{} exists and nixpy did not make it: nixpy leaves it alone, so editors do not see the project's interpreter ({})",
                    link.display(),
                    venv.display()
                ));
                ui::note("set `venv = \".nixpy-venv\"` in the manifest to put nixpy's link elsewhere, or `venv = false` for none");
                let _ = std::fs::write(&marker, "");
            }
            Ok(())
        }
    }
}

/// A new link renamed over whatever link stands at `link`.
fn replace(link: &Path, target: &Path) -> Result<()> {
    if let Some(parent) = link.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create folder", parent, e))?;
    }
    let name = link
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = link.with_file_name(format!(".{name}.nixpy-tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).map_err(|e| Error::io("link", &tmp, e))?;
    std::fs::rename(&tmp, link).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("replace", link, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_links_into_a_nixpy_cache_are_ours() {
        let ours = Path::new("/c/v1/projects/0a1b/venvs/ff00");
        assert!(is_project_interpreter_path(ours));
        assert!(!is_project_interpreter_path(Path::new(
            "/home/u/.pyenv/versions/3.11"
        )));
        assert!(!is_project_interpreter_path(Path::new("venvs/ff00")));
    }

    #[test]
    fn the_link_is_made_moved_and_a_foreign_one_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("p");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
        let project = ProjectDir::at(tmp.path().join("c/v1/projects/0a1b"));
        std::fs::create_dir_all(&project.path).unwrap();
        let one = project.venv("aa");
        let two = project.venv("bb");
        let default = VenvLink::At(root.join(".venv"));
        update(&default, &root, &project, &one).unwrap();
        assert_eq!(std::fs::read_link(root.join(".venv")).unwrap(), one);
        assert_eq!(
            std::fs::read_to_string(root.join(".gitignore")).unwrap(),
            "target/\n.venv\n"
        );
        update(&default, &root, &project, &two).unwrap();
        assert_eq!(std::fs::read_link(root.join(".venv")).unwrap(), two);
        // Moved: the old link goes, the new one comes.
        let moved = VenvLink::At(root.join("env/py"));
        update(&moved, &root, &project, &two).unwrap();
        assert!(std::fs::symlink_metadata(root.join(".venv")).is_err());
        assert_eq!(std::fs::read_link(root.join("env/py")).unwrap(), two);
        // A .venv of the user's own is left as it is.
        std::fs::create_dir(root.join(".venv")).unwrap();
        update(&default, &root, &project, &one).unwrap();
        assert!(root.join(".venv").is_dir() && !root.join(".venv").is_symlink());
        update(&VenvLink::Off, &root, &project, &one).unwrap();
        assert!(root.join(".venv").is_dir());
    }
}
