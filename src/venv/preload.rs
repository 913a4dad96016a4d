//! The libraries a layer's extension modules need from the `libraries`
//! folders (Nix's libstdc++, zlib): loaded by the project interpreter at
//! start-up, so no library path reaches the rest of the environment.
//! Manylinux wheels bundle most of what they need beside themselves; only
//! what the layer does not bundle and the folders have is preloaded, and
//! nothing when the layer has no extension modules.

use std::collections::BTreeSet;
use std::path::Path;

use super::elf;

/// Files in `library_dirs` to preload for the distributions `dists`, in
/// the folders' order.
pub(super) fn libraries_to_preload(dists: &[String], library_dirs: &[String]) -> Vec<String> {
    let mut bundled = BTreeSet::new();
    let mut needed = BTreeSet::new();
    for dist in dists {
        let mut pending = vec![Path::new(dist).to_path_buf()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                match entry.file_type() {
                    Ok(t) if t.is_dir() => pending.push(path),
                    Ok(t) if t.is_file() && is_shared_object(&name) => {
                        bundled.insert(name);
                        needed.extend(elf::needed(&path).unwrap_or_default());
                    }
                    _ => {}
                }
            }
        }
    }
    let mut preload = Vec::new();
    for dir in library_dirs {
        for name in &needed {
            let candidate = Path::new(dir).join(name);
            if !bundled.contains(name) && candidate.exists() {
                let path = candidate.display().to_string();
                if !preload.contains(&path) {
                    preload.push(path);
                }
            }
        }
    }
    preload
}

fn is_shared_object(name: &str) -> bool {
    name.ends_with(".so") || name.contains(".so.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_preloaded_for_a_layer_without_extensions() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("m.py"), "").unwrap();
        let dists = [tmp.path().display().to_string()];
        assert!(libraries_to_preload(&dists, &["/usr/lib".into()]).is_empty());
    }

    #[test]
    fn a_needed_library_is_found_in_the_folders_unless_bundled() {
        let lib = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"]
            .into_iter()
            .find(|d| Path::new(d).join("libstdc++.so.6").exists());
        let Some(lib) = lib else {
            return;
        };
        // libstdc++ itself stands in for an extension module needing libc.
        let tmp = tempfile::tempdir().unwrap();
        std::fs::copy(
            Path::new(lib).join("libstdc++.so.6"),
            tmp.path().join("ext.so"),
        )
        .unwrap();
        let dists = [tmp.path().display().to_string()];
        let preload = libraries_to_preload(&dists, &[lib.to_owned()]);
        assert!(
            preload.iter().any(|p| p.ends_with("/libc.so.6")),
            "{preload:?}"
        );
        std::fs::write(tmp.path().join("libc.so.6"), "bundled").unwrap();
        let preload = libraries_to_preload(&dists, &[lib.to_owned()]);
        assert!(
            !preload.iter().any(|p| p.ends_with("/libc.so.6")),
            "{preload:?}"
        );
    }
}
