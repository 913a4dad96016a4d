//! Finding a command without a PATH search through every package.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::nix;

/// The executables of the store folders that lead the environment's PATH,
/// by name. Store folders never change, so this is built once with the
/// environment; a warm start then finds a command without trying every
/// package's bin/ folder in turn (hundreds of failed stats with hundreds of
/// packages), and searches only the caller's part of PATH.
///
/// The project interpreter's bin/ comes first on PATH and can change (pip
/// installs console scripts there): it is not indexed but looked at first,
/// one stat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProgramIndex {
    /// A folder before the indexed ones, looked into on every lookup.
    #[serde(default)]
    pub first: Option<String>,
    pub dirs: Vec<String>,
    /// Name -> index into `dirs` (compact: the entry is parsed every run).
    pub programs: BTreeMap<String, u32>,
}

/// Where to find a command: known, or to be searched in what PATH has
/// beyond the indexed folders.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Lookup<'a> {
    Found(std::path::PathBuf),
    Search(&'a [u8]),
}

impl ProgramIndex {
    pub(crate) fn build(path: &[String]) -> ProgramIndex {
        let first = path.first().filter(|d| !nix::is_store_path(d)).cloned();
        let dirs: Vec<String> = path
            .iter()
            .skip(usize::from(first.is_some()))
            .take_while(|d| nix::is_store_path(d))
            .cloned()
            .collect();
        let mut programs = BTreeMap::new();
        for (index, dir) in (0u32..).zip(&dirs) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                if is_executable(&entry.path()) {
                    // The first folder on PATH wins, as in a PATH search.
                    programs.entry(name).or_insert(index);
                }
            }
        }
        ProgramIndex {
            first,
            dirs,
            programs,
        }
    }

    /// `None` when PATH no longer starts with the indexed folders (the
    /// manifest's [env] replaced it): then the whole PATH is searched.
    pub(super) fn lookup<'a>(&'a self, name: &str, path: &'a [u8]) -> Option<Lookup<'a>> {
        if self.dirs.is_empty() {
            return None;
        }
        let prefix: Vec<&str> = self
            .first
            .iter()
            .chain(&self.dirs)
            .map(String::as_str)
            .collect();
        let rest = path.strip_prefix(prefix.join(":").as_bytes())?;
        let rest = match rest {
            [] => rest,
            [b':', rest @ ..] => rest,
            _ => return None,
        };
        if let Some(first) = &self.first {
            let candidate = std::path::Path::new(first).join(name);
            if is_executable(&candidate) {
                return Some(Lookup::Found(candidate));
            }
        }
        Some(
            match self
                .programs
                .get(name)
                .and_then(|&i| self.dirs.get(i as usize))
            {
                Some(dir) => Lookup::Found(std::path::Path::new(dir).join(name)),
                None => Lookup::Search(rest),
            },
        )
    }
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_index_covers_leading_store_folders_only() {
        let index = ProgramIndex {
            first: None,
            dirs: vec!["/nix/store/a/bin".into(), "/nix/store/b/bin".into()],
            programs: [("ffmpeg".to_owned(), 0)].into(),
        };
        let path = b"/nix/store/a/bin:/nix/store/b/bin:/usr/bin";
        assert_eq!(
            index.lookup("ffmpeg", path),
            Some(Lookup::Found("/nix/store/a/bin/ffmpeg".into()))
        );
        assert_eq!(
            index.lookup("true", path),
            Some(Lookup::Search(b"/usr/bin"))
        );
        // A PATH the manifest replaced is searched whole.
        assert_eq!(index.lookup("ffmpeg", b"/opt/bin:/nix/store/a/bin"), None);
        assert_eq!(
            index.lookup("ffmpeg", b"/nix/store/a/bin:/nix/store/b/binx"),
            None
        );
    }

    #[test]
    fn the_interpreters_bin_is_looked_into_first() {
        let tmp = tempfile::tempdir().unwrap();
        let venv_bin = tmp.path().join("bin");
        std::fs::create_dir(&venv_bin).unwrap();
        let script = venv_bin.join("greet");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let first = venv_bin.display().to_string();
        let index = ProgramIndex::build(&[first.clone(), "/nix/store/missing-x/bin".into()]);
        assert_eq!(index.first.as_deref(), Some(first.as_str()));
        assert_eq!(index.dirs, ["/nix/store/missing-x/bin"]);
        let path = format!("{first}:/nix/store/missing-x/bin:/usr/bin");
        assert_eq!(
            index.lookup("greet", path.as_bytes()),
            Some(Lookup::Found(script))
        );
        assert_eq!(
            index.lookup("true", path.as_bytes()),
            Some(Lookup::Search(b"/usr/bin"))
        );
    }
}
