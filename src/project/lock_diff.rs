//! What changed between two versions of nixpy.lock, for people: the
//! nixpkgs revision (with its date), each pip pin moved, added or removed,
//! and (filled in by the caller, who can ask Nix) each Nix package whose
//! version changed. `nixpy lock` prints it; `nixpy history` and the
//! refusal of a stale lock use it too.

use std::collections::BTreeMap;

use crate::project::lockfile::{LockFile, NixpkgsPin, StorePaths};
use crate::support::date::utc_date;

/// A nixpkgs pin as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PinLabel {
    pub url: String,
    /// The revision (12 characters), else the narHash.
    pub revision: Option<String>,
    pub last_modified: Option<i64>,
}

impl PinLabel {
    pub(crate) fn of(pin: &NixpkgsPin) -> PinLabel {
        let field = |k: &str| pin.locked.get(k).and_then(toml::Value::as_str);
        let revision = field("rev")
            .map(|rev| rev[..rev.len().min(12)].to_owned())
            .or_else(|| {
                field("narHash").map(|hash| {
                    let hash = hash.trim_start_matches("sha256-");
                    format!("narHash {}", &hash[..hash.len().min(12)])
                })
            });
        PinLabel {
            url: pin.url.clone(),
            revision,
            last_modified: pin
                .locked
                .get("lastModified")
                .and_then(toml::Value::as_integer),
        }
    }

    /// `0123456789ab (2026-11-28)`.
    fn short(&self) -> String {
        let revision = self.revision.clone().unwrap_or_else(|| "unpinned".into());
        match self.last_modified {
            Some(time) => format!("{revision} ({})", utc_date(time)),
            None => revision,
        }
    }
}

/// One version that moved: `None` on one side means added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionChange {
    pub name: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What changed between two locks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LockDiff {
    /// The pin before and after, when it changed.
    pub nixpkgs: Option<(Option<PinLabel>, Option<PinLabel>)>,
    /// The nixpkgs settings (`[nixpkgs-config]`) the lock records changed.
    pub nixpkgs_config: bool,
    pub pip: Vec<VersionChange>,
    /// How the recorded store paths (`[store]`) changed, if they did.
    pub store: Option<String>,
    /// Filled in by the caller: Nix packages whose version changed.
    pub nix: Vec<VersionChange>,
}

