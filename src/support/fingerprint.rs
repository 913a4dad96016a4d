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

use super::hash::{hash_bytes, hash_reader};
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

/// A symbolic link met on the way to an input file, and where it pointed:
/// re-pointing it (`ln -sfn env-b env`) changes which files are read, even
/// when every file read before is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LinkStamp {
    #[serde(with = "super::os_bytes::path")]
    pub path: PathBuf,
    #[serde(with = "super::os_bytes::path")]
    pub target: PathBuf,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fingerprint {
    /// Non-file inputs by name (for nixpy: its version, the system, the
    /// nixpkgs override, the Nix binary).
    pub scalars: BTreeMap<String, String>,
    pub files: Vec<FileStamp>,
    /// The links on the way to the files, as they were.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkStamp>,
    /// Environment variables the inputs name (`${NAME}` in a requirements
    /// file), by the hash of their value (never the value: it may be a
    /// token), `None` when unset.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, Option<String>>,
}

/// The hash of the variable `name`'s value, `None` when it is unset.
fn variable_hash(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| hash_bytes(value.as_encoded_bytes()))
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

    /// Records the environment variable `name` as an input.
    pub(crate) fn add_variable(&mut self, name: &str) {
        self.variables.insert(name.to_owned(), variable_hash(name));
    }

    /// Stamps the symbolic links met on the way from `written` (a path as
    /// the user wrote it, made absolute) to the file it names.
    pub(crate) fn add_links(&mut self, written: &Path) {
        for (path, target) in links_along(written) {
            if !self.links.iter().any(|l| l.path == path) {
                self.links.push(LinkStamp { path, target });
            }
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
        for (name, hash) in &self.variables {
            if variable_hash(name) != *hash {
                return Freshness::Stale(format!("${{{name}}} changed"));
            }
        }
        for link in &self.links {
            if std::fs::read_link(&link.path).ok().as_ref() != Some(&link.target) {
                return Freshness::Stale(format!(
                    "{} no longer points to {}",
                    link.path.display(),
                    link.target.display()
                ));
            }
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

/// The symbolic links met while resolving the absolute path `path`, each
/// with its target as read, in the order the kernel follows them (at most
/// 40, as Linux allows).
pub(crate) fn links_along(path: &Path) -> Vec<(PathBuf, PathBuf)> {
    use std::ffi::OsString;
    let mut links = Vec::new();
    // What is left to resolve, last component first.
    let mut pending: Vec<OsString> = path
        .components()
        .rev()
        .map(|c| c.as_os_str().to_owned())
        .collect();
    let mut resolved = PathBuf::from("/");
    while let Some(part) = pending.pop() {
        if part == "/" {
            resolved = PathBuf::from("/");
        } else if part == ".." {
            resolved.pop();
        } else if part != "." {
            let next = resolved.join(&part);
            match std::fs::read_link(&next) {
                Ok(target) if links.len() < 40 => {
                    pending.extend(target.components().rev().map(|c| c.as_os_str().to_owned()));
                    links.push((next, target));
                }
                _ => resolved = next,
            }
        }
    }
    links
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
            ..Fingerprint::default()
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
            ..Fingerprint::default()
        };
        fp.add_file(&f);
        std::fs::write(&f, "rich").unwrap();
        assert!(matches!(fp.check(&scalars()), Freshness::Stale(why) if why.contains("created")));
        let mut fp = Fingerprint {
            scalars: scalars(),
            files: vec![],
            ..Fingerprint::default()
        };
        fp.add_file(&f);
        std::fs::remove_file(&f).unwrap();
        assert!(matches!(fp.check(&scalars()), Freshness::Stale(why) if why.contains("removed")));
    }

    /// Issue 13, item 12: re-pointing a link on the way to an input is a
    /// change, even when the file it now reaches has the same bytes.
    #[test]
    fn links_on_the_way_are_stamped_and_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        for dir in ["env-a", "env-b"] {
            std::fs::create_dir(root.join(dir)).unwrap();
            std::fs::write(root.join(dir).join("reqs.txt"), "six\n").unwrap();
        }
        std::os::unix::fs::symlink("env-a", root.join("env")).unwrap();
        std::os::unix::fs::symlink("../env/reqs.txt", root.join("env-b/link.txt")).unwrap();
        let written = root.join("env-b/link.txt");
        assert_eq!(
            links_along(&written),
            [
                (
                    root.join("env-b/link.txt"),
                    PathBuf::from("../env/reqs.txt")
                ),
                (root.join("env"), PathBuf::from("env-a")),
            ]
        );
        let mut fp = Fingerprint {
            scalars: scalars(),
            ..Fingerprint::default()
        };
        fp.add_file(&written.canonicalize().unwrap());
        fp.add_links(&written);
        assert_eq!(fp.check(&scalars()), Freshness::Fresh);
        std::fs::remove_file(root.join("env")).unwrap();
        std::os::unix::fs::symlink("env-b", root.join("env")).unwrap();
        assert!(
            matches!(fp.check(&scalars()), Freshness::Stale(why) if why.ends_with("env no longer points to env-a")),
        );
    }

    #[test]
    fn scalar_changes_are_named() {
        let fp = Fingerprint {
            scalars: scalars(),
            files: vec![],
            ..Fingerprint::default()
        };
        let mut other = scalars();
        other.insert("nixpy".into(), "2".into());
        assert_eq!(fp.check(&other), Freshness::Stale("nixpy changed".into()));
    }
}
