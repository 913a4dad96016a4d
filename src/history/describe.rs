//! What changed from one generation to the next, in one line for `nixpy
//! history`: the manifest's keys, the requirement lines, the lock's pins.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::managed::Contents;
use crate::project::lock_diff::LockDiff;
use crate::project::lockfile::LockFile;
use crate::project::PYPROJECT_FILE;

/// The files of a generation that describing needs to tell apart.
pub(super) struct Roles<'a> {
    pub manifest: &'a Path,
    pub lock: &'a Path,
}

/// One line: what changed from `before` (the previous generation's files;
/// `None` for the first) to `after`. `rebuilt` says the store paths moved.
pub(super) fn describe(
    before: Option<&Contents>,
    after: &Contents,
    roles: &Roles<'_>,
    rebuilt: bool,
) -> String {
    let Some(before) = before else {
        return "first environment".to_owned();
    };
    let text = |contents: &Contents, path: &Path| -> Option<String> {
        contents
            .get(path)
            .and_then(Option::as_ref)
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    };
    let mut parts = Vec::new();
    for path in after.keys() {
        let (old, new) = (text(before, path), text(after, path));
        if old == new || path == roles.lock {
            continue;
        }
        let name = path.display().to_string();
        let is_pyproject = path.file_name().is_some_and(|n| n == PYPROJECT_FILE);
        let mut found = Vec::new();
        if path == roles.manifest || is_pyproject {
            found.extend(manifest_changes(
                old.as_deref(),
                new.as_deref(),
                is_pyproject,
            ));
        }
        if is_pyproject {
            found.extend(pyproject_changes(old.as_deref(), new.as_deref()));
        } else if path != roles.manifest {
            found.extend(requirement_changes(&name, old.as_deref(), new.as_deref()));
        }
        if found.is_empty() {
            found.push(match (&old, &new) {
                (None, Some(_)) => format!("{name} created"),
                (Some(_), None) => format!("{name} removed"),
                _ => format!("{name} edited"),
            });
        }
        parts.extend(found);
    }
    let lock = |contents: &Contents| {
        text(contents, roles.lock).and_then(|t| toml::from_str::<LockFile>(&t).ok())
    };
    if let Some(new_lock) = lock(after) {
        let diff = LockDiff::between(lock(before).as_ref(), &new_lock).one_line();
        if !diff.is_empty() {
            parts.push(diff);
        }
    }
    if parts.is_empty() {
        return if rebuilt {
            "environment rebuilt (its Nix files, or the Nix in use, changed)".to_owned()
        } else {
            "no change".to_owned()
        };
    }
    parts.join("; ")
}

/// nixpy's table of a manifest text: the whole of nixpy.toml, or
/// `[tool.nixpy]` of pyproject.toml.
fn nixpy_table(text: Option<&str>, is_pyproject: bool) -> toml::Table {
    let table: toml::Table = text
        .and_then(|t| toml::from_str(t).ok())
        .unwrap_or_default();
    if is_pyproject {
        table
            .get("tool")
            .and_then(|t| t.get("nixpy"))
            .and_then(toml::Value::as_table)
            .cloned()
            .unwrap_or_default()
    } else {
        table
    }
}

/// `packages +sox -jq`, `python python311 -> python312`, `env changed`.
fn manifest_changes(old: Option<&str>, new: Option<&str>, is_pyproject: bool) -> Vec<String> {
    table_changes(
        &nixpy_table(old, is_pyproject),
        &nixpy_table(new, is_pyproject),
        "",
    )
}

/// `[project].dependencies` and `[dependency-groups]` of a pyproject.toml.
fn pyproject_changes(old: Option<&str>, new: Option<&str>) -> Vec<String> {
    let parse = |text: Option<&str>| -> toml::Table {
        text.and_then(|t| toml::from_str(t).ok())
            .unwrap_or_default()
    };
    let (old, new) = (parse(old), parse(new));
    let section = |table: &toml::Table, path: &[&str]| -> toml::Table {
        let mut value = toml::Value::Table(table.clone());
        for key in path {
            value = value
                .get(*key)
                .cloned()
                .unwrap_or(toml::Value::Table(toml::Table::new()));
        }
        match value {
            toml::Value::Table(t) => t,
            _ => toml::Table::new(),
        }
    };
    let pick = |table: toml::Table, keys: &[&str]| -> toml::Table {
        table
            .into_iter()
            .filter(|(k, _)| keys.contains(&k.as_str()))
            .collect()
    };
    let mut changes = table_changes(
        &pick(
            section(&old, &["project"]),
            &["dependencies", "optional-dependencies", "requires-python"],
        ),
        &pick(
            section(&new, &["project"]),
            &["dependencies", "optional-dependencies", "requires-python"],
        ),
        "",
    );
    changes.extend(table_changes(
        &section(&old, &["dependency-groups"]),
        &section(&new, &["dependency-groups"]),
        "dependency-groups.",
    ));
    changes
}

