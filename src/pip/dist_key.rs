//! The key of one installed distribution: everything its installed bytes
//! depend on, so the same key gives the same store path on every machine,
//! and a store path is reused by every layer and project whose pins
//! include it.
//!
//! A pin from an index is named by its version and artifact hashes; a
//! local file or folder (a path requirement, an editable install) by its
//! location and what it holds; and every key by the interpreter's version
//! and bytecode tag, the platform and the installer.

use std::path::{Path, PathBuf};

use super::interpreter::InterpreterFacts;
use crate::project::lockfile::{localized, LockedPackage};
use crate::support::hash::key_of;

/// What a key is made of besides the pin.
pub(super) struct KeyContext<'a> {
    pub facts: &'a InterpreterFacts,
    /// `uv` or `pip`: their installs differ in a few bytes (INSTALLER,
    /// script launchers).
    pub installer: &'a str,
    /// The requirements' index options, which name what an unhashed pin is.
    pub index_args: &'a [String],
    pub project_root: &'a Path,
}

/// The key of `pin` installed in `ctx`.
pub(super) fn dist_key(pin: &LockedPackage, ctx: &KeyContext<'_>) -> String {
    let requirement = localized(&pin.requirement, ctx.project_root);
    let artifact = if pin.hashes.is_empty() {
        // Nothing names the bytes: the requirement, where it is resolved
        // from, and for local files and folders what they hold.
        let local = local_location(&requirement, ctx.project_root)
            .map(|path| local_contents(&path, requirement.starts_with("-e ")))
            .unwrap_or_default();
        format!("{requirement}\n{}\n{local}", ctx.index_args.join(" "))
    } else {
        let mut hashes = pin.hashes.clone();
        hashes.sort();
        let local = local_location(&requirement, ctx.project_root)
            .map(|path| local_contents(&path, false))
            .unwrap_or_default();
        format!("{requirement}\n{}\n{local}", hashes.join(","))
    };
    // A direct reference's name and version come from what it installs
    // (the lock learns them after the first install): its location and
    // contents name it, so its key is the same before and after.
    let (name, version) = if is_direct(&requirement) {
        ("", "")
    } else {
        (pin.name.as_str(), pin.version.as_str())
    };
    key_of(&[
        b"nixpy-dist-1",
        name.as_bytes(),
        version.as_bytes(),
        artifact.as_bytes(),
        ctx.facts.version.as_bytes(),
        ctx.facts.cache_tag.as_bytes(),
        crate::flake::current_system().as_bytes(),
        ctx.installer.as_bytes(),
    ])
}

/// An editable install, a URL or a path: not `name==version` from an index.
fn is_direct(requirement: &str) -> bool {
    let requirement = requirement.split(';').next().unwrap_or_default();
    requirement.starts_with("-e ") || requirement.contains(" @ ") || !requirement.contains("==")
}

/// The key a distribution built here from source is indexed under: also
/// keyed on the Nix shell it was built in (its compiler and libraries).
pub(super) fn built_here_key(key: &str, build_env: &str) -> String {
    format!("{key}.{build_env}")
}

/// The local file or folder a requirement installs from, if any:
/// `-e ./pkg`, `./dist/x.whl`, `name @ file:///abs/x.whl`.
pub(super) fn local_location(requirement: &str, root: &Path) -> Option<PathBuf> {
    let location = requirement.trim_start_matches("-e ").trim();
    let location = location
        .split_once(" @ ")
        .map_or(location, |(_, url)| url)
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    let path = if let Some(rest) = location.strip_prefix("file://") {
        PathBuf::from(rest)
    } else if location.starts_with('/') || location.starts_with("./") || location.starts_with("../")
    {
        root.join(location)
    } else {
        return None;
    };
    Some(path)
}

/// A hash of what a local requirement holds: a file's bytes; a folder's
/// metadata files when it is installed editable (its source is read in
/// place, only the metadata is installed), else all its files.
fn local_contents(path: &Path, editable: bool) -> String {
    if path.is_file() {
        return std::fs::read(path)
            .map(|bytes| key_of(&[&bytes]))
            .unwrap_or_default();
    }
    let mut files: Vec<PathBuf> = if editable {
        ["pyproject.toml", "setup.py", "setup.cfg"]
            .iter()
            .map(|f| path.join(f))
            .filter(|p| p.is_file())
            .collect()
    } else {
        source_files(path)
    };
    files.sort();
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for file in files {
        let relative = file.strip_prefix(path).unwrap_or(&file);
        parts.push(relative.as_os_str().as_encoded_bytes().to_vec());
        parts.push(std::fs::read(&file).unwrap_or_default());
    }
    let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    key_of(&parts)
}

