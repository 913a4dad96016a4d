//! Reading a user's input file: only a regular file, and only up to a size.
//!
//! A FIFO, a device or a link to `/dev/zero` in place of a manifest or a
//! requirements file would otherwise block nixpy forever or fill memory
//! (and direnv, which runs nixpy on every prompt, with it).

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// The largest input file nixpy reads. Real manifests, requirement files,
/// locks and Nix files are kilobytes; this leaves room for generated ones.
pub(crate) const MAX_INPUT_BYTES: u64 = 8 << 20;

/// Opens `path` without blocking (a FIFO with no writer would wait
/// forever), and refuses anything but a regular file.
pub(crate) fn open_regular(path: &Path) -> Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| Error::io("read", path, e))?;
    let kind = file
        .metadata()
        .map_err(|e| Error::io("read", path, e))?
        .file_type();
    if kind.is_file() {
        return Ok(file);
    }
    let what = if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(Error::new(format!(
        "{} is {what}, not a regular file",
        path.display()
    ))
    .with_hint("nixpy reads its inputs only from regular files: replace it with a file (a symlink to a file is fine)"))
}

/// The bytes of the regular file at `path`, at most [`MAX_INPUT_BYTES`].
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", path, e))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(Error::new(format!(
            "{} is larger than {} MiB, more than any input nixpy reads",
            path.display(),
            MAX_INPUT_BYTES >> 20
        ))
        .with_hint("check that this is the file you meant; nixpy reads manifests, requirement files, locks and Nix files"));
    }
    Ok(bytes)
}

/// [`read`], or `None` when the file does not exist.
pub(crate) fn read_if_present(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        _ => read(path).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_read() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("r.txt");
        std::fs::write(&file, "rich\n").unwrap();
        assert_eq!(read(&file).unwrap(), b"rich\n");
        let link = tmp.path().join("link.txt");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read(&link).unwrap(), b"rich\n");

        let fifo = tmp.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let err = read(&fifo).unwrap_err();
        assert!(err.message.contains("a FIFO"), "{}", err.message);

        let zero = tmp.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert!(read(&zero).unwrap_err().message.contains("a device"));
        assert!(read(tmp.path()).unwrap_err().message.contains("a folder"));
        assert!(read_if_present(&tmp.path().join("absent"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn sizes_are_capped() {
        let tmp = tempfile::tempdir().unwrap();
        let big = tmp.path().join("big");
        let file = File::create(&big).unwrap();
        file.set_len(MAX_INPUT_BYTES + 1).unwrap();
        assert!(read(&big).unwrap_err().message.contains("larger than"));
        file.set_len(MAX_INPUT_BYTES).unwrap();
        assert_eq!(read(&big).unwrap().len() as u64, MAX_INPUT_BYTES);
    }
}
