//! nixpy's cache folder: one entry per project (the warm-path file and the
//! GC roots), generated flakes, shared pip layers.
//!
//! ```text
//! $NIXPY_CACHE_DIR (or $XDG_CACHE_HOME/nixpy, or ~/.cache/nixpy)
//!   v1/projects/<id>/entry.json     the cached environment and its fingerprint
//!   v1/projects/<id>/lock           held while the entry is rebuilt
//!   v1/projects/<id>/shell-profile  GC root of the shell environment
//!   v1/projects/<id>/nixpkgs-source GC root of the pinned nixpkgs
//!   v1/flakes/<key>/                generated flakes, content-addressed (in a
//!                                   private /tmp folder if this path has a
//!                                   space, # or ?, which Nix cannot take)
//!   v1/layers/<key>                 GC root (link) of a pip layer's store path
//!   v1/locks/                       per-layer install locks
//!   v1/interpreters/                what each Nix interpreter provides
//! ```

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::support::atomic_write;
use crate::support::hash::key_of;

#[derive(Debug, Clone)]
pub struct Cache {
    pub root: PathBuf,
}

impl Cache {
    pub fn locate() -> Result<Cache> {
        let base = if let Some(dir) = std::env::var_os("NIXPY_CACHE_DIR").filter(|d| !d.is_empty())
        {
            PathBuf::from(dir)
        } else if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
            PathBuf::from(dir).join("nixpy")
        } else if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            PathBuf::from(home).join(".cache").join("nixpy")
        } else {
            return Err(Error::new("cannot find a cache folder: HOME is not set")
                .with_hint("set NIXPY_CACHE_DIR"));
        };
        let base = if base.is_relative() {
            std::env::current_dir().unwrap_or_default().join(base)
        } else {
            base
        };
        Ok(Cache {
            root: base.join("v1"),
        })
    }

    pub fn project_dir(&self, project_root: &Path) -> PathBuf {
        self.root
            .join("projects")
            .join(key_of(&[project_root.as_os_str().as_encoded_bytes()]))
    }

    /// Generated flakes are passed to Nix as `path:` references, which Nix
    /// parses as URLs without decoding: a cache folder with a space, `#` or
    /// `?` in its path cannot hold them, so they go to a private folder in
    /// /tmp instead (they are regenerated whenever missing).
    pub fn flakes_dir(&self) -> PathBuf {
        let preferred = self.root.join("flakes");
        if is_plain_path(&preferred) {
            return preferred;
        }
        // SAFETY: getuid(2) cannot fail.
        let uid = unsafe { libc::getuid() };
        let tmp = std::env::temp_dir();
        let tmp = if is_plain_path(&tmp) {
            tmp
        } else {
            PathBuf::from("/tmp")
        };
        tmp.join(format!("nixpy-{uid}-flakes"))
    }

    pub fn layers_dir(&self) -> PathBuf {
        self.root.join("layers")
    }

    pub fn locks_dir(&self) -> PathBuf {
        self.root.join("locks")
    }

    pub fn interpreters_dir(&self) -> PathBuf {
        self.root.join("interpreters")
    }

    pub fn ensure(&self, dir: &Path) -> Result<()> {
        if !dir.starts_with(&self.root) {
            return ensure_private_outside(dir);
        }
        atomic_write::create_private_dir(dir).map_err(|e| {
            e.with_hint(format!("nixpy needs a writable cache folder; set NIXPY_CACHE_DIR or fix the permissions of {}", self.root.display()))
        })
    }
}

/// A folder of nixpy's outside the cache root (in /tmp): created private,
/// and refused if someone else made it first.
fn ensure_private_outside(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    atomic_write::create_private_dir(dir)?;
    let meta = std::fs::symlink_metadata(dir).map_err(|e| Error::io("inspect", dir, e))?;
    // SAFETY: getuid(2) cannot fail.
    let uid = unsafe { libc::getuid() };
    if !meta.is_dir() || meta.uid() != uid || meta.permissions().mode() & 0o077 != 0 {
        return Err(Error::new(format!(
            "{} is not a private folder of this user",
            dir.display()
        ))
        .with_hint("remove it, or set NIXPY_CACHE_DIR to a path without spaces, # or ?"));
    }
    Ok(())
}

/// A path Nix accepts inside a `path:` flake reference as it is.
fn is_plain_path(path: &Path) -> bool {
    path.to_str().is_some_and(|p| {
        p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-._+~=,@".contains(&b))
    })
}
