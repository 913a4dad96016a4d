//! The distributions the Nix interpreter already has: pinned at their Nix
//! versions for the resolver, never installed into the layer.

use crate::error::{Error, Result};
use crate::layout::Cache;
use crate::project::requirements::normalize_name;
use crate::support::process;

/// The distributions the Nix interpreter already has, cached per interpreter
/// store path (which never changes content).
pub(crate) fn nix_provided(cache: &Cache, python: &str) -> Result<Vec<(String, String)>> {
    let dir = cache.interpreters_dir();
    let cached = cache.interpreter_facts(python);
    if let Some(list) = std::fs::read(&cached)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
    {
        return Ok(list);
    }
    const SCRIPT: &str = "import json, importlib.metadata as m\n\
        print(json.dumps(sorted({(d.metadata['Name'], d.version) for d in m.distributions() if d.metadata['Name']})))";
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
    let raw: Vec<(String, String)> = serde_json::from_slice(&output.stdout)
        .map_err(|e| Error::new(format!("unexpected package list from {python}: {e}")))?;
    let mut list: Vec<(String, String)> = raw
        .into_iter()
        .map(|(n, v)| (normalize_name(&n), v))
        .collect();
    list.sort();
    list.dedup_by(|a, b| a.0 == b.0);
    cache.ensure(&dir)?;
    crate::support::atomic_write::write_file(
        &cached,
        &serde_json::to_vec(&list).expect("list serialises"),
    )?;
    Ok(list)
}
