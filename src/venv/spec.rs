//! What a project interpreter holds, and its files' texts: pure, so the
//! same environment gives the same folder (content-keyed) and the texts
//! can be tested without writing anything.
//!
//! The interpreter is a PEP 405 venv on the Nix base interpreter. Its
//! `_nixpy.pth` lists the pip layer and the Nix environment's
//! site-packages as plain path lines (static tools such as pyright read
//! them without running anything), then imports `_nixpy_env`, which at
//! start-up processes those folders' own .pth files, preloads the native
//! libraries the layer's extension modules need (only when they need any)
//! and puts the environment's PATH entries that are missing in front, so
//! the interpreter started bare by an editor finds the environment's tools.

use serde::{Deserialize, Serialize};

use crate::support::hash::key_of;

/// The start-up module's name (`_nixpy.pth` imports it).
pub(super) const STARTUP_MODULE: &str = "_nixpy_env";
pub(super) const PTH_FILE: &str = "_nixpy.pth";
/// The spec, kept in the folder for `nixpy show` and `nixpy kernel`.
pub(super) const SPEC_FILE: &str = "nixpy-venv.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VenvSpec {
    /// The unwrapped base interpreter (`bin/python` links to it).
    pub base_python: String,
    /// `3.11.2`.
    pub version: String,
    /// `3.11`.
    pub minor: String,
    /// The pip layer's site-packages and bin/, when there is a layer.
    pub layer_site: Option<String>,
    pub layer_bin: Option<String>,
    /// Whether the layer's site-packages has .pth files to process.
    pub layer_pth: bool,
    /// The Nix environment's site-packages (the `python-packages`).
    pub nix_site: String,
    pub nix_pth: bool,
    /// The environment's PATH entries (after the venv's own bin/).
    pub env_path: Vec<String>,
    /// Library files to load before anything imports.
    pub preload: Vec<String>,
}

impl VenvSpec {
    /// The folder's key: everything in it depends on the spec and on this
    /// nixpy's texts.
    pub(crate) fn key(&self) -> String {
        let json = serde_json::to_vec(self).expect("spec serialises");
        key_of(&[env!("CARGO_PKG_VERSION").as_bytes(), &json])
    }

    pub(super) fn pyvenv_cfg(&self) -> String {
        let home = std::path::Path::new(&self.base_python)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        format!(
            "home = {home}\ninclude-system-site-packages = false\nversion = {}\nexecutable = {}\nnixpy = {}\n",
            self.version,
            self.base_python,
            env!("CARGO_PKG_VERSION")
        )
    }

    /// Path lines first (for static tools), then the start-up module.
    pub(super) fn pth(&self) -> String {
        let mut text = String::new();
        for dir in self.layer_site.iter().chain([&self.nix_site]) {
            if !dir.is_empty() {
                text.push_str(dir);
                text.push('\n');
            }
        }
        text.push_str(&format!("import {STARTUP_MODULE}\n"));
        text
    }

    /// The start-up module, for the venv whose bin/ is `venv_bin`.
    pub(super) fn startup_module(&self, venv_bin: &str) -> String {
        let literal = |v: &str| serde_json::to_string(v).expect("string serialises");
        let list = |items: &[String]| serde_json::to_string(items).expect("list serialises");
        let sitedirs: Vec<String> = [
            (self.layer_site.as_deref(), self.layer_pth),
            (Some(self.nix_site.as_str()), self.nix_pth),
        ]
        .iter()
        .filter_map(|(dir, pth)| dir.filter(|d| *pth && !d.is_empty()).map(str::to_owned))
        .collect();
        let path: Vec<String> = std::iter::once(venv_bin.to_owned())
            .chain(self.env_path.iter().cloned())
            .collect();
        format!(
            r#"# Written by nixpy: the project's environment, added when this
# interpreter starts (through _nixpy.pth). Rewritten with the environment.
import os as _os, sys as _sys


def _nixpy_env(sitedirs, preload, path):
    if sitedirs:
        # Their .pth files, each folder's additions right after it.
        import site
        for sitedir in sitedirs:
            before = len(_sys.path)
            site.addsitedir(sitedir)
            added = _sys.path[before:]
            if added:
                del _sys.path[before:]
                at = _sys.path.index(sitedir) + 1 if sitedir in _sys.path else before
                _sys.path[at:at] = added
    if preload:
        # Libraries the layer's extension modules need (no LD_LIBRARY_PATH
        # for the rest of the environment).
        import _ctypes
        for library in preload:
            try:
                _ctypes.dlopen(library, _os.RTLD_NOW | _os.RTLD_GLOBAL)
            except OSError:
                pass
    current = _os.environ.get("PATH")
    entries = current.split(_os.pathsep) if current else []
    missing = [p for p in path if p not in entries]
    if missing:
        # Without PATH, programs are looked up in os.defpath: keep it.
        rest = entries if current else _os.defpath.split(_os.pathsep)
        _os.environ["PATH"] = _os.pathsep.join(missing + rest)


_nixpy_env({sitedirs}, {preload}, {path})
del _nixpy_env
# {version}
"#,
            sitedirs = list(&sitedirs),
            preload = list(&self.preload),
            path = list(&path),
            version = literal(env!("CARGO_PKG_VERSION")),
        )
    }
}

