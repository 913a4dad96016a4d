//! Reading `nix print-dev-env --json` and keeping what `nix develop` would
//! apply: exported variables, minus Nix's ignore list and the builder's
//! plumbing, so the user's HOME, TERM and TMPDIR stay theirs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::contract::{
    FACT_APP_MODULES, FACT_BASE_PYTHON, FACT_BASH, FACT_LIBRARY_PATH, FACT_PYTHON,
    FACT_PYTHON_VERSION, FACT_SITE_PACKAGES, FACT_UV, REPORTED_ONLY,
};
use crate::error::{Error, Result};

/// Variables `nix develop` never copies from the build environment
/// (`ignoreVars` in Nix's develop.cc).
const NIX_IGNORED: &[&str] = &[
    "BASHOPTS",
    "HOME",
    "NIX_BUILD_TOP",
    "NIX_ENFORCE_PURITY",
    "NIX_LOG_FD",
    "NIX_REMOTE",
    "PPID",
    "SHELLOPTS",
    "SSL_CERT_FILE",
    "TEMP",
    "TEMPDIR",
    "TERM",
    "TMP",
    "TMPDIR",
    "TZ",
    "UID",
];

/// The builder's own plumbing, meaningless in a user's shell.
const BUILDER_PLUMBING: &[&str] = &[
    "SHELL",
    "builder",
    "out",
    "outputs",
    "PWD",
    "OLDPWD",
    "SHLVL",
    "HOSTNAME",
    "NIX_BUILD_CORES",
    "_",
    "dontAddDisableDepTrack",
    "__structuredAttrs",
    "NIX_ATTRS_JSON_FILE",
    "NIX_ATTRS_SH_FILE",
    "shellHook",
    // The shell derivation's own name (its wording differs between Nix versions).
    "name",
    // Python's setup hook makes builds deterministic; in a user's shell it
    // would turn hash randomisation off for every command.
    "PYTHONHASHSEED",
    "DETERMINISTIC_BUILD",
    "dontAddPythonPath",
];

/// Nix puts this placeholder in PATH when a derivation sets none.
const PATH_NOT_SET: &str = "/path-not-set";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ShellEnv {
    /// Exported variables to set, PATH and XDG_DATA_DIRS excepted.
    pub vars: BTreeMap<String, String>,
    /// The shell's PATH entries, to go before the caller's.
    pub path: Vec<String>,
    pub xdg_data_dirs: Vec<String>,
    pub shell_hook: String,
    pub python: String,
    /// The base interpreter, unwrapped (`python.interpreter`).
    #[serde(default)]
    pub base_python: String,
    /// Python applications whose module twin joined the interpreter (JSON,
    /// as the template reports it).
    #[serde(default)]
    pub app_modules: String,
    pub python_version: String,
    pub site_packages: String,
    pub library_path: Vec<String>,
    pub bash: String,
    pub uv: String,
}

#[derive(Deserialize)]
struct PrintDevEnv {
    variables: BTreeMap<String, Variable>,
}

#[derive(Deserialize)]
struct Variable {
    #[serde(rename = "type")]
    kind: String,
    // The environment's own store file has "unknown" entries without a value.
    #[serde(default)]
    value: serde_json::Value,
}

pub(crate) fn parse(json: &str) -> Result<ShellEnv> {
    let dump: PrintDevEnv = serde_json::from_str(json).map_err(|e| {
        Error::new(format!(
            "cannot read the output of `nix print-dev-env --json`: {e}"
        ))
    })?;
    let builder_paths = builder_paths(&dump.variables);
    let mut env = ShellEnv::default();
    let mut facts = BTreeMap::new();
    for (name, var) in dump.variables {
        let serde_json::Value::String(value) = var.value else {
            continue;
        };
        if builder_paths.iter().any(|p| mentions_path(&value, p)) {
            continue;
        }
        if name == "shellHook" {
            env.shell_hook = value;
            continue;
        }
        if var.kind != "exported"
            || NIX_IGNORED.contains(&name.as_str())
            || BUILDER_PLUMBING.contains(&name.as_str())
        {
            continue;
        }
        if REPORTED_ONLY.contains(&name.as_str()) {
            facts.insert(name, value);
            continue;
        }
        match name.as_str() {
            "PATH" => env.path = split_path(&value),
            "XDG_DATA_DIRS" => env.xdg_data_dirs = split_path(&value),
            _ => {
                if name == FACT_PYTHON {
                    env.python = value.clone();
                }
                env.vars.insert(name, value);
            }
        }
    }
    let mut fact = |k: &str| facts.remove(k).unwrap_or_default();
    env.base_python = fact(FACT_BASE_PYTHON);
    env.app_modules = fact(FACT_APP_MODULES);
    env.python_version = fact(FACT_PYTHON_VERSION);
    env.site_packages = fact(FACT_SITE_PACKAGES);
    env.library_path = split_path(&fact(FACT_LIBRARY_PATH));
    env.bash = fact(FACT_BASH);
    env.uv = fact(FACT_UV);
    if env.python.is_empty() {
        return Err(Error::new(format!("the Nix shell did not report its Python interpreter ({FACT_PYTHON})"))
            .with_hint("the generated shell was changed or the nixpkgs input lacks python.withPackages; run with --refresh"));
    }
    Ok(env)
}

/// The paths of this one build (its output, its build folder), which Nix
/// versions name differently: a value mentioning them is the builder's,
/// whatever its name, and would make the shell differ between versions.
fn builder_paths(variables: &BTreeMap<String, Variable>) -> Vec<String> {
    ["out", "NIX_BUILD_TOP"]
        .iter()
        .filter_map(|name| variables.get(*name)?.value.as_str())
        .filter(|value| value.len() > 1)
        .map(str::to_owned)
        .collect()
}

