//! Exclusive locks on files (flock), held until dropped.

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Result};
use crate::ui;

/// Lock files are private whatever the umask.
fn lock_file_options() -> std::fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true).mode(0o600);
    options
}

/// An exclusive lock on a file, held until dropped. Waiting runs say so.
pub struct FileLock {
    _file: File,
}

impl FileLock {
    pub fn acquire(path: &Path, what: &str) -> Result<FileLock> {
        let file = lock_file_options()
            .open(path)
            .map_err(|e| Error::io("open lock file", path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                ui::status(&format!("waiting for another nixpy to finish {what}"));
                file.lock().map_err(|e| Error::io("lock", path, e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", path, e)),
        }
        Ok(FileLock { _file: file })
    }

    /// Takes the lock only if nobody holds it.
    pub fn try_acquire(path: &Path) -> Option<FileLock> {
        let file = lock_file_options().open(path).ok()?;
        file.try_lock().ok()?;
        Some(FileLock { _file: file })
    }
}
