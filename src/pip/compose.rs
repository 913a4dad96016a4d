//! The layer's composition: one folder of links over its distributions'
//! store paths, merged as nixpkgs' `buildEnv` merges: a folder only one
//! distribution has is one link; a folder several have (`lib`,
//! `site-packages`, a namespace package, `bin`) is a real folder whose
//! entries are merged the same way. So `sys.path` gets one site-packages,
//! namespace packages spread over distributions import as one, and every
//! console script is in one `bin/`.
//!
//! The composition also names its distributions (`nixpy-layer.json`), for
//! rooting, `nixpy gc` and `nixpy push`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The file in a composition naming its distributions.
pub(super) const MANIFEST: &str = "nixpy-layer.json";

/// One distribution in a composition: the store path the links point into,
/// and where its tree can be read now (the store path itself, or the
/// staging folder of one not added yet).
pub(super) struct Part<'a> {
    pub target: &'a str,
    pub contents: &'a Path,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct LayerManifest {
    /// Store paths of the distributions, in the order they were merged.
    pub dists: Vec<String>,
    /// When some were built here from source: the key of the Nix shell's
    /// environment they were built in (the layer serves that shell only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_in: Option<String>,
}

/// Writes the composition of `parts` into the new folder `out`.
pub(super) fn compose(out: &Path, parts: &[Part<'_>], built_in: Option<&str>) -> Result<()> {
    std::fs::create_dir(out).map_err(|e| Error::io("create folder", out, e))?;
    let mut merger = Merger {
        out,
        parts,
        owner: HashMap::new(),
    };
    for (index, part) in parts.iter().enumerate() {
        for name in children(part.contents)? {
            merger.add(&PathBuf::from(name), index)?;
        }
    }
    let manifest = LayerManifest {
        dists: parts.iter().map(|p| p.target.to_owned()).collect(),
        built_in: built_in.map(str::to_owned),
    };
    let path = out.join(MANIFEST);
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&manifest).expect("manifest serialises"),
    )
    .map_err(|e| Error::io("write", &path, e))
}

/// The distributions a composition names.
pub(super) fn read_manifest(layer: &Path) -> Option<LayerManifest> {
    serde_json::from_slice(&std::fs::read(layer.join(MANIFEST)).ok()?).ok()
}

struct Merger<'a> {
    out: &'a Path,
    parts: &'a [Part<'a>],
    /// Which part each link in `out` points into.
    owner: HashMap<PathBuf, usize>,
}

impl Merger<'_> {
    fn add(&mut self, rel: &Path, index: usize) -> Result<()> {
        let dest = self.out.join(rel);
        let part = &self.parts[index];
        let source = part.contents.join(rel);
        let source_is_dir = std::fs::metadata(&source).is_ok_and(|m| m.is_dir());
        match std::fs::symlink_metadata(&dest) {
            Err(_) => {
                let target = Path::new(part.target).join(rel);
                std::os::unix::fs::symlink(&target, &dest)
                    .map_err(|e| Error::io("link", &dest, e))?;
                self.owner.insert(rel.to_path_buf(), index);
                Ok(())
            }
            Ok(meta) if meta.is_symlink() => {
                let earlier = self.owner[rel];
                let earlier_source = self.parts[earlier].contents.join(rel);
                let earlier_is_dir = std::fs::metadata(&earlier_source).is_ok_and(|m| m.is_dir());
                if source_is_dir && earlier_is_dir {
                    // Shared by two distributions: a real folder of both.
                    std::fs::remove_file(&dest).map_err(|e| Error::io("remove", &dest, e))?;
                    std::fs::create_dir(&dest).map_err(|e| Error::io("create folder", &dest, e))?;
                    self.owner.remove(rel);
                    for name in children(&earlier_source)? {
                        self.add(&rel.join(name), earlier)?;
                    }
                    self.add_children(rel, &source, index)
                } else {
                    self.collision(rel, earlier, index, &earlier_source, &source)
                }
            }
            Ok(meta) if meta.is_dir() && source_is_dir => self.add_children(rel, &source, index),
            Ok(_) => {
                let earlier = self.owner.get(rel).copied().unwrap_or(index);
                self.collision(rel, earlier, index, &dest, &source)
            }
        }
    }

    fn add_children(&mut self, rel: &Path, source: &Path, index: usize) -> Result<()> {
        for name in children(source)? {
            self.add(&rel.join(name), index)?;
        }
        Ok(())
    }

    /// Two distributions install the same path. Identical files are the
    /// same file; otherwise the first stays (an installer would have let
    /// the last overwrite it, in an order nobody chose).
    fn collision(
        &self,
        rel: &Path,
        earlier: usize,
        later: usize,
        a: &Path,
        b: &Path,
    ) -> Result<()> {
        let same = matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y);
        if !same {
            tracing::debug!(
                "{} is in {} and {}; the layer keeps the first",
                rel.display(),
                self.parts[earlier].target,
                self.parts[later].target
            );
        }
        Ok(())
    }
}

