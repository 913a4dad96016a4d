//! Last-use stamps: a file's mtime set to now, which `nixpy gc
//! --older-than` reads to tell what is still used. One `utimensat`, no
//! write of the contents.

use std::path::Path;

/// Marks `path` used now; a file that cannot be opened stays as it is.
pub(crate) fn mark_used(path: &Path) {
    if let Ok(file) = std::fs::File::options().append(true).open(path) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
}
