//! Local projects named by the requirements (`-e .`, `-e ./lib`, `./lib`,
//! `name @ file:///...`): their metadata is an input of the resolution, so
//! editing their dependencies re-resolves and `nixpy lock --check` sees it.

use std::path::{Path, PathBuf};

use crate::project::requirements::RequirementSet;
use crate::support::hash::key_of;

/// The files a Python project's metadata comes from.
pub(crate) const METADATA_FILES: [&str; 3] = ["pyproject.toml", "setup.cfg", "setup.py"];

/// A local project folder the requirements install, and a digest of what
/// in its metadata decides the resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalProject {
    pub dir: PathBuf,
    pub metadata_digest: String,
}

impl LocalProject {
    pub(crate) fn read(dir: &Path) -> LocalProject {
        LocalProject {
            dir: dir.to_path_buf(),
            metadata_digest: metadata_digest(dir),
        }
    }

    /// The files to fingerprint (stamped even when absent: a setup.py that
    /// appears changes the project).
    pub(crate) fn metadata_files(&self) -> Vec<PathBuf> {
        METADATA_FILES.iter().map(|f| self.dir.join(f)).collect()
    }
}

/// The folders of the local projects the requirements name, each once.
pub(crate) fn local_project_dirs(set: &RequirementSet) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for requirement in set.requirements.iter().chain(&set.constraints) {
        let Some(path) = location_path(&requirement.line) else {
            continue;
        };
        if path.is_dir() && !dirs.contains(&path) {
            dirs.push(path);
        }
    }
    dirs
}

/// The local path a requirement line installs from, if it names one:
/// `-e /abs`, `/abs`, `file:///abs`, `name @ file:///abs` (options and
/// markers after it are ignored).
fn location_path(line: &str) -> Option<PathBuf> {
    let line = line.trim();
    let line = line.strip_prefix("-e ").unwrap_or(line).trim_start();
    let location = match line.split_once(" @ ") {
        Some((_, url)) => url.trim_start(),
        None => line,
    };
    let location = location
        .split(|c: char| c.is_whitespace() || c == ';')
        .next()
        .unwrap_or_default();
    let location = location.split('#').next().unwrap_or_default();
    if let Some(rest) = location.strip_prefix("file://") {
        return Some(PathBuf::from(percent_decode(rest)));
    }
    if let Some(rest) = location.strip_prefix("file:") {
        return Some(PathBuf::from(percent_decode(rest)));
    }
    location.starts_with('/').then(|| PathBuf::from(location))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What in a project's metadata decides the resolution: the static
/// `[project]` fields (name, version, dependencies, optional dependencies,
/// requires-python) when pyproject.toml declares its dependencies
/// statically, else every metadata file whole (setup.py may compute them).
fn metadata_digest(dir: &Path) -> String {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    if let Some(fields) = read("pyproject.toml").as_deref().and_then(static_fields) {
        return key_of(&[b"static", fields.as_bytes()]);
    }
    let contents: Vec<String> = METADATA_FILES
        .iter()
        .map(|name| match read(name) {
            Some(text) => format!("{name}\n{text}"),
            None => format!("{name} absent"),
        })
        .collect();
    key_of(&contents.iter().map(String::as_bytes).collect::<Vec<_>>())
}

/// The resolution-relevant `[project]` fields as JSON, when the
/// dependencies are declared statically.
fn static_fields(pyproject: &str) -> Option<String> {
    let table: toml::Table = toml::from_str(pyproject).ok()?;
    let project = table.get("project")?.as_table()?;
    let dynamic: Vec<&str> = project
        .get("dynamic")
        .and_then(toml::Value::as_array)
        .map(|list| list.iter().filter_map(toml::Value::as_str).collect())
        .unwrap_or_default();
    if dynamic
        .iter()
        .any(|field| matches!(*field, "dependencies" | "optional-dependencies"))
    {
        return None;
    }
    let field = |key: &str| project.get(key).cloned();
    let fields = serde_json::json!({
        "name": field("name"),
        "version": field("version"),
        "dependencies": field("dependencies"),
        "optional-dependencies": field("optional-dependencies"),
        "requires-python": field("requires-python"),
    });
    Some(fields.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_found_in_every_spelling() {
        for (line, want) in [
            ("-e /p/lib", Some("/p/lib")),
            ("/p/lib", Some("/p/lib")),
            ("-e file:///p/a%23b", Some("/p/a#b")),
            (
                "lib @ file:///p/lib ; python_version >= '3'",
                Some("/p/lib"),
            ),
            ("-e /p/lib#egg=lib", Some("/p/lib")),
            ("rich>=13", None),
            ("foo @ https://example.org/foo.tar.gz", None),
        ] {
            assert_eq!(location_path(line), want.map(PathBuf::from), "{line}");
        }
    }

    fn digest_of(pyproject: &str) -> String {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("pyproject.toml"), pyproject).unwrap();
        metadata_digest(tmp.path())
    }

    #[test]
    fn the_digest_follows_the_dependencies_not_the_rest() {
        let base = "[project]\nname = \"lib\"\nversion = \"0.1\"\ndependencies = [\"rich\"]\n";
        let with_tool = format!("{base}\n[tool.black]\nline-length = 100\n");
        assert_eq!(
            digest_of(base),
            digest_of(&with_tool),
            "other tables do not count"
        );
        let more = base.replace("[\"rich\"]", "[\"rich\", \"tqdm\"]");
        assert_ne!(digest_of(base), digest_of(&more));
        let bumped = base.replace("0.1", "0.2");
        assert_ne!(digest_of(base), digest_of(&bumped));
    }

    #[test]
    fn dynamic_dependencies_take_every_file_whole() {
        let dynamic = "[project]\nname = \"lib\"\ndynamic = [\"dependencies\"]\n";
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("pyproject.toml"), dynamic).unwrap();
        std::fs::write(tmp.path().join("setup.py"), "install_requires=['rich']").unwrap();
        let before = metadata_digest(tmp.path());
        std::fs::write(tmp.path().join("setup.py"), "install_requires=['tqdm']").unwrap();
        assert_ne!(before, metadata_digest(tmp.path()));
    }
}
