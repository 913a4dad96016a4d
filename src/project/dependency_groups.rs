//! PEP 735 dependency groups: `[dependency-groups]` of the project's
//! pyproject.toml, each a list of requirements and `{include-group = ...}`
//! tables, expanded (includes followed, cycles refused) and named by their
//! normalised names.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::project::requirements::{normalize_name, Requirement, RequirementSet};

/// Every group of the pyproject.toml at `path`, its includes expanded,
/// by normalised name (none when the file or the table is absent).
pub(crate) fn read(path: &Path) -> Result<BTreeMap<String, Vec<Requirement>>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(BTreeMap::new());
    };
    // A pyproject.toml that does not parse is reported where it is read.
    let Ok(document) = toml::from_str::<toml::Table>(&text) else {
        return Ok(BTreeMap::new());
    };
    let Some(table) = document.get("dependency-groups") else {
        return Ok(BTreeMap::new());
    };
    let bad = |why: String| {
        Error::new(format!("{}: [dependency-groups]: {why}", path.display()))
            .with_hint("see PEP 735: each group is a list of requirement strings and {include-group = \"NAME\"} tables")
    };
    let table = table
        .as_table()
        .ok_or_else(|| bad("is not a table".to_owned()))?;
    let mut raw: BTreeMap<String, &toml::Value> = BTreeMap::new();
    for (name, value) in table {
        if raw.insert(normalize_name(name), value).is_some() {
            return Err(bad(format!(
                "`{name}` names a group twice (names are compared normalised)"
            )));
        }
    }
    let root = path.parent().unwrap_or(Path::new("/"));
    let mut groups = BTreeMap::new();
    for name in raw.keys() {
        let mut strings = Vec::new();
        expand(name, &raw, &mut Vec::new(), &mut strings).map_err(bad)?;
        let mut set = RequirementSet::default();
        set.add_strings(path, root, &strings)?;
        groups.insert(name.clone(), set.requirements);
    }
    Ok(groups)
}

/// The requirement strings of group `name`, includes followed; `stack`
/// holds the groups being expanded, for cycles.
fn expand(
    name: &str,
    raw: &BTreeMap<String, &toml::Value>,
    stack: &mut Vec<String>,
    out: &mut Vec<String>,
) -> std::result::Result<(), String> {
    if stack.iter().any(|s| s == name) {
        stack.push(name.to_owned());
        return Err(format!(
            "groups include each other in a cycle: {}",
            stack.join(" -> ")
        ));
    }
    let entries = raw
        .get(name)
        .ok_or_else(|| {
            format!(
                "`{}` includes `{name}`, which is not a group",
                stack.last().map_or("", String::as_str)
            )
        })?
        .as_array()
        .ok_or_else(|| format!("`{name}` is not a list"))?;
    stack.push(name.to_owned());
    for entry in entries {
        match entry {
            toml::Value::String(requirement) => {
                if !out.contains(requirement) {
                    out.push(requirement.clone());
                }
            }
            toml::Value::Table(t) => {
                let included = t
                    .get("include-group")
                    .and_then(toml::Value::as_str)
                    .filter(|_| t.len() == 1)
                    .ok_or_else(|| {
                        format!("`{name}` has a table that is not {{include-group = \"NAME\"}}")
                    })?;
                expand(&normalize_name(included), raw, stack, out)?;
            }
            other => {
                return Err(format!(
                    "`{name}` has `{other}`, neither a requirement nor an include"
                ))
            }
        }
    }
    stack.pop();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(text: &str) -> Result<BTreeMap<String, Vec<String>>> {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("pyproject.toml");
        std::fs::write(&path, text).unwrap();
        Ok(read(&path)?
            .into_iter()
            .map(|(k, v)| (k, v.into_iter().map(|r| r.line).collect()))
            .collect())
    }

    #[test]
    fn includes_are_expanded_and_names_normalised() {
        let got = groups(
            "[dependency-groups]\nLint = [\"ruff\"]\ntest = [\"pytest>=8\", {include-group = \"lint\"}]\n",
        )
        .unwrap();
        assert_eq!(got["lint"], ["ruff"]);
        assert_eq!(got["test"], ["pytest>=8", "ruff"]);
    }

    #[test]
    fn cycles_and_unknown_includes_are_refused() {
        let err = groups(
            "[dependency-groups]\na = [{include-group = \"b\"}]\nb = [{include-group = \"a\"}]\n",
        )
        .unwrap_err();
        assert!(
            err.message.contains("cycle: a -> b -> a"),
            "{}",
            err.message
        );
        let err = groups("[dependency-groups]\na = [{include-group = \"zzz\"}]\n").unwrap_err();
        assert!(
            err.message
                .contains("`a` includes `zzz`, which is not a group"),
            "{}",
            err.message
        );
    }

    #[test]
    fn requirements_are_checked_where_they_are() {
        let err =
            groups("[project]\nname = \"x\"\n\n[dependency-groups]\ntest = [\"pytest>=>8\"]\n")
                .unwrap_err();
        assert!(
            err.message
                .contains("pyproject.toml:5: invalid requirement `pytest>=>8`"),
            "{}",
            err.message
        );
    }
}
