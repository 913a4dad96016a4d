//! Distributions installed by hand (`pip install`, `uv pip install`) into a
//! project interpreter: its own site-packages, which is writable and
//! first on sys.path. Not in the requirements, so the next environment
//! change leaves them behind, with a note.

use std::path::Path;

use crate::pip::{dist_infos, name_and_version};

/// (name, version) of each distribution in the venv's own site-packages.
pub(crate) fn hand_installed(venv: &Path) -> Vec<(String, String)> {
    let Ok(lib) = std::fs::read_dir(venv.join("lib")) else {
        return Vec::new();
    };
    let mut found: Vec<(String, String)> = lib
        .flatten()
        .flat_map(|python| dist_infos(&python.path().join("site-packages")))
        .filter_map(|info| {
            let metadata = std::fs::read_to_string(info.join("METADATA")).ok()?;
            name_and_version(&metadata)
        })
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dist_infos_in_the_venv_are_listed() {
        let tmp = tempfile::tempdir().unwrap();
        let info = tmp
            .path()
            .join("lib/python3.11/site-packages/rich-13.7.0.dist-info");
        std::fs::create_dir_all(&info).unwrap();
        std::fs::write(
            info.join("METADATA"),
            "Metadata-Version: 2.1\nName: rich\nVersion: 13.7.0\n\nbody Name: x\n",
        )
        .unwrap();
        std::fs::write(
            tmp.path().join("lib/python3.11/site-packages/_nixpy.pth"),
            "",
        )
        .unwrap();
        assert_eq!(
            hand_installed(tmp.path()),
            [("rich".to_owned(), "13.7.0".to_owned())]
        );
        assert!(hand_installed(&tmp.path().join("none")).is_empty());
    }
}
