//! Where the Nix store is, and paths inside it.

use std::path::{Path, PathBuf};

/// The store folder. nixpy assumes Nix's default: every store path, and
/// every binary cache, is made for it.
pub(crate) const STORE_DIR: &str = "/nix/store";

/// `path` is inside the store (`/nix/store/...`).
pub(crate) fn is_store_path(path: &str) -> bool {
    path.strip_prefix(STORE_DIR)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether Nix opens the store itself (rather than through a nix-daemon),
/// told without running it, as Nix's `auto` store decides: `NIX_REMOTE`
/// when set, else local when this user may write Nix's state folder.
pub(crate) fn is_local() -> bool {
    match std::env::var("NIX_REMOTE").unwrap_or_default().as_str() {
        "" | "auto" => state_dir_writable(),
        remote => remote == "local" || remote.starts_with("local?") || remote.starts_with('/'),
    }
}

/// Nix's state folder (`NIX_STATE_DIR`, else Nix's default): its GC roots
/// and, by default, the daemon's socket.
pub(super) fn state_dir() -> PathBuf {
    std::env::var_os("NIX_STATE_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("/nix/var/nix"), PathBuf::from)
}

#[allow(unsafe_code)]
fn state_dir_writable() -> bool {
    use std::os::unix::ffi::OsStrExt;
    let dir = state_dir();
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access(2) only reads the NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::R_OK | libc::W_OK) == 0 }
}

/// `dir` is the store or inside it.
pub(super) fn is_under_store(dir: &Path) -> bool {
    dir.starts_with(STORE_DIR)
}

/// `/nix/store/abc-name/bin/x` -> `/nix/store/abc-name`.
pub(crate) fn store_path_of(path: &str) -> &str {
    let Some(rest) = path
        .strip_prefix(STORE_DIR)
        .and_then(|rest| rest.strip_prefix('/'))
    else {
        return path;
    };
    match rest.find('/') {
        Some(i) => &path[..STORE_DIR.len() + 1 + i],
        None => path,
    }
}

/// `/nix/store/<hash>-broken-1.0.drv` -> `broken-1.0`.
pub(super) fn derivation_name(drv: &str) -> &str {
    let file = drv.rsplit('/').next().unwrap_or(drv);
    let file = file.strip_suffix(".drv").unwrap_or(file);
    file.split_once('-').map_or(file, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_paths_are_recognised_and_cut_to_their_root() {
        assert!(is_store_path("/nix/store/abc-x/bin"));
        assert!(!is_store_path("/nix/storex/abc"));
        assert!(!is_store_path("/usr/bin"));
        assert_eq!(store_path_of("/nix/store/abc-x/bin/x"), "/nix/store/abc-x");
        assert_eq!(store_path_of("/nix/store/abc-x"), "/nix/store/abc-x");
        assert_eq!(store_path_of("/usr/bin/x"), "/usr/bin/x");
    }
}
