//! What the Nix interpreter is and already has: the distributions Nix
//! provides (pinned at their Nix versions for the resolver, never installed
//! into the layer), and the version and bytecode tag that installed
//! distributions are keyed on.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::layout::Cache;
use crate::project::requirements::normalize_name;
use crate::support::process;

/// Facts about one Nix interpreter (a store path, so they never change).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InterpreterFacts {
    /// (normalised name, version) of every distribution it has.
    pub provided: Vec<(String, String)>,
    /// `platform.python_version()`, such as `3.11.2`.
    pub version: String,
    /// `sys.implementation.cache_tag`, such as `cpython-311`: the bytecode
    /// a distribution is compiled to.
    pub cache_tag: String,
}

impl InterpreterFacts {
    /// `3.11` of `3.11.2`: the `lib/python3.11` of installed layouts.
    pub(crate) fn minor_version(&self) -> String {
        self.version
            .splitn(3, '.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".")
    }
}

const SCRIPT: &str = "import json, platform, sys, importlib.metadata as m\n\
    print(json.dumps({'provided': sorted({(d.metadata['Name'], d.version) for d in m.distributions() if d.metadata['Name']}), \
    'version': platform.python_version(), 'cache_tag': sys.implementation.cache_tag}))";

/// The facts of the Nix interpreter `python`, cached per interpreter path.
pub(crate) fn interpreter_facts(cache: &Cache, python: &str) -> Result<InterpreterFacts> {
    let dir = cache.interpreters_dir();
    let cached = cache.interpreter_facts(python);
    if let Some(facts) = std::fs::read(&cached)
        .ok()
        .and_then(|b| serde_json::from_slice::<InterpreterFacts>(&b).ok())
        .filter(|f| !f.version.is_empty())
    {
        return Ok(facts);
    }
    let output = process::capture(
        duct::cmd(python, ["-I", "-c", SCRIPT])
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME"),
    )
    .map_err(|e| Error::new(format!("cannot run the Nix Python {python}: {e}")))?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "the Nix Python {python} could not list its packages:\n{}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let mut facts: InterpreterFacts = serde_json::from_slice(&output.stdout)
        .map_err(|e| Error::new(format!("unexpected package list from {python}: {e}")))?;
    let mut provided: Vec<(String, String)> = facts
        .provided
        .into_iter()
        .map(|(n, v)| (normalize_name(&n), v))
        .collect();
    provided.sort();
    provided.dedup_by(|a, b| a.0 == b.0);
    facts.provided = provided;
    cache.ensure(&dir)?;
    crate::support::atomic_write::write_file(
        &cached,
        &serde_json::to_vec(&facts).expect("facts serialise"),
    )?;
    Ok(facts)
}

/// The distributions the Nix interpreter already has.
pub(crate) fn nix_provided(cache: &Cache, python: &str) -> Result<Vec<(String, String)>> {
    interpreter_facts(cache, python).map(|f| f.provided)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minor_version_names_the_layout() {
        let facts = InterpreterFacts {
            version: "3.11.2".into(),
            ..InterpreterFacts::default()
        };
        assert_eq!(facts.minor_version(), "3.11");
    }
}
