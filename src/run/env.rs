//! The environment a command runs in: the caller's environment with the
//! shell's variables applied the way `nix develop` applies them, the project
//! interpreter's bin/ first, and the project's `[env]` on top. Pure, so the warm path
//! only reads a cached [`EnvSpec`] and calls [`compose`].

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use serde::{Deserialize, Serialize};

use super::programs::ProgramIndex;
use crate::flake::ShellEnv;
use crate::support::os_bytes;

/// Everything needed to build the command's environment, cached on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EnvSpec {
    /// Set, replacing the caller's value.
    pub set: BTreeMap<String, String>,
    /// Put before the caller's entries, without duplicates.
    pub prepend: BTreeMap<String, Vec<String>>,
    /// The project's `[env]` and NIXPY_ variables, applied last (the
    /// project's path may be any bytes).
    #[serde(with = "os_bytes::pairs")]
    pub project: Vec<(String, OsString)>,
    /// Bash run before the command (the shell's shellHook, then the manifest's).
    pub shell_hook: String,
    /// The bash that runs the hook.
    pub bash: String,
    /// Programs in the store folders at the front of PATH.
    #[serde(default)]
    pub programs: ProgramIndex,
}

/// The project interpreter (a venv) and the pip layer it sees, when there
/// is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InterpreterPaths {
    /// The venv folder.
    pub venv: String,
    /// The pip layer's composition (reported as NIXPY_LAYER), if any.
    pub layer: Option<String>,
}

pub(crate) struct SpecInputs<'a> {
    pub shell: &'a ShellEnv,
    pub interpreter: Option<&'a InterpreterPaths>,
    pub project_root: &'a std::path::Path,
    pub manifest_env: &'a [(String, String)],
    pub manifest_hook: &'a str,
}

