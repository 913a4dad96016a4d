//! Adding an entry to the project's .gitignore: only to one that exists
//! (a project without one is left without one), once, atomically.

use std::path::Path;

use crate::error::Result;
use crate::support::atomic_write;
use crate::ui;

/// Adds `entry` (a folder such as `.direnv/`) to `gitignore` unless a line
/// already ignores it; returns whether it was added.
pub(crate) fn ignore(gitignore: &Path, entry: &str) -> Result<bool> {
    let Ok(text) = std::fs::read_to_string(gitignore) else {
        return Ok(false);
    };
    let bare = entry.trim_matches('/');
    let ignored = text
        .lines()
        .map(str::trim)
        .any(|l| l.trim_matches('/') == bare);
    if ignored {
        return Ok(false);
    }
    let mut new = text;
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(entry);
    new.push('\n');
    atomic_write::write_project_file(gitignore, new.as_bytes())?;
    ui::status(&format!("added {entry} to {}", gitignore.display()));
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_added_once_and_only_to_an_existing_file() {
        let tmp = tempfile::tempdir().unwrap();
        let gi = tmp.path().join(".gitignore");
        assert!(!ignore(&gi, ".direnv/").unwrap());
        assert!(!gi.exists(), "no .gitignore is created");
        std::fs::write(&gi, "target").unwrap();
        assert!(ignore(&gi, ".direnv/").unwrap());
        assert!(!ignore(&gi, ".direnv/").unwrap());
        std::fs::write(&gi, "target\n/.venv\n").unwrap();
        assert!(!ignore(&gi, ".venv").unwrap());
        assert_eq!(std::fs::read_to_string(&gi).unwrap(), "target\n/.venv\n");
        std::fs::write(&gi, "target").unwrap();
        ignore(&gi, ".direnv/").unwrap();
        assert_eq!(std::fs::read_to_string(&gi).unwrap(), "target\n.direnv/\n");
    }
}
