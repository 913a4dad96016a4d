//! GC roots: a link of nixpy's (in its cache folder) that keeps a store path
//! alive, registered with Nix as an indirect root.
//!
//! `nix-store --realise PATH --add-root LINK` makes LINK and registers it
//! (through the daemon for a multi-user store) as
//! `<state dir>/gcroots/auto/<nix32(sha1(LINK))>` -> LINK: the same name
//! on Nix 2.8 to 2.3x. Every garbage collection drops an auto link whose
//! target is missing, even for a moment (a cache folder moved away, an
//! unmounted home), and nothing registers it again when the link comes
//! back: so nixpy checks the registration itself, which costs one
//! `readlink` and never asks the daemon.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::explain::last_lines;
use super::store_path::nix_base32;
use super::{store, Nix};
use crate::error::{Error, Result};
use crate::ui;

/// How often a path is added again when a garbage collection removes it
/// between adding and rooting.
const ADD_ATTEMPTS: u32 = 3;

/// A link of nixpy's that is a GC root, and where Nix registers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GcRoot {
    /// nixpy's link to the store path.
    pub link: PathBuf,
    /// Nix's registration of `link` (`gcroots/auto/<name>`), computed once
    /// so that checking it costs one `readlink`.
    pub auto: PathBuf,
}

/// Whether Nix knows a link as a GC root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Registration {
    Registered,
    /// A garbage collection dropped it (or it was never made).
    Missing,
    /// The registration cannot be read here (another Nix state folder, a
    /// folder this user may not read): assumed fine.
    Unknown,
}

impl GcRoot {
    pub(crate) fn new(link: &Path) -> GcRoot {
        GcRoot {
            link: link.to_path_buf(),
            auto: store::state_dir()
                .join("gcroots/auto")
                .join(auto_link_name(link)),
        }
    }

    /// One `readlink`, no daemon.
    pub(crate) fn registration(&self) -> Registration {
        match std::fs::read_link(&self.auto) {
            Ok(target) if target == self.link => Registration::Registered,
            // A link of that name to something else: a hash collision
            // cannot happen, so a stale or foreign file; ours is not there.
            Ok(_) => Registration::Missing,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Registration::Missing,
            Err(_) => Registration::Unknown,
        }
    }

    pub(crate) fn is_missing(&self) -> bool {
        self.registration() == Registration::Missing
    }
}

impl Nix {
    /// Makes `link` a registered GC root of `store_path`, fetching the path
    /// from a substituter when it is not here. Registering again a root a
    /// garbage collection dropped is the same call. `Ok(Err(stderr))`: Nix
    /// could not (its own words, for the caller to explain).
    pub(crate) fn realise_rooted(
        &self,
        store_path: &str,
        link: &Path,
    ) -> Result<std::result::Result<GcRoot, String>> {
        let roots = self.realise_rooted_all(&[store_path.to_owned()], link)?;
        Ok(roots.map(|mut roots| roots.remove(0)))
    }

    /// Makes `link` a registered GC root of the first of `paths`, and
    /// `link-2`, `link-3`, ... of the others (Nix's own naming), fetching
    /// any that are not here from a substituter: one call however many
    /// paths (a pip layer roots its composition and every distribution).
    /// `Ok(Err(stderr))`: one of them cannot be had, and none is rooted.
    pub(crate) fn realise_rooted_all(
        &self,
        paths: &[String],
        link: &Path,
    ) -> Result<std::result::Result<Vec<GcRoot>, String>> {
        let mut args: Vec<OsString> = vec!["--realise".into()];
        args.extend(paths.iter().map(OsString::from));
        args.extend(["--add-root".into(), link.into()]);
        Ok(match self.run_store("root store paths", &args)? {
            Ok(_) => Ok(rooted_links(link, paths.len())
                .iter()
                .map(|l| GcRoot::new(l))
                .collect()),
            Err(out) => {
                tracing::debug!("cannot realise {paths:?}: {}", out.stderr.trim());
                Err(out.stderr)
            }
        })
    }

    /// Roots a path that is here (again, when a garbage collection dropped
    /// its root). A failure only warns: the path merely stays unprotected.
    pub(crate) fn keep_rooted(&self, store_path: &str, link: &Path) -> Result<GcRoot> {
        if let Err(stderr) = self.realise_rooted(store_path, link)? {
            ui::warn(&format!(
                "could not protect {store_path} from garbage collection:\n{}",
                last_lines(&stderr, 5)
            ));
        }
        Ok(GcRoot::new(link))
    }

