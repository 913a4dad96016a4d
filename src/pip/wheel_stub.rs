//! Stub wheels standing for distributions the Nix interpreter already has.
//! They carry only metadata (no dependencies: Nix's closure is complete), so
//! the resolver keeps each at its Nix version and pulls nothing in for it.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

pub(super) fn write(dir: &Path, name: &str, version: &str) -> Result<()> {
    let dist = format!("{}-{}", name.replace('-', "_"), version);
    let path = dir.join(format!("{dist}-py3-none-any.whl"));
    let file = crate::support::atomic_write::create_private_file(&path)?;
    let mut zip = zip::ZipWriter::new(file);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let files = [
        (format!("{dist}.dist-info/METADATA"), format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: provided by Nix\n")),
        (format!("{dist}.dist-info/WHEEL"), "Wheel-Version: 1.0\nGenerator: nixpy\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_owned()),
        (format!("{dist}.dist-info/RECORD"), String::new()),
    ];
    let mut add = |name: &str, body: &str| -> zip::result::ZipResult<()> {
        zip.start_file(name, options)?;
        zip.write_all(body.as_bytes())?;
        Ok(())
    };
    for (name, body) in &files {
        add(name, body).map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
    }
    zip.finish()
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
    Ok(())
}
