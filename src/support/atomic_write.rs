//! Writing files and folders so that readers see the old state or the new
//! one, never half of either: write beside the target, then rename.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Replaces a file of nixpy's cache with `contents` atomically (same-folder
/// temp file, fsync, rename). A new file is readable by the user only.
pub(crate) fn write_file(path: &Path, contents: &[u8]) -> Result<()> {
    write_with_mode(path, contents, 0o600)
}

/// The same for a file of the user's project (nixpy.lock, the manifest,
/// .envrc): a new one gets the usual 0666 less the umask, as an editor
/// would give it, since it is committed and shared. A symbolic link is
/// followed: its target is replaced (atomically, beside it) and the link
/// stays a link.
pub(crate) fn write_project_file(path: &Path, contents: &[u8]) -> Result<()> {
    write_with_mode(&link_target(path), contents, 0o666 & !current_umask())
}

/// The file `path` ends at after following symbolic links (itself when it
/// is none; the last target when the chain ends at nothing, so writing
/// creates it; at most 40 links, as Linux follows).
fn link_target(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(&current) else {
            break;
        };
        current = match current.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    current
}

#[allow(unsafe_code)]
fn current_umask() -> u32 {
    // SAFETY: umask(2) cannot fail; it is set back at once (nixpy is
    // single-threaded where it writes files).
    unsafe {
        let mask = libc::umask(0o022);
        libc::umask(mask);
        mask as u32
    }
}

fn write_with_mode(path: &Path, contents: &[u8], new_mode: u32) -> Result<()> {
    let tmp = staged(path, contents, new_mode)?;
    tmp.persist(path)
        .map_err(|e| Error::io("replace", path, e.error))?;
    Ok(())
}

/// `contents` written and flushed to a temporary file beside `path`, with
/// the permissions of the file it will replace (a user's lock, manifest),
/// else `new_mode`: renaming it onto `path` is the write.
fn staged(path: &Path, contents: &[u8], new_mode: u32) -> Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".nixpy-tmp-")
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    tmp.write_all(contents)
        .map_err(|e| Error::io("write", tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io("flush", tmp.path(), e))?;
    let permissions = match std::fs::metadata(path) {
        Ok(meta) => meta.permissions(),
        Err(_) => std::os::unix::fs::PermissionsExt::from_mode(new_mode),
    };
    let _ = std::fs::set_permissions(tmp.path(), permissions);
    Ok(tmp)
}

/// Sets several project files at once: each new content (`None`: remove
/// the file) is written beside its target first, so a failure there
/// changes nothing; then each is renamed into place. Readers see each file
/// old or new, never half written.
pub(crate) fn replace_project_files(
    changes: &[(std::path::PathBuf, Option<Vec<u8>>)],
) -> Result<()> {
    // Through symlinks, as write_project_file: a link stays a link.
    let changes: Vec<(PathBuf, &Option<Vec<u8>>)> = changes
        .iter()
        .map(|(path, contents)| (link_target(path), contents))
        .collect();
    let mut ready = Vec::new();
    for (path, contents) in &changes {
        let Some(contents) = contents else { continue };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("create folder", dir, e))?;
        }
        ready.push((staged(path, contents, 0o666 & !current_umask())?, path));
    }
    for (tmp, path) in ready {
        tmp.persist(path)
            .map_err(|e| Error::io("replace", path, e.error))?;
    }
    for (path, contents) in &changes {
        if contents.is_none() {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove", path, e)),
            }
        }
    }
    Ok(())
}

/// A temporary folder in `dir`, private to the user whatever the umask
/// (it may become a published cache folder by rename).
pub(crate) fn private_tempdir_in(dir: &Path, prefix: &str) -> Result<tempfile::TempDir> {
    let tmp = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(dir)
        .map_err(|e| Error::io("create a folder in", dir, e))?;
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .map_err(|e| Error::io("restrict", tmp.path(), e))?;
    Ok(tmp)
}

/// Creates a file readable and writable by the user only.
pub(crate) fn create_private_file(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("create", path, e))
}

/// Creates `path` (and parents) readable only by the user: cache folders
/// can hold environment values.
pub(crate) fn create_private_dir(path: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| Error::io("create folder", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 13, item 15: writing a project file through a symlink
    /// replaces the target and keeps the link.
    #[test]
    fn project_files_are_written_through_their_links() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir(dir.join("config")).unwrap();
        std::fs::write(dir.join("config/nixpy.toml"), "old").unwrap();
        std::os::unix::fs::symlink("config/nixpy.toml", dir.join("nixpy.toml")).unwrap();
        std::os::unix::fs::symlink("nixpy.toml", dir.join("again.toml")).unwrap();
        write_project_file(&dir.join("again.toml"), b"new").unwrap();
        assert!(dir
            .join("nixpy.toml")
            .symlink_metadata()
            .unwrap()
            .is_symlink());
        assert!(dir
            .join("again.toml")
            .symlink_metadata()
            .unwrap()
            .is_symlink());
        assert_eq!(
            std::fs::read_to_string(dir.join("config/nixpy.toml")).unwrap(),
            "new"
        );
        // A link to nothing yet: the file is created where it points.
        std::os::unix::fs::symlink("config/nixpy.lock", dir.join("nixpy.lock")).unwrap();
        write_project_file(&dir.join("nixpy.lock"), b"lock").unwrap();
        assert!(dir
            .join("nixpy.lock")
            .symlink_metadata()
            .unwrap()
            .is_symlink());
        assert_eq!(
            std::fs::read_to_string(dir.join("config/nixpy.lock")).unwrap(),
            "lock"
        );
    }
}