fn children(dir: &Path) -> Result<Vec<std::ffi::OsString>> {
    let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(dir)
        .map_err(|e| Error::io("read", dir, e))?
        .flatten()
        .map(|e| e.file_name())
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn shared_folders_merge_and_others_are_one_link() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        let sp = "lib/python3.11/site-packages";
        write(&a.join(sp).join("nsp/a/__init__.py"), "");
        write(&a.join(sp).join("plain.py"), "");
        write(&a.join("bin/a-cli"), "");
        write(&b.join(sp).join("nsp/b/__init__.py"), "");
        write(&b.join(sp).join("hook.pth"), "import x\n");
        write(&b.join("share/b/x.txt"), "");
        let out = tmp.path().join("layer");
        let parts = [
            Part {
                target: "/nix/store/aaa-nixpy-dist-a-1",
                contents: &a,
            },
            Part {
                target: "/nix/store/bbb-nixpy-dist-b-1",
                contents: &b,
            },
        ];
        compose(&out, &parts, None).unwrap();
        let link = |rel: &str| {
            std::fs::read_link(out.join(rel))
                .ok()
                .map(|p| p.display().to_string())
        };
        assert!(out.join(sp).join("nsp").is_dir() && !out.join(sp).join("nsp").is_symlink());
        assert_eq!(
            link(&format!("{sp}/nsp/a")).as_deref(),
            Some("/nix/store/aaa-nixpy-dist-a-1/lib/python3.11/site-packages/nsp/a")
        );
        assert_eq!(
            link(&format!("{sp}/nsp/b")).as_deref(),
            Some("/nix/store/bbb-nixpy-dist-b-1/lib/python3.11/site-packages/nsp/b")
        );
        assert_eq!(
            link(&format!("{sp}/hook.pth")).as_deref(),
            Some("/nix/store/bbb-nixpy-dist-b-1/lib/python3.11/site-packages/hook.pth")
        );
        assert_eq!(
            link("bin").as_deref(),
            Some("/nix/store/aaa-nixpy-dist-a-1/bin"),
            "a folder one distribution has is one link"
        );
        assert_eq!(
            link("share").as_deref(),
            Some("/nix/store/bbb-nixpy-dist-b-1/share")
        );
        assert_eq!(
            read_manifest(&out).unwrap().dists,
            [
                "/nix/store/aaa-nixpy-dist-a-1",
                "/nix/store/bbb-nixpy-dist-b-1"
            ]
        );
    }

    #[test]
    fn a_file_in_two_distributions_keeps_the_first() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        write(&a.join("x/tests/__init__.py"), "a");
        write(&b.join("x/tests/__init__.py"), "b");
        write(&b.join("x/other.py"), "");
        let out = tmp.path().join("layer");
        let parts = [
            Part {
                target: "/s/a",
                contents: &a,
            },
            Part {
                target: "/s/b",
                contents: &b,
            },
        ];
        compose(&out, &parts, Some("env")).unwrap();
        assert_eq!(
            read_manifest(&out).unwrap().built_in.as_deref(),
            Some("env")
        );
        assert_eq!(
            std::fs::read_link(out.join("x/tests/__init__.py")).unwrap(),
            Path::new("/s/a/x/tests/__init__.py")
        );
        assert_eq!(
            std::fs::read_link(out.join("x/other.py")).unwrap(),
            Path::new("/s/b/x/other.py")
        );
    }
}
