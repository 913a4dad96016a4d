//! Reading what an installer leaves for each distribution in site-packages:
//! its `<name>-<version>.dist-info` folder and the METADATA in it.

use std::path::{Path, PathBuf};

/// The `.dist-info` folders in `site_packages` (none when it cannot be read).
pub(crate) fn dist_infos(site_packages: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(site_packages) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".dist-info"))
        .map(|e| e.path())
        .collect()
}

/// `Name` and `Version` (as written) from a METADATA text: read from its
/// headers only, since the description after them may hold such lines too.
pub(crate) fn name_and_version(metadata: &str) -> Option<(String, String)> {
    let header = |key: &str| {
        metadata
            .lines()
            .take_while(|l| !l.is_empty())
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_owned()))
    };
    Some((header("Name:")?, header("Version:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_version_come_from_the_headers() {
        assert_eq!(
            name_and_version("Metadata-Version: 2.1\nName: Rich\nVersion: 13.7.0\n\nName: x\n"),
            Some(("Rich".to_owned(), "13.7.0".to_owned()))
        );
        assert_eq!(
            name_and_version("Metadata-Version: 2.1\n\nName: x\nVersion: 1\n"),
            None
        );
    }
}
