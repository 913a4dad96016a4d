//! Temporary projects: their folders, files, cache folder and what nixpy
//! leaves there (the lock, the cache entry).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::*;

/// A temporary project folder, plus a cache folder of its own.
pub(crate) struct Project {
    /// Held so the folder lives as long as the project (removed on drop).
    dir: tempfile::TempDir,
    root: PathBuf,
    cache: tempfile::TempDir,
}

/// A temporary folder under /tmp, world-readable, removed on drop.
pub(crate) fn temp_dir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(TMP_ROOT)
        .expect("create a folder under /tmp");
    set_mode(dir.path(), 0o755);
    dir
}

impl Project {
    /// An empty project folder; add files with [`Project::file`].
    pub(crate) fn new() -> Project {
        let dir = temp_dir("nixpy-it-project-");
        // Canonical, so tests can compare it with NIXPY_PROJECT.
        let root = dir.path().canonicalize().unwrap();
        Project {
            dir,
            root,
            cache: temp_dir("nixpy-it-cache-"),
        }
    }

    /// A project whose only file is `nixpy.toml` with this text.
    pub(crate) fn with_manifest(nixpy_toml: &str) -> Project {
        Project::new().file("nixpy.toml", nixpy_toml)
    }

    /// Writes `rel` (creating folders), and returns the project for chaining.
    pub(crate) fn file(self, rel: &str, contents: &str) -> Project {
        self.write(rel, contents);
        self
    }

    pub(crate) fn write(&self, rel: &str, contents: &str) {
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Creates a folder (and parents) inside the project.
    pub(crate) fn mkdir(&self, rel: &str) -> PathBuf {
        let path = self.root.join(rel);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub(crate) fn read(&self, rel: &str) -> String {
        let path = self.root.join(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// This project's own cache folder (the default NIXPY_CACHE_DIR).
    pub(crate) fn cache_dir(&self) -> &Path {
        self.cache.path()
    }

    /// Every file and folder in the project, as sorted relative paths.
    pub(crate) fn listing(&self) -> BTreeSet<String> {
        walk(&self.root)
            .into_iter()
            .map(|p| p.strip_prefix(&self.root).unwrap().display().to_string())
            .collect()
    }
}

impl Default for Project {
    fn default() -> Self {
        Project::new()
    }
}

/// All paths below `dir` (files, folders and symlinks; symlinks not followed).
pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

/// A TOML basic string holding exactly `text`.
pub(crate) fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => write!(out, "\\u{:04X}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A requirements.txt of `lines`, installed from the project's `wheels/`
/// folder only (no index).
pub(crate) fn local_requirements(lines: &[&str]) -> String {
    let mut text = String::from("--no-index\n--find-links ./wheels\n");
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}
pub(crate) fn read_lock(project: &Project) -> toml::Value {
    let text = project.read("nixpy.lock");
    toml::from_str(&text).unwrap_or_else(|e| panic!("nixpy.lock is not TOML: {e}\n{text}"))
}
pub(crate) fn unique_name(prefix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}-{n}", std::process::id())
}
pub(crate) fn project_cache_dir(cache: &Path, project: &Project) -> PathBuf {
    let root = project.root().as_os_str().as_encoded_bytes();
    let mut hasher = blake3::Hasher::new();
    hasher.update(&(root.len() as u64).to_le_bytes());
    hasher.update(root);
    let id = hasher.finalize().to_hex()[..32].to_owned();
    cache.join("v1/projects").join(id)
}
pub(crate) fn read_entry(cache: &Path, project: &Project) -> Option<serde_json::Value> {
    let bytes = std::fs::read(project_cache_dir(cache, project).join("entry.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}
pub(crate) fn scratch_package_nix(name: &str, sleep_secs: u32) -> String {
    // The EXIT trap is the stand-in's holdLogUntilExit (see pkgs.nix): without
    // it Nix 2.8 may report a builder that succeeded as killed by signal 9.
    let script = format!(
        "trap '( while read -r _ _ s _ 2>/dev/null < /proc/$$/stat && [ \"$s\" != Z ]; do :; done ) &' EXIT\n\
         : {name}\n\
         /bin/sleep {sleep_secs}\n\
         /bin/mkdir -p \"$out/bin\"\n\
         printf '#!/bin/sh\\necho \"%s ok\"\\n' {name} > \"$out/bin/{name}\"\n\
         /bin/chmod +x \"$out/bin/{name}\"\n"
    );
    format!(
        "{{ pkgs, ... }}: [ (builtins.derivation {{ name = {}; system = builtins.currentSystem; builder = \"/bin/bash\"; args = [ \"-c\" {} ]; }}) ]\n",
        nix_string(name),
        nix_string(&script)
    )
}