pub(crate) fn spec(inputs: SpecInputs<'_>) -> EnvSpec {
    let shell = inputs.shell;
    let mut spec = EnvSpec {
        set: shell.vars.clone(),
        bash: shell.bash.clone(),
        ..EnvSpec::default()
    };
    let mut path = Vec::new();
    if let Some(interpreter) = inputs.interpreter {
        // The project interpreter's bin/ (python, the layer's console
        // scripts) first; VIRTUAL_ENV so uv and pip install into it, never
        // into the store. The interpreter finds the layer, the Nix packages
        // and the libraries through its own files: no PYTHONPATH, no
        // LD_LIBRARY_PATH reaches other programs.
        path.push(format!("{}/bin", interpreter.venv));
        spec.set
            .insert("VIRTUAL_ENV".into(), interpreter.venv.clone());
        spec.set.insert(
            "NIXPY_PYTHON".into(),
            format!("{}/bin/python", interpreter.venv),
        );
        if let Some(layer) = &interpreter.layer {
            spec.set.insert("NIXPY_LAYER".into(), layer.clone());
        }
    }
    path.extend(shell.path.iter().cloned());
    spec.prepend.insert("PATH".into(), path);
    if !shell.xdg_data_dirs.is_empty() {
        spec.prepend
            .insert("XDG_DATA_DIRS".into(), shell.xdg_data_dirs.clone());
    }
    spec.project.extend(
        inputs
            .manifest_env
            .iter()
            .map(|(name, value)| (name.clone(), value.into())),
    );
    spec.project.push((
        "NIXPY_PROJECT".into(),
        inputs.project_root.as_os_str().to_owned(),
    ));
    spec.shell_hook = [shell.shell_hook.trim(), inputs.manifest_hook.trim()]
        .iter()
        .filter(|h| !h.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    spec
}

/// The final environment for the command, from the caller's.
pub(crate) fn compose(
    caller: impl IntoIterator<Item = (OsString, OsString)>,
    spec: &EnvSpec,
) -> Vec<(OsString, OsString)> {
    let mut env: BTreeMap<OsString, OsString> = caller.into_iter().collect();
    for (name, value) in &spec.set {
        env.insert(name.into(), value.into());
    }
    for (name, entries) in &spec.prepend {
        let existing = env.get(OsStr::new(name)).cloned().unwrap_or_default();
        let mut merged: Vec<&[u8]> = entries.iter().map(std::string::String::as_bytes).collect();
        merged.extend(existing.as_bytes().split(|&b| b == b':'));
        env.insert(name.into(), join_unique(merged));
    }
    for (name, value) in &spec.project {
        env.insert(name.into(), value.into());
    }
    env.into_iter().collect()
}

/// Set when the environment is the last good one because a rebuild failed.
pub(super) const FALLBACK_VAR: &str = "NIXPY_DID_FALLBACK";

/// The environment the command would get: [`compose`], plus
/// NIXPY_DID_FALLBACK exactly when this environment is a fallback (so a
/// stale marker from an earlier eval is removed).
pub(crate) fn target_env(
    current: Vec<(OsString, OsString)>,
    spec: &EnvSpec,
    fell_back: bool,
) -> BTreeMap<OsString, OsString> {
    let mut env: BTreeMap<OsString, OsString> = compose(current, spec).into_iter().collect();
    env.remove(OsStr::new(FALLBACK_VAR));
    if fell_back {
        env.insert(FALLBACK_VAR.into(), "1".into());
    }
    env
}

/// Joins with `:`, dropping empty entries and later duplicates.
fn join_unique(entries: Vec<&[u8]>) -> OsString {
    // A BTreeSet: a HashSet's random seed would cost a getrandom(2) per run.
    let mut seen = std::collections::BTreeSet::new();
    let kept: Vec<&[u8]> = entries
        .into_iter()
        .filter(|e| !e.is_empty() && seen.insert(*e))
        .collect();
    OsString::from_vec(kept.join(&b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell() -> ShellEnv {
        ShellEnv {
            vars: [("FOO".to_owned(), "nix".to_owned())].into(),
            path: vec!["/nix/store/a/bin".into(), "/usr/bin".into()],
            xdg_data_dirs: vec!["/nix/store/a/share".into()],
            library_path: vec!["/nix/store/gcc/lib".into()],
            bash: "/nix/store/bash/bin/bash".into(),
            shell_hook: "echo nix".into(),
            ..ShellEnv::default()
        }
    }

    fn spec_with(
        interpreter: Option<&InterpreterPaths>,
        manifest_env: &[(String, String)],
        manifest_hook: &str,
    ) -> EnvSpec {
        spec(SpecInputs {
            shell: &shell(),
            interpreter,
            project_root: std::path::Path::new("/p"),
            manifest_env,
            manifest_hook,
        })
    }

    fn get<'a>(env: &'a [(OsString, OsString)], name: &str) -> Option<&'a str> {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_str().unwrap())
    }

    #[test]
    fn the_interpreter_goes_first_and_no_python_or_library_path_is_exported() {
        let interpreter = InterpreterPaths {
            venv: "/c/venvs/k".into(),
            layer: Some("/nix/store/l-nixpy-layer".into()),
        };
        let s = spec_with(Some(&interpreter), &[], "");
        let caller = vec![
            (
                OsString::from("PATH"),
                OsString::from("/usr/bin:/home/u/bin"),
            ),
            (OsString::from("HOME"), OsString::from("/home/u")),
            (OsString::from("PYTHONPATH"), OsString::from("/mine")),
            (
                OsString::from("LD_LIBRARY_PATH"),
                OsString::from("/opt/lib"),
            ),
            (OsString::from("FOO"), OsString::from("caller")),
        ];
        let env = compose(caller, &s);
        assert_eq!(
            get(&env, "PATH"),
            Some("/c/venvs/k/bin:/nix/store/a/bin:/usr/bin:/home/u/bin")
        );
        assert_eq!(get(&env, "HOME"), Some("/home/u"));
        assert_eq!(get(&env, "FOO"), Some("nix"));
        assert_eq!(get(&env, "VIRTUAL_ENV"), Some("/c/venvs/k"));
        assert_eq!(get(&env, "NIXPY_PYTHON"), Some("/c/venvs/k/bin/python"));
        assert_eq!(get(&env, "NIXPY_LAYER"), Some("/nix/store/l-nixpy-layer"));
        // The caller's own values pass through untouched.
        assert_eq!(get(&env, "PYTHONPATH"), Some("/mine"));
        assert_eq!(get(&env, "LD_LIBRARY_PATH"), Some("/opt/lib"));
        assert_eq!(get(&env, "PYTHONNOUSERSITE"), None);
        assert_eq!(get(&env, "XDG_DATA_DIRS"), Some("/nix/store/a/share"));
        assert_eq!(get(&env, "NIXPY_PROJECT"), Some("/p"));
    }

    #[test]
    fn no_interpreter_means_no_python_variables() {
        let s = spec_with(None, &[], "");
        let env = compose(Vec::new(), &s);
        for absent in [
            "PYTHONPATH",
            "PYTHONNOUSERSITE",
            "NIXPY_LAYER",
            "LD_LIBRARY_PATH",
            "VIRTUAL_ENV",
        ] {
            assert_eq!(get(&env, absent), None, "{absent}");
        }
    }

    #[test]
    fn manifest_env_wins_and_hooks_join_in_order() {
        let menv = vec![("FOO".to_owned(), "it's ${x} ''".to_owned())];
        let s = spec_with(None, &menv, "echo mine\n");
        assert_eq!(s.shell_hook, "echo nix\necho mine");
        let env = compose(Vec::new(), &s);
        assert_eq!(get(&env, "FOO"), Some("it's ${x} ''"));
    }

    #[test]
    fn non_utf8_caller_values_survive() {
        let s = spec_with(None, &[], "");
        let weird = OsString::from_vec(vec![b'a', 0xff, b'b']);
        let env = compose([(OsString::from("WEIRD"), weird.clone())], &s);
        assert!(env.contains(&(OsString::from("WEIRD"), weird)));
    }
}