/// The files of a source folder, without version control, caches and
/// build output.
fn source_files(dir: &Path) -> Vec<PathBuf> {
    const SKIPPED: [&str; 7] = [
        ".git",
        ".hg",
        "__pycache__",
        ".venv",
        "build",
        "dist",
        ".tox",
    ];
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if SKIPPED.contains(&name.as_ref()) || name.ends_with(".egg-info") {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push(entry.path()),
                Ok(t) if t.is_file() => files.push(entry.path()),
                _ => {}
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> InterpreterFacts {
        InterpreterFacts {
            provided: Vec::new(),
            version: "3.11.2".into(),
            cache_tag: "cpython-311".into(),
        }
    }

    fn pin(requirement: &str, hashes: &[&str]) -> LockedPackage {
        LockedPackage {
            name: "x".into(),
            version: "1.0".into(),
            requirement: requirement.into(),
            hashes: hashes.iter().map(|h| (*h).to_owned()).collect(),
            groups: Vec::new(),
        }
    }

    #[test]
    fn a_key_names_the_artifact_the_interpreter_and_the_installer() {
        let facts = facts();
        let ctx = KeyContext {
            facts: &facts,
            installer: "uv",
            index_args: &[],
            project_root: Path::new("/p"),
        };
        let key = dist_key(&pin("x==1.0", &["sha256:a"]), &ctx);
        assert_eq!(key, dist_key(&pin("x==1.0", &["sha256:a"]), &ctx));
        assert_ne!(key, dist_key(&pin("x==1.0", &["sha256:b"]), &ctx));
        let other_python = InterpreterFacts {
            version: "3.12.1".into(),
            cache_tag: "cpython-312".into(),
            ..facts.clone()
        };
        let pip = KeyContext {
            installer: "pip",
            ..ctx
        };
        assert_ne!(key, dist_key(&pin("x==1.0", &["sha256:a"]), &pip));
        let ctx = KeyContext {
            facts: &other_python,
            installer: "uv",
            index_args: &[],
            project_root: Path::new("/p"),
        };
        assert_ne!(key, dist_key(&pin("x==1.0", &["sha256:a"]), &ctx));
    }

    #[test]
    fn local_requirements_are_keyed_on_what_they_hold() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("dist")).unwrap();
        std::fs::write(root.join("dist/x-1.0-py3-none-any.whl"), "one").unwrap();
        let facts = facts();
        let ctx = KeyContext {
            facts: &facts,
            installer: "uv",
            index_args: &[],
            project_root: root,
        };
        let requirement = "x @ file://${PROJECT_ROOT}/dist/x-1.0-py3-none-any.whl";
        let before = dist_key(&pin(requirement, &[]), &ctx);
        std::fs::write(root.join("dist/x-1.0-py3-none-any.whl"), "two").unwrap();
        assert_ne!(before, dist_key(&pin(requirement, &[]), &ctx));
        // An editable folder: its metadata, not its source.
        std::fs::create_dir_all(root.join("pkg/src")).unwrap();
        std::fs::write(root.join("pkg/pyproject.toml"), "[project]\n").unwrap();
        std::fs::write(root.join("pkg/src/m.py"), "A = 1\n").unwrap();
        let editable = dist_key(&pin("-e ./pkg", &[]), &ctx);
        std::fs::write(root.join("pkg/src/m.py"), "A = 2\n").unwrap();
        assert_eq!(editable, dist_key(&pin("-e ./pkg", &[]), &ctx));
        std::fs::write(root.join("pkg/pyproject.toml"), "[project]\nname = 'y'\n").unwrap();
        assert_ne!(editable, dist_key(&pin("-e ./pkg", &[]), &ctx));
    }

    #[test]
    fn local_locations_are_found_in_each_form() {
        let root = Path::new("/p");
        assert_eq!(
            local_location("-e file:///src/pkg", root),
            Some(PathBuf::from("/src/pkg"))
        );
        assert_eq!(
            local_location("-e ./pkg", root),
            Some(PathBuf::from("/p/./pkg"))
        );
        assert_eq!(
            local_location("x @ file:///w/x.whl ; python_version > '3'", root),
            Some(PathBuf::from("/w/x.whl"))
        );
        assert_eq!(local_location("x==1.0", root), None);
        assert_eq!(local_location("x @ https://e.org/x.whl", root), None);
    }
}