/// The keys that differ between two tables, as short phrases.
fn table_changes(old: &toml::Table, new: &toml::Table, prefix: &str) -> Vec<String> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut changes = Vec::new();
    for key in keys {
        let (a, b) = (old.get(key), new.get(key));
        if a == b {
            continue;
        }
        let name = format!("{prefix}{key}");
        let strings = |v: Option<&toml::Value>| -> Option<Vec<String>> {
            match v {
                None => Some(Vec::new()),
                Some(toml::Value::Array(items)) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                _ => None,
            }
        };
        let change = match (strings(a), strings(b), a, b) {
            (Some(before), Some(after), _, _) => {
                let added = after
                    .iter()
                    .filter(|x| !before.contains(x))
                    .map(|x| format!("+{x}"));
                let removed = before
                    .iter()
                    .filter(|x| !after.contains(x))
                    .map(|x| format!("-{x}"));
                let moves: Vec<String> = added.chain(removed).collect();
                if moves.is_empty() {
                    format!("{name} reordered")
                } else {
                    format!("{name} {}", moves.join(" "))
                }
            }
            (_, _, Some(toml::Value::String(x)), Some(toml::Value::String(y))) => {
                format!("{name} {x} -> {y}")
            }
            (_, _, None, Some(toml::Value::String(y))) => format!("{name} {y}"),
            (_, _, Some(toml::Value::String(_)), None) => format!("{name} unset"),
            _ => format!("{name} changed"),
        };
        changes.push(change);
    }
    changes
}

/// How many times each line occurs.
fn counts(list: &[String]) -> BTreeMap<&str, usize> {
    let mut map: BTreeMap<&str, usize> = BTreeMap::new();
    for l in list {
        *map.entry(l.as_str()).or_default() += 1;
    }
    map
}

/// `requirements.txt +rich>=13 -six`: the requirement lines added and removed.
fn requirement_changes(name: &str, old: Option<&str>, new: Option<&str>) -> Vec<String> {
    let lines = |text: Option<&str>| -> Vec<String> {
        text.unwrap_or_default()
            .lines()
            .map(|l| l.split(" #").next().unwrap_or(l).trim().to_owned())
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    };
    let (before, after) = (lines(old), lines(new));
    let (b, a) = (counts(&before), counts(&after));
    let added = after
        .iter()
        .filter(|l| b.get(l.as_str()) < a.get(l.as_str()))
        .map(|l| format!("+{l}"));
    let removed = before
        .iter()
        .filter(|l| a.get(l.as_str()) < b.get(l.as_str()))
        .map(|l| format!("-{l}"));
    let moves: Vec<String> = added.chain(removed).collect();
    if moves.is_empty() {
        Vec::new()
    } else {
        vec![format!("{name} {}", moves.join(" "))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn contents(files: &[(&str, Option<&str>)]) -> Contents {
        files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.map(|t| t.as_bytes().to_vec())))
            .collect()
    }

    fn roles() -> Roles<'static> {
        Roles {
            manifest: Path::new("nixpy.toml"),
            lock: Path::new("nixpy.lock"),
        }
    }

    #[test]
    fn the_first_generation_is_the_first_environment() {
        let now = contents(&[("nixpy.toml", Some(""))]);
        assert_eq!(describe(None, &now, &roles(), true), "first environment");
    }

    #[test]
    fn manifest_and_requirement_edits_are_named() {
        let before = contents(&[
            (
                "nixpy.toml",
                Some("python = \"python311\"\npackages = [\"jq\", \"hello\"]\n"),
            ),
            ("requirements.txt", Some("# deps\nrich\nsix  # old\n")),
            ("nixpy.lock", None),
        ]);
        let after = contents(&[
            (
                "nixpy.toml",
                Some("python = \"python312\"\npackages = [\"hello\", \"sox\"]\n[env]\nA = \"1\"\n"),
            ),
            ("requirements.txt", Some("# deps\nrich>=13\n")),
            ("nixpy.lock", None),
        ]);
        assert_eq!(
            describe(Some(&before), &after, &roles(), true),
            "env changed; packages +sox -jq; python python311 -> python312; requirements.txt +rich>=13 -rich -six"
        );
    }

    #[test]
    fn pyproject_dependencies_and_groups_are_named() {
        let before = contents(&[(
            "pyproject.toml",
            Some(
                "[project]\nname = \"x\"\ndependencies = [\"rich\"]\n[tool.nixpy]\npackages = []\n",
            ),
        )]);
        let after = contents(&[(
            "pyproject.toml",
            Some("[project]\nname = \"x\"\ndependencies = [\"rich\", \"tqdm\"]\n[dependency-groups]\ntest = [\"pytest\"]\n[tool.nixpy]\npackages = [\"jq\"]\n"),
        )]);
        let roles = Roles {
            manifest: Path::new("pyproject.toml"),
            lock: Path::new("nixpy.lock"),
        };
        assert_eq!(
            describe(Some(&before), &after, &roles, true),
            "packages +jq; dependencies +tqdm; dependency-groups.test +pytest"
        );
    }

    #[test]
    fn a_rebuild_without_edits_says_so() {
        let same = contents(&[("nixpy.toml", Some("packages = []\n"))]);
        assert_eq!(
            describe(Some(&same), &same, &roles(), true),
            "environment rebuilt (its Nix files, or the Nix in use, changed)"
        );
    }
}