/// `value` names `path` or something inside it (as a word of a list or a
/// command line, not as a part of a longer path: `/build` is not in
/// `/nix/store/x/build`).
fn mentions_path(value: &str, path: &str) -> bool {
    value
        .split([':', ' ', '\n', '\t', '=', '"', '\''])
        .any(|word| {
            word.strip_prefix(path)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

fn split_path(value: &str) -> Vec<String> {
    value
        .split(':')
        .filter(|p| !p.is_empty() && *p != PATH_NOT_SET)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "bashFunctions": {},
      "variables": {
        "BASH": {"type": "var", "value": "/usr/sbin/nologin"},
        "FOO": {"type": "exported", "value": "bar"},
        "PYTHONHASHSEED": {"type": "exported", "value": "0"},
        "DETERMINISTIC_BUILD": {"type": "exported", "value": "1"},
        "dontAddPythonPath": {"type": "exported", "value": "1"},
        "name": {"type": "exported", "value": "nixpy-shell"},
        "NIXPY_BASE_PYTHON": {"type": "exported", "value": "/nix/store/ggg-python3/bin/python3.12"},
        "HOME": {"type": "exported", "value": "/homeless-shelter"},
        "TMPDIR": {"type": "exported", "value": "/tmp/nix-build-x"},
        "TERM": {"type": "exported", "value": "dumb"},
        "IN_NIX_SHELL": {"type": "exported", "value": "impure"},
        "PATH": {"type": "exported", "value": "/nix/store/aaa-ffmpeg/bin:/nix/store/bbb-py/bin:/path-not-set"},
        "SHELL": {"type": "exported", "value": "/bin/bash"},
        "out": {"type": "exported", "value": "/nix/store/ccc-nix-shell"},
        "shellHook": {"type": "exported", "value": "echo hi"},
        "arr": {"type": "array", "value": ["a"]},
        "NIXPY_PYTHON": {"type": "exported", "value": "/nix/store/bbb-py/bin/python3"},
        "NIXPY_LIBRARY_PATH": {"type": "exported", "value": "/nix/store/ddd-gcc-lib/lib:/nix/store/eee-zlib/lib"},
        "NIXPY_BASH": {"type": "exported", "value": "/nix/store/fff-bash/bin/bash"}
      }
    }"#;

    #[test]
    fn keeps_exported_variables_minus_ignore_list_and_plumbing() {
        let env = parse(SAMPLE).unwrap();
        assert_eq!(env.vars.get("FOO").map(String::as_str), Some("bar"));
        assert_eq!(
            env.vars.get("IN_NIX_SHELL").map(String::as_str),
            Some("impure")
        );
        for gone in [
            "HOME",
            "TMPDIR",
            "TERM",
            "SHELL",
            "out",
            "BASH",
            "arr",
            "shellHook",
            "NIXPY_LIBRARY_PATH",
            "NIXPY_BASE_PYTHON",
            "PYTHONHASHSEED",
            "DETERMINISTIC_BUILD",
            "dontAddPythonPath",
            "name",
        ] {
            assert!(!env.vars.contains_key(gone), "{gone} kept");
        }
        assert_eq!(
            env.path,
            ["/nix/store/aaa-ffmpeg/bin", "/nix/store/bbb-py/bin"]
        );
        assert_eq!(env.shell_hook, "echo hi");
        assert_eq!(
            env.library_path,
            ["/nix/store/ddd-gcc-lib/lib", "/nix/store/eee-zlib/lib"]
        );
        assert_eq!(env.python, "/nix/store/bbb-py/bin/python3");
        assert_eq!(env.base_python, "/nix/store/ggg-python3/bin/python3.12");
    }

    /// What Nix 2.8 and 2.18+ print for the same shell differs only in
    /// the builder's plumbing: the shell nixpy keeps is the same.
    #[test]
    fn the_builders_plumbing_of_any_nix_version_is_dropped() {
        let dump = |name: &str, out: &str, top: &str| {
            format!(
                r#"{{"variables": {{
                  "name": {{"type": "exported", "value": "{name}"}},
                  "out": {{"type": "exported", "value": "{out}"}},
                  "NIX_BUILD_TOP": {{"type": "exported", "value": "{top}"}},
                  "prefix": {{"type": "exported", "value": "{out}"}},
                  "logs": {{"type": "exported", "value": "{top}/logs"}},
                  "FOO": {{"type": "exported", "value": "bar"}},
                  "NIXPY_PYTHON": {{"type": "exported", "value": "/nix/store/bbb-py/bin/python3"}}
                }}}}"#
            )
        };
        let old = parse(&dump(
            "nixpy-shell",
            "/nix/store/ccc-nixpy-shell",
            "/tmp/nix-build-a",
        ))
        .unwrap();
        let new = parse(&dump(
            "nixpy-shell-env",
            "/nix/store/ddd-nixpy-shell-env",
            "/build",
        ))
        .unwrap();
        assert_eq!(old, new);
        assert_eq!(old.vars.keys().collect::<Vec<_>>(), ["FOO", "NIXPY_PYTHON"]);
        assert!(!mentions_path("/nix/store/x-y/build/lib", "/build"));
        assert!(mentions_path("/a:/build/tmp", "/build"));
    }

    #[test]
    fn garbage_input_is_an_error_not_a_panic() {
        assert!(parse("not json").is_err());
        assert!(parse("{\"variables\": {}}").is_err());
    }
}
