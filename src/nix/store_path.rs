//! The store path `nix-store --add DIR` gives a folder, computed without
//! Nix: the SHA-256 of the folder's NAR serialisation, made into a
//! "source" path with no references. Knowing a path before adding it lets
//! nixpy write links to it (the pip layer's composition) and add the
//! target and the links in one `nix-store --add` call.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::store::STORE_DIR;
use crate::error::{Error, Result};

/// The path `nix-store --add` gives `dir`, whose store name is `name`.
pub(crate) fn store_path_of_folder(dir: &Path, name: &str) -> Result<String> {
    let mut hasher = Sha256::new();
    {
        let mut nar = NarWriter { out: &mut hasher };
        nar.string(b"nix-archive-1")?;
        nar.node(dir)?;
    }
    let nar_hash = hasher.finalize();
    Ok(source_path(&hex(&nar_hash), name))
}

/// A content-addressed "source" path without references, from the hex
/// SHA-256 of its NAR.
fn source_path(nar_sha256_hex: &str, name: &str) -> String {
    let fingerprint = format!("source:sha256:{nar_sha256_hex}:{STORE_DIR}:{name}");
    let digest = Sha256::digest(fingerprint.as_bytes());
    let mut compressed = [0u8; 20];
    for (i, byte) in digest.iter().enumerate() {
        compressed[i % 20] ^= byte;
    }
    format!("{STORE_DIR}/{}-{name}", nix_base32(&compressed))
}

/// Nix's base-32 (no e, o, t, u), last byte first: store path hashes and
/// the names of GC root registrations.
pub(super) fn nix_base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdfghijklmnpqrsvwxyz";
    let len = (bytes.len() * 8 - 1) / 5 + 1;
    (0..len)
        .rev()
        .map(|n| {
            let bit = n * 5;
            let (i, j) = (bit / 8, bit % 8);
            let low = u16::from(bytes[i]) >> j;
            let high = bytes.get(i + 1).map_or(0, |&b| u16::from(b) << (8 - j));
            char::from(ALPHABET[usize::from((low | high) & 0x1f)])
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Nix's archive format, written to a hasher.
struct NarWriter<'a, W: Write> {
    out: &'a mut W,
}

impl<W: Write> NarWriter<'_, W> {
    fn string(&mut self, bytes: &[u8]) -> Result<()> {
        let pad = (8 - bytes.len() % 8) % 8;
        self.out
            .write_all(&(bytes.len() as u64).to_le_bytes())
            .and_then(|()| self.out.write_all(bytes))
            .and_then(|()| self.out.write_all(&[0u8; 8][..pad]))
            .map_err(|e| Error::new(format!("cannot hash a folder for the store: {e}")))
    }

    fn node(&mut self, path: &Path) -> Result<()> {
        let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io("read", path, e))?;
        self.string(b"(")?;
        self.string(b"type")?;
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = std::fs::read_link(path).map_err(|e| Error::io("read", path, e))?;
            self.string(b"symlink")?;
            self.string(b"target")?;
            self.string(target.as_os_str().as_bytes())?;
        } else if kind.is_file() {
            self.string(b"regular")?;
            if meta.permissions().mode() & 0o100 != 0 {
                self.string(b"executable")?;
                self.string(b"")?;
            }
            let contents = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
            self.string(b"contents")?;
            self.string(&contents)?;
        } else if kind.is_dir() {
            self.string(b"directory")?;
            let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(path)
                .map_err(|e| Error::io("read", path, e))?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<std::io::Result<_>>()
                .map_err(|e| Error::io("read", path, e))?;
            names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            for name in names {
                self.string(b"entry")?;
                self.string(b"(")?;
                self.string(b"name")?;
                self.string(name.as_bytes())?;
                self.string(b"node")?;
                self.node(&path.join(&name))?;
                self.string(b")")?;
            }
        } else {
            return Err(Error::new(format!(
                "{} is neither a file, a folder nor a link: it cannot go into the Nix store",
                path.display()
            )));
        }
        self.string(b")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checked against `nix-store --add` of the same folders (Nix 2.8).
    #[test]
    fn paths_match_what_nix_store_add_gives() {
        let tmp = tempfile::tempdir().unwrap();
        let d1 = tmp.path().join("d1");
        std::fs::create_dir(&d1).unwrap();
        std::fs::write(d1.join("f"), "1\n").unwrap();
        std::fs::set_permissions(d1.join("f"), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            store_path_of_folder(&d1, "d1").unwrap(),
            "/nix/store/hzkkwsr18d8zpg7zlhcynymn1ljivycv-d1"
        );
        // Links, executables and nested folders, in name order.
        let d = tmp.path().join("tree");
        std::fs::create_dir_all(d.join("b/c")).unwrap();
        std::fs::write(d.join("b/c/run"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(d.join("b/c/run"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        std::fs::write(d.join("a"), "").unwrap();
        std::fs::set_permissions(d.join("a"), std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink("/nix/store/x-y/z", d.join("link")).unwrap();
        assert_eq!(
            store_path_of_folder(&d, "nixpy-test-tree").unwrap(),
            "/nix/store/xfgkxdf1714r9nmwd0kxi8h36v2z96la-nixpy-test-tree"
        );
    }

    #[test]
    fn base32_is_nixs() {
        assert_eq!(nix_base32(&[0u8; 20]), "0".repeat(32));
        assert_eq!(nix_base32(&[0xff; 20]).len(), 32);
        assert_eq!(&nix_base32(&[1, 0, 0, 0, 0])[7..], "1");
    }

    #[test]
    fn nix32_of_known_hashes() {
        // The empty string's SHA-256 in Nix's base 32 (`nix hash to-base32`).
        let sha256_empty = [
            0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f,
            0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b,
            0x78, 0x52, 0xb8, 0x55,
        ];
        assert_eq!(
            nix_base32(&sha256_empty),
            "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73"
        );
    }
}