    /// Adds something to the store with `add` (which returns its store
    /// path) and roots it at `link`. No Nix command adds and roots in one
    /// step, so a garbage collection may remove the path in between: then
    /// it is added again (up to [`ADD_ATTEMPTS`] times).
    pub(crate) fn add_rooted(
        &self,
        link: &Path,
        mut add: impl FnMut() -> Result<String>,
    ) -> Result<(String, GcRoot)> {
        let mut attempt = 1;
        loop {
            let store_path = add()?;
            let stderr = match self.realise_rooted(&store_path, link)? {
                Ok(root) => return Ok((store_path, root)),
                Err(stderr) => stderr,
            };
            let vanished = !Path::new(&store_path).exists();
            if vanished && attempt < ADD_ATTEMPTS {
                ui::note(&format!(
                    "a garbage collection removed {store_path} before it was protected; adding it again"
                ));
                attempt += 1;
                continue;
            }
            return Err(root_failure(&store_path, link, &stderr, vanished));
        }
    }
}

/// Why `link` could not be made a root of `store_path`, with the fix that
/// applies to this kind of store.
fn root_failure(store_path: &str, link: &Path, stderr: &str, vanished: bool) -> Error {
    let error = Error::new(format!(
        "cannot register {} as a GC root for {store_path}:\n{}",
        link.display(),
        last_lines(stderr, 5)
    ));
    let folder = link.parent().unwrap_or(link).display();
    if vanished {
        error.with_hint(format!(
            "garbage collections kept removing it ({ADD_ATTEMPTS} times) before nixpy could protect it; run again when the collection is over"
        ))
    } else if stderr.contains("Permission denied") && !store::is_local() {
        error.with_hint(format!(
            "nixpy makes the root link in {folder}, which must be writable by you (the nix-daemon registers it)"
        ))
    } else if store::is_local() {
        error.with_hint(format!(
            "check that {folder} and {}/gcroots are writable (`nixpy doctor`)",
            store::state_dir().display()
        ))
    } else {
        error.with_hint(format!(
            "check that {folder} is writable and the nix-daemon is reachable (`nixpy doctor`)"
        ))
    }
}

/// The links `nix-store --realise P1 P2 ... --add-root LINK` makes: LINK,
/// then LINK-2, LINK-3, ...
pub(crate) fn rooted_links(link: &Path, count: usize) -> Vec<PathBuf> {
    (0..count)
        .map(|i| {
            if i == 0 {
                link.to_path_buf()
            } else {
                let mut name = link.as_os_str().to_owned();
                name.push(format!("-{}", i + 1));
                PathBuf::from(name)
            }
        })
        .collect()
}

/// The name Nix gives the registration of the indirect root `link`: the
/// SHA-1 of the path as given, in Nix's base 32.
pub(crate) fn auto_link_name(link: &Path) -> String {
    let digest = sha1_smol::Sha1::from(link.as_os_str().as_encoded_bytes())
        .digest()
        .bytes();
    nix_base32(&digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_link_names_match_nix() {
        // Registrations made by Nix 2.8 (`nix-store --realise --add-root`).
        assert_eq!(
            auto_link_name(Path::new("/tmp/rootbench/multi-2")),
            "0qx4hzy0lssdg0llr4rs7sbwgakfk9py"
        );
        assert_eq!(
            auto_link_name(Path::new(
                "/tmp/nixpy-it-cache-FUyIWw/v1/layers/0a20cf17c6f76626f457e34fb8360c0f"
            )),
            "0dpzadi7z0230gwrgg5jzmr9ww1z6h2r"
        );
    }

    #[test]
    fn many_paths_root_as_nix_names_them() {
        // `nix-store --realise a b c --add-root /c/multi` (Nix 2.8).
        assert_eq!(
            rooted_links(Path::new("/c/multi"), 3),
            [
                PathBuf::from("/c/multi"),
                PathBuf::from("/c/multi-2"),
                PathBuf::from("/c/multi-3")
            ]
        );
    }

    #[test]
    fn registration_follows_the_auto_link() {
        let tmp = tempfile::tempdir().unwrap();
        let link = tmp.path().join("root");
        let root = GcRoot {
            link: link.clone(),
            auto: tmp.path().join("auto-name"),
        };
        assert_eq!(root.registration(), Registration::Missing);
        std::os::unix::fs::symlink(&link, &root.auto).unwrap();
        assert_eq!(root.registration(), Registration::Registered);
        std::fs::remove_file(&root.auto).unwrap();
        std::os::unix::fs::symlink("/elsewhere", &root.auto).unwrap();
        assert_eq!(root.registration(), Registration::Missing);
    }
}
