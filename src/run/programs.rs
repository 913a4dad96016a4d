//! Finding a command without a PATH search through every package.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::nix;

/// The executables of the store folders that lead the environment's PATH,
/// by name. Store folders never change, so this is built once with the
/// environment; a warm start then finds a command without trying every
/// package's bin/ folder in turn (hundreds of failed stats with hundreds of
/// packages), and searches only the caller's part of PATH.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProgramIndex {
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
        use std::os::unix::fs::PermissionsExt;
        let dirs: Vec<String> = path
            .iter()
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
                let executable = std::fs::metadata(entry.path())
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
                if executable {
                    // The first folder on PATH wins, as in a PATH search.
                    programs.entry(name).or_insert(index);
                }
            }
        }
        ProgramIndex { dirs, programs }
    }

    /// `None` when PATH no longer starts with the indexed folders (the
    /// manifest's [env] replaced it): then the whole PATH is searched.
    pub(super) fn lookup<'a>(&'a self, name: &str, path: &'a [u8]) -> Option<Lookup<'a>> {
        if self.dirs.is_empty() {
            return None;
        }
        let prefix = self.dirs.join(":");
        let rest = path.strip_prefix(prefix.as_bytes())?;
        let rest = match rest {
            [] => rest,
            [b':', rest @ ..] => rest,
            _ => return None,
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_index_covers_leading_store_folders_only() {
        let index = ProgramIndex {
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
}
