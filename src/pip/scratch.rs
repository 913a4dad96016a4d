//! Scratch folders for resolutions and installs, and files written there.

use std::path::Path;

use crate::error::{Error, Result};
use crate::layout::{self, Cache};

pub(super) fn scratch_dir(cache: &Cache) -> Result<tempfile::TempDir> {
    let dir = cache.tmp_dir();
    cache.ensure(&dir)?;
    crate::support::atomic_write::private_tempdir_in(&dir, layout::SCRATCH)
}

pub(super) fn write(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    crate::support::atomic_write::create_private_file(path)?
        .write_all(text.as_bytes())
        .map_err(|e| Error::io("write", path, e))
}
