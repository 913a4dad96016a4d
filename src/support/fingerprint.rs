//! A fingerprint of inputs: non-file values and file stamps, checked
//! cheaply against the present.
//!
//! The warm path compares cheap stats first (size, mtime, inode); only a
//! file whose stat moved is hashed, so touching a file without changing it
//! costs a hash, not a rebuild.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::hash::hash_reader;
use super::input_file;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stat {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
    pub dev: u64,
}

impl Stat {
    pub(crate) fn of(path: &Path) -> Option<Stat> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Stat {
            size: meta.len(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            ctime_ns: meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
            ino: meta.ino(),
            dev: meta.dev(),
        })
    }
}

/// One input file: its stat and content hash when read, or absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileStamp {
    #[serde(with = "super::os_bytes::path")]
    pub path: PathBuf,
    pub stat: Option<Stat>,
    pub hash: Option<String>,
}

impl FileStamp {
    /// Stamps `path` as it is now. The stat is taken before the read, so a
    /// write racing with us shows up as a changed stat next time. Only a
    /// regular file is read (a FIFO would block, `/dev/zero` never ends):
    /// anything else has no hash, which differs from any file's.
    pub(super) fn take(path: &Path) -> FileStamp {
        let stat = Stat::of(path);
        let hash = stat
            .and_then(|_| input_file::open_regular(path).ok())
            .and_then(|file| hash_reader(file).ok());
        FileStamp {
            path: path.to_path_buf(),
            stat,
            hash,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fingerprint {
    /// Non-file inputs by name (for nixpy: its version, the system, the
    /// nixpkgs override, the Nix binary).
    pub scalars: BTreeMap<String, String>,
    pub files: Vec<FileStamp>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Freshness {
    Fresh,
    /// Unchanged in content, but some stats moved: these are the new stamps.
    FreshWithNewStats(Vec<FileStamp>),
    Stale(String),
}

impl Fingerprint {
    pub(crate) fn add_file(&mut self, path: &Path) {
        if !self.files.iter().any(|f| f.path == path) {
            self.files.push(FileStamp::take(path));
        }
    }

    pub(crate) fn check(&self, scalars: &BTreeMap<String, String>) -> Freshness {
        if &self.scalars != scalars {
            let changed = scalars
                .iter()
                .find(|(k, v)| self.scalars.get(*k) != Some(*v))
                .map(|(k, _)| k.clone())
                .or_else(|| {
                    self.scalars
                        .keys()
                        .find(|k| !scalars.contains_key(*k))
                        .cloned()
                })
                .unwrap_or_default();
            return Freshness::Stale(format!("{changed} changed"));
        }
        let mut restamped = Vec::new();
        for stamp in &self.files {
            let now = Stat::of(&stamp.path);
            if now == stamp.stat {
                continue;
            }
            match (now, stamp.stat) {
                (None, _) => {
                    return Freshness::Stale(format!("{} was removed", stamp.path.display()))
                }
                (Some(_), None) => {
                    return Freshness::Stale(format!("{} was created", stamp.path.display()))
                }
                (Some(_), Some(_)) => {
                    let fresh = FileStamp::take(&stamp.path);
                    if fresh.hash != stamp.hash {
                        return Freshness::Stale(format!("{} changed", stamp.path.display()));
                    }
                    restamped.push(fresh);
                }
            }
        }
        if restamped.is_empty() {
            Freshness::Fresh
        } else {
            Freshness::FreshWithNewStats(restamped)
        }
    }

    pub(crate) fn restamp(&mut self, new: Vec<FileStamp>) {
        for stamp in new {
            if let Some(old) = self.files.iter_mut().find(|f| f.path == stamp.path) {
                *old = stamp;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalars() -> BTreeMap<String, String> {
        [("nixpy".to_owned(), "1".to_owned())].into()
    }

    #[test]
    fn touch_without_change_stays_fresh_and_edit_goes_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("nixpy.toml");
        std::fs::write(&f, "a").unwrap();
        let mut fp = Fingerprint {
            scalars: scalars(),
            files: vec![],
        };
        fp.add_file(&f);
        assert_eq!(fp.check(&scalars()), Freshness::Fresh);

        // Same content, new inode and mtime.
        std::fs::remove_file(&f).unwrap();
        std::fs::write(&f, "a").unwrap();
        let Freshness::FreshWithNewStats(new) = fp.check(&scalars()) else {
            panic!("expected fresh")
        };
        fp.restamp(new);
        assert_eq!(fp.check(&scalars()), Freshness::Fresh);

        std::fs::write(&f, "b").unwrap();
        assert!(matches!(fp.check(&scalars()), Freshness::Stale(why) if why.contains("changed")));
    }

    #[test]
    fn appearing_and_disappearing_files_are_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("requirements.txt");
        let mut fp = Fingerprint {
            scalars: scalars(),
            files: vec![],
        };
        fp.add_file(&f);
        std::fs::write(&f, "rich").unwrap();
        assert!(matches!(fp.check(&scalars()), Freshness::Stale(why) if why.contains("created")));
        let mut fp = Fingerprint {
            scalars: scalars(),
            files: vec![],
        };
        fp.add_file(&f);
        std::fs::remove_file(&f).unwrap();
        assert!(matches!(fp.check(&scalars()), Freshness::Stale(why) if why.contains("removed")));
    }

    #[test]
    fn scalar_changes_are_named() {
        let fp = Fingerprint {
            scalars: scalars(),
            files: vec![],
        };
        let mut other = scalars();
        other.insert("nixpy".into(), "2".into());
        assert_eq!(fp.check(&other), Freshness::Stale("nixpy changed".into()));
    }
}