impl LockDiff {
    pub(crate) fn between(old: Option<&LockFile>, new: &LockFile) -> LockDiff {
        let old_pin = old.and_then(|l| l.nixpkgs.as_ref());
        let new_pin = new.nixpkgs.as_ref();
        // Settings on both sides that differ (a first lock has nothing to
        // compare with).
        let nixpkgs_config = old_pin
            .zip(new_pin)
            .is_some_and(|(a, b)| a.config != b.config);
        let same_revision = match (old_pin, new_pin) {
            (Some(a), Some(b)) => {
                a.url == b.url && a.locked == b.locked && a.original == b.original
            }
            (None, None) => true,
            _ => false,
        };
        let nixpkgs = (!same_revision).then(|| {
            (
                old_pin.map(PinLabel::of),
                new.nixpkgs.as_ref().map(PinLabel::of),
            )
        });
        let pins = |lock: Option<&LockFile>| -> BTreeMap<String, String> {
            lock.and_then(|l| l.pip.as_ref())
                .map(|pip| {
                    pip.packages
                        .iter()
                        .map(|p| {
                            let version = if p.version.is_empty() {
                                p.requirement.clone()
                            } else {
                                p.version.clone()
                            };
                            (p.name.clone(), version)
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        LockDiff {
            nixpkgs,
            nixpkgs_config,
            pip: versions_between(&pins(old), &pins(Some(new))),
            store: store_change(old.and_then(|l| l.store.as_ref()), new.store.as_ref()),
            nix: Vec::new(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.nixpkgs.is_none()
            && !self.nixpkgs_config
            && self.pip.is_empty()
            && self.store.is_none()
            && self.nix.is_empty()
    }

    /// The summary `nixpy lock` prints, one change a line, under headings.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        if let Some((old, new)) = &self.nixpkgs {
            let url = new.as_ref().or(old.as_ref()).map_or("", |p| p.url.as_str());
            out.push_str(&format!("  nixpkgs ({url}):\n"));
            let side = |p: &Option<PinLabel>, none: &str| {
                p.as_ref().map_or_else(|| none.to_owned(), PinLabel::short)
            };
            let old_url = old.as_ref().map(|p| p.url.as_str());
            if old_url.is_some_and(|u| u != url) {
                out.push_str(&format!("    was {}\n", old_url.unwrap_or_default()));
            }
            out.push_str(&format!(
                "    {} -> {}\n",
                side(old, "(none)"),
                side(new, "(none)")
            ));
        }
        if self.nixpkgs_config {
            out.push_str("  nixpkgs settings ([nixpkgs-config])\n");
        }
        if !self.nix.is_empty() {
            out.push_str("  Nix packages:\n");
            out.push_str(&table(&self.nix));
        }
        if !self.pip.is_empty() {
            out.push_str("  pip packages:\n");
            out.push_str(&table(&self.pip));
        }
        if let Some(why) = &self.store {
            out.push_str(&format!(
                "  store paths ([store]): before, nixpy.lock {why}\n"
            ));
        }
        out
    }

    /// One line for `nixpy history`: `nixpkgs 0123456789ab -> fedcba987654;
    /// pip rich 13.6.0 -> 13.7.1, +attrs 23.2.0, -six`.
    pub(crate) fn one_line(&self) -> String {
        let mut parts = Vec::new();
        if let Some((old, new)) = &self.nixpkgs {
            let side = |p: &Option<PinLabel>| {
                p.as_ref()
                    .and_then(|p| p.revision.clone())
                    .unwrap_or_else(|| "(none)".into())
            };
            parts.push(match old {
                Some(_) => format!("nixpkgs {} -> {}", side(old), side(new)),
                None => format!("nixpkgs {}", side(new)),
            });
        }
        if self.nixpkgs_config {
            parts.push("nixpkgs settings".to_owned());
        }
        if !self.pip.is_empty() {
            let changes: Vec<String> = self.pip.iter().map(compact).collect();
            parts.push(format!("pip {}", changes.join(", ")));
        }
        parts.join("; ")
    }
}

/// Why the store paths recorded before (`old`) are not those recorded now.
fn store_change(old: Option<&StorePaths>, new: Option<&StorePaths>) -> Option<String> {
    let why = match (old, new) {
        (None, None) => return None,
        (Some(a), Some(b)) if a == b => return None,
        (None, Some(_)) => "records no store paths yet",
        (Some(_), None) => "records store paths it no longer keeps",
        (Some(a), Some(_)) if a.shell.is_none() => {
            "records the shell in lock format 1 (Nix's own environment file, which differs between Nix versions)"
        }
        (Some(a), Some(b)) if a.shell_key != b.shell_key => {
            "records the store paths of the shell for other inputs"
        }
        (Some(a), Some(b)) if a.layer_key != b.layer_key => {
            "records the store path of the pip layer for other requirements"
        }
        (Some(_), Some(_)) => "records other store paths",
    };
    Some(why.to_owned())
}

/// The versions that differ between two name -> version maps.
pub(crate) fn versions_between(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<VersionChange> {
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| old.get(*name) != new.get(*name))
        .map(|name| VersionChange {
            name: name.clone(),
            old: old.get(name).cloned(),
            new: new.get(name).cloned(),
        })
        .collect()
}

fn compact(change: &VersionChange) -> String {
    match (&change.old, &change.new) {
        (Some(old), Some(new)) => format!("{} {old} -> {new}", change.name),
        (None, Some(new)) => format!("+{} {new}", change.name),
        (Some(_), None) => format!("-{}", change.name),
        (None, None) => change.name.clone(),
    }
}

/// Aligned rows: `    name  old -> new`.
fn table(changes: &[VersionChange]) -> String {
    let width = changes.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let old_width = changes
        .iter()
        .map(|c| c.old.as_deref().unwrap_or("(added)").len())
        .max()
        .unwrap_or(0);
    changes
        .iter()
        .map(|c| {
            format!(
                "    {:width$}  {:old_width$} -> {}\n",
                c.name,
                c.old.as_deref().unwrap_or("(added)"),
                c.new.as_deref().unwrap_or("(removed)"),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::lockfile::{LockedPackage, PipLock, LOCK_VERSION};

    fn lock(rev: &str, time: i64, pins: &[(&str, &str)]) -> LockFile {
        let node = serde_json::json!({
            "locked": {"type": "github", "owner": "NixOS", "repo": "nixpkgs", "rev": rev, "lastModified": time},
            "original": {"type": "github", "owner": "NixOS", "repo": "nixpkgs"},
        });
        LockFile {
            version: LOCK_VERSION,
            nixpkgs: Some(NixpkgsPin::from_flake_lock_node("github:NixOS/nixpkgs", &node).unwrap()),
            pip: Some(PipLock {
                inputs: "k".into(),
                installer: "uv".into(),
                packages: pins
                    .iter()
                    .map(|(n, v)| LockedPackage {
                        name: (*n).into(),
                        version: (*v).into(),
                        requirement: format!("{n}=={v}"),
                        hashes: Vec::new(),
                        groups: Vec::new(),
                    })
                    .collect(),
            }),
            store: None,
        }
    }

    #[test]
    fn an_unchanged_lock_has_an_empty_diff() {
        let a = lock("0123456789abcdef", 1_700_000_000, &[("rich", "13.6.0")]);
        assert!(LockDiff::between(Some(&a), &a).is_empty());
    }

    #[test]
    fn new_nixpkgs_settings_are_not_a_new_revision() {
        let old = lock("0123456789abcdef", 1_700_000_000, &[]);
        let mut new = old.clone();
        if let Some(pin) = new.nixpkgs.as_mut() {
            pin.config
                .insert("allowUnfree".into(), toml::Value::Boolean(true));
        }
        let diff = LockDiff::between(Some(&old), &new);
        assert!(diff.nixpkgs.is_none());
        assert_eq!(diff.render(), "  nixpkgs settings ([nixpkgs-config])\n");
    }

    #[test]
    fn the_summary_names_every_change() {
        let old = lock(
            "0123456789abcdef",
            1_700_000_000,
            &[("rich", "13.6.0"), ("six", "1.16.0")],
        );
        let new = lock(
            "fedcba9876543210",
            1_732_000_000,
            &[("attrs", "23.2.0"), ("rich", "13.7.1")],
        );
        let mut diff = LockDiff::between(Some(&old), &new);
        diff.nix = vec![VersionChange {
            name: "ffmpeg".into(),
            old: Some("6.1.1".into()),
            new: Some("7.1".into()),
        }];
        assert_eq!(
            diff.one_line(),
            "nixpkgs 0123456789ab -> fedcba987654; pip +attrs 23.2.0, rich 13.6.0 -> 13.7.1, -six"
        );
        assert_eq!(
            diff.render(),
            "  nixpkgs (github:NixOS/nixpkgs):\n    0123456789ab (2023-11-14) -> fedcba987654 (2024-11-19)\n  Nix packages:\n    ffmpeg  6.1.1 -> 7.1\n  pip packages:\n    attrs  (added) -> 23.2.0\n    rich   13.6.0  -> 13.7.1\n    six    1.16.0  -> (removed)\n"
        );
    }
}