/// The first line of a console script run by `python` (a path in the
/// venv): a shebang when the kernel can take it, else the `/bin/sh`
/// trampoline installers use for long paths and paths with spaces.
pub(super) fn script_header(python: &str) -> String {
    let fits = python.len() + 3 <= 127 && !python.contains(char::is_whitespace);
    if fits {
        format!("#!{python}\n")
    } else {
        let quoted: String = python
            .chars()
            .flat_map(|c| {
                if matches!(c, '"' | '$' | '`' | '\\') {
                    vec!['\\', c]
                } else {
                    vec![c]
                }
            })
            .collect();
        format!("#!/bin/sh\n'''exec' \"{quoted}\" \"$0\" \"$@\"\n' '''\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> VenvSpec {
        VenvSpec {
            base_python: "/nix/store/p-python3/bin/python3.11".into(),
            version: "3.11.2".into(),
            minor: "3.11".into(),
            layer_site: Some("/nix/store/l-nixpy-layer/lib/python3.11/site-packages".into()),
            layer_bin: None,
            layer_pth: true,
            nix_site: "/nix/store/e-env/lib/python3.11/site-packages".into(),
            nix_pth: false,
            env_path: vec!["/nix/store/f-ffmpeg/bin".into()],
            preload: Vec::new(),
        }
    }

    #[test]
    fn the_pth_lists_the_folders_then_imports_the_module() {
        assert_eq!(
            spec().pth(),
            "/nix/store/l-nixpy-layer/lib/python3.11/site-packages\n/nix/store/e-env/lib/python3.11/site-packages\nimport _nixpy_env\n"
        );
        let cfg = spec().pyvenv_cfg();
        assert!(cfg.starts_with("home = /nix/store/p-python3/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n"), "{cfg}");
    }

    #[test]
    fn the_key_follows_the_spec() {
        let mut other = spec();
        other
            .preload
            .push("/nix/store/g-gcc-lib/lib/libstdc++.so.6".into());
        assert_ne!(spec().key(), other.key());
        assert_eq!(spec().key(), spec().key());
    }

    /// The start-up module runs: PATH gets the missing entries in front,
    /// os.defpath when PATH is unset.
    #[test]
    fn the_startup_module_puts_missing_path_entries_first() {
        // The interpreter itself, not a shim (pyenv's edits PATH).
        let Some(python) = std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|p| !p.is_empty())
        else {
            return;
        };
        let mut spec = spec();
        spec.layer_pth = false;
        let module = spec.startup_module("/v/bin");
        let run = |path: Option<&str>| {
            let code = format!("{module}\nprint(_os.environ['PATH'])");
            let mut cmd = std::process::Command::new(&python);
            cmd.args(["-I", "-c", &code]).env_clear();
            if let Some(path) = path {
                cmd.env("PATH", path);
            }
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        };
        assert_eq!(
            run(Some("/usr/bin:/nix/store/f-ffmpeg/bin")),
            "/v/bin:/usr/bin:/nix/store/f-ffmpeg/bin"
        );
        assert_eq!(
            run(Some("/v/bin:/nix/store/f-ffmpeg/bin")),
            "/v/bin:/nix/store/f-ffmpeg/bin"
        );
        let unset = run(None);
        assert!(
            unset.starts_with("/v/bin:/nix/store/f-ffmpeg/bin:"),
            "{unset}"
        );
        assert!(
            unset.ends_with("/bin:/usr/bin") || unset.contains("/usr/bin"),
            "{unset}"
        );
    }

    #[test]
    fn long_or_spaced_interpreter_paths_get_the_trampoline() {
        assert_eq!(script_header("/c/v/bin/python"), "#!/c/v/bin/python\n");
        let spaced = script_header("/my cache/v/bin/python");
        assert!(
            spaced.starts_with("#!/bin/sh\n'''exec' \"/my cache/v/bin/python\""),
            "{spaced}"
        );
        let long = format!("/{}/bin/python", "x".repeat(130));
        assert!(script_header(&long).starts_with("#!/bin/sh\n"));
    }
}
