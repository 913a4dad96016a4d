//! Locks on files (flock), held until dropped: exclusive, or shared (many
//! holders, none while someone holds it exclusively).

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Result};

/// Lock files are private whatever the umask.
fn lock_file_options() -> std::fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true).mode(0o600);
    options
}

/// An exclusive lock on a file, held until dropped.
pub(crate) struct FileLock {
    _file: File,
}

impl FileLock {
    /// Waits for the lock; `on_wait` runs first when someone else holds it
    /// (to say why this run waits).
    pub(crate) fn acquire(path: &Path, on_wait: impl FnOnce()) -> Result<FileLock> {
        FileLock::wait_for(path, File::try_lock, File::lock, on_wait)
    }

    /// A shared lock: waits only while someone holds the lock exclusively
    /// (`on_wait` runs first then).
    pub(crate) fn acquire_shared(path: &Path, on_wait: impl FnOnce()) -> Result<FileLock> {
        FileLock::wait_for(path, File::try_lock_shared, File::lock_shared, on_wait)
    }

    /// Takes the lock with `try_lock`, else runs `on_wait` and waits for
    /// it with `lock`.
    fn wait_for(
        path: &Path,
        try_lock: fn(&File) -> std::result::Result<(), std::fs::TryLockError>,
        lock: fn(&File) -> std::io::Result<()>,
        on_wait: impl FnOnce(),
    ) -> Result<FileLock> {
        let file = lock_file_options()
            .open(path)
            .map_err(|e| Error::io("open lock file", path, e))?;
        match try_lock(&file) {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                on_wait();
                lock(&file).map_err(|e| Error::io("lock", path, e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", path, e)),
        }
        Ok(FileLock { _file: file })
    }

    /// Takes the lock only if nobody holds it.
    pub(crate) fn try_acquire(path: &Path) -> Option<FileLock> {
        let file = lock_file_options().open(path).ok()?;
        file.try_lock().ok()?;
        Some(FileLock { _file: file })
    }
}
