//! Splitting one installer run into one folder per distribution, by each
//! distribution's RECORD, and making each folder the same on every
//! machine: the installer's timestamps and markers dropped, console
//! scripts' shebangs turned back into the wheel's `#!python`, RECORD
//! rewritten to match.
//!
//! Every folder gets the prefix layout a nixpkgs Python package has
//! (`lib/pythonX.Y/site-packages`, `bin`, data folders), with RECORD paths
//! relative to site-packages, whichever installer ran.

use std::path::{Component, Path, PathBuf};

use super::dist_info::name_and_version;
use crate::error::{Error, Result};
use crate::project::requirements::normalize_name;

/// How the installer laid out what it installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StagingLayout {
    /// `uv pip install --prefix`: already the prefix layout.
    Prefix,
    /// `pip install --target`: site-packages at the root, and scripts and
    /// data at the root too, which RECORD names as `../../bin/x`.
    Target,
}

/// One distribution, split out into its own folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SplitDist {
    /// Normalised name and version, from its METADATA.
    pub name: String,
    pub version: String,
    /// Its folder (prefix layout), named as its store path will be.
    pub dir: PathBuf,
    /// Built here from source: its wheel tag is a plain platform tag
    /// (`linux_x86_64`), which no index serves.
    pub built_here: bool,
}

/// Files the installer writes that say when and how it ran, not what was
/// installed.
const DROPPED: [&str; 2] = ["uv_cache.json", "REQUESTED"];

/// Splits what the installer wrote in `staging` into one folder per
/// distribution in `out` (a folder outside `staging`). `site` is
/// `lib/pythonX.Y/site-packages`.
/// Returns the distributions, and the files no RECORD names (left behind).
pub(super) fn split(
    staging: &Path,
    layout: StagingLayout,
    site: &Path,
    out: &Path,
) -> Result<(Vec<SplitDist>, Vec<PathBuf>)> {
    let site_dir = match layout {
        StagingLayout::Prefix => staging.join(site),
        StagingLayout::Target => staging.to_path_buf(),
    };
    let mut infos: Vec<String> = read_names(&site_dir)?
        .into_iter()
        .filter(|n| n.ends_with(".dist-info"))
        .collect();
    infos.sort();
    let whole = whole_folders(staging, layout, site, &site_dir, &infos)?;
    let mut dists = Vec::new();
    for info in infos {
        dists.push(split_one(
            staging, layout, site, &site_dir, &info, out, &whole,
        )?);
    }
    let mut leftovers = Vec::new();
    collect_files(staging, staging, &mut leftovers);
    leftovers.retain(|p| p != Path::new(".lock"));
    Ok((dists, leftovers))
}

/// The top-level folders of site-packages that exactly one distribution's
/// RECORD names (a package such as `numpy/`, never a shared namespace
/// folder or a dist-info): each moves in one rename, not file by file
/// (thousands of files for a large package).
fn whole_folders(
    staging: &Path,
    layout: StagingLayout,
    site: &Path,
    site_dir: &Path,
    infos: &[String],
) -> Result<std::collections::HashSet<PathBuf>> {
    let mut owners: std::collections::HashMap<PathBuf, std::collections::HashSet<&str>> =
        std::collections::HashMap::new();
    for info in infos {
        let record_path = site_dir.join(info).join("RECORD");
        let record = std::fs::read_to_string(&record_path)
            .map_err(|e| Error::io("read", &record_path, e))?;
        for fields in parse_csv(&record) {
            let Some(rel) = fields.first().filter(|r| !r.is_empty()) else {
                continue;
            };
            let (_, dest) = locate(staging, layout, site, site_dir, rel)?;
            let Ok(inside) = dest.strip_prefix(site) else {
                continue;
            };
            let mut parts = inside.components();
            if let (Some(top), Some(_)) = (parts.next(), parts.next()) {
                owners
                    .entry(site.join(top))
                    .or_default()
                    .insert(info.as_str());
            }
        }
    }
    Ok(owners
        .into_iter()
        .filter(|(dir, who)| {
            who.len() == 1
                && !dir.to_string_lossy().ends_with(".dist-info")
                && std::fs::symlink_metadata(staged(staging, layout, site, dir))
                    .is_ok_and(|m| m.is_dir())
        })
        .map(|(dir, _)| dir)
        .collect())
}

/// Where `dest` (prefix-relative) is in staging.
fn staged(staging: &Path, layout: StagingLayout, site: &Path, dest: &Path) -> PathBuf {
    match (layout, dest.strip_prefix(site)) {
        (StagingLayout::Target, Ok(inside)) => staging.join(inside),
        _ => staging.join(dest),
    }
}

fn split_one(
    staging: &Path,
    layout: StagingLayout,
    site: &Path,
    site_dir: &Path,
    info: &str,
    out: &Path,
    whole: &std::collections::HashSet<PathBuf>,
) -> Result<SplitDist> {
    let info_dir = site_dir.join(info);
    let metadata_path = info_dir.join("METADATA");
    let metadata = std::fs::read_to_string(&metadata_path)
        .map_err(|e| Error::io("read", &metadata_path, e))?;
    let (name, version) = name_and_version(&metadata)
        .map(|(name, version)| (normalize_name(&name), version))
        .filter(|(name, version)| !name.is_empty() && !version.is_empty())
        .ok_or_else(|| {
            Error::new(format!(
                "{} has no Name or Version",
                metadata_path.display()
            ))
        })?;
    let wheel = std::fs::read_to_string(info_dir.join("WHEEL")).unwrap_or_default();
    let built_here = wheel
        .lines()
        .filter_map(|l| l.strip_prefix("Tag:"))
        .any(|tag| {
            tag.trim()
                .rsplit('-')
                .next()
                .is_some_and(|p| p.starts_with("linux_"))
        });
    let dir = out.join(store_name(&name, &version));
    let record_path = info_dir.join("RECORD");
    let record =
        std::fs::read_to_string(&record_path).map_err(|e| Error::io("read", &record_path, e))?;
    let mut rows: Vec<[String; 3]> = Vec::new();
    let record_rel = format!("{info}/RECORD");
    for fields in parse_csv(&record) {
        let Some(rel) = fields.first().filter(|r| !r.is_empty()) else {
            continue;
        };
        let (source, dest) = locate(staging, layout, site, site_dir, rel)?;
        let base = rel.rsplit('/').next().unwrap_or_default();
        let in_info = rel
            .strip_suffix(base)
            .is_some_and(|d| d == format!("{info}/"));
        if *rel == record_rel {
            continue;
        }
        if in_info && DROPPED.contains(&base) {
            let _ = std::fs::remove_file(&source);
            continue;
        }
        let folder = dest
            .strip_prefix(site)
            .ok()
            .and_then(|inside| inside.components().next())
            .map(|top| site.join(top))
            .filter(|top| whole.contains(top) && top != &dest);
        let target = dir.join(&dest);
        if let Some(folder) = folder {
            // Its whole folder moves at once, the first time it is named.
            let from = staged(staging, layout, site, &folder);
            if from.exists() {
                let to = dir.join(&folder);
                if let Some(parent) = to.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| Error::io("create folder", parent, e))?;
                }
                std::fs::rename(&from, &to).map_err(|e| Error::io("move", &from, e))?;
            }
        } else {
            if std::fs::symlink_metadata(&source).is_err() {
                // Listed but not written (bytecode an installer skipped).
                continue;
            }
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::io("create folder", parent, e))?;
            }
            std::fs::rename(&source, &target).map_err(|e| Error::io("move", &source, e))?;
        }
        if std::fs::symlink_metadata(&target).is_err() {
            continue;
        }
        let mut row = [
            record_path_of(site, &dest),
            fields.get(1).cloned().unwrap_or_default(),
            fields.get(2).cloned().unwrap_or_default(),
        ];
        if dest.starts_with("bin") {
            if let Some(size) = normalise_shebang(&target)? {
                let bytes = std::fs::read(&target).map_err(|e| Error::io("read", &target, e))?;
                row[1] = record_hash(&bytes);
                row[2] = size.to_string();
            }
        }
        rows.push(row);
    }
    let (_, record_dest) = locate(staging, layout, site, site_dir, &record_rel)?;
    rows.push([
        record_path_of(site, &record_dest),
        String::new(),
        String::new(),
    ]);
    let text: String = rows.iter().map(csv_line).collect();
    let record_target = dir.join(&record_dest);
    if let Some(parent) = record_target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create folder", parent, e))?;
    }
    std::fs::write(&record_target, text).map_err(|e| Error::io("write", &record_target, e))?;
    std::fs::remove_file(&record_path).map_err(|e| Error::io("remove", &record_path, e))?;
    let _ = std::fs::remove_dir(&info_dir);
    Ok(SplitDist {
        name,
        version,
        dir,
        built_here,
    })
}

/// The store name of a distribution's folder: `nixpy-dist-<name>-<version>`,
/// with characters a store path cannot have replaced.
pub(super) fn store_name(name: &str, version: &str) -> String {
    format!("nixpy-dist-{name}-{version}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+-._?=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Where a RECORD entry is in staging now, and where it goes in the
/// distribution's folder (relative to the folder).
fn locate(
    staging: &Path,
    layout: StagingLayout,
    site: &Path,
    site_dir: &Path,
    rel: &str,
) -> Result<(PathBuf, PathBuf)> {
    let escape = || Error::new(format!("a RECORD entry points outside the install: {rel}"));
    let (source, dest) = match layout {
        StagingLayout::Prefix => {
            let source = normalise(&site_dir.join(rel)).ok_or_else(escape)?;
            let dest = source
                .strip_prefix(staging)
                .map_err(|_| escape())?
                .to_path_buf();
            (source, dest)
        }
        StagingLayout::Target => match rel.strip_prefix("../../") {
            Some(outside) => {
                let dest = normalise(Path::new(outside)).ok_or_else(escape)?;
                (staging.join(&dest), dest)
            }
            None => {
                let inside = normalise(Path::new(rel)).ok_or_else(escape)?;
                (site_dir.join(&inside), site.join(&inside))
            }
        },
    };
    if dest.as_os_str().is_empty() || dest.is_absolute() {
        return Err(escape());
    }
    Ok((source, dest))
}

/// `path` with `.` and `..` resolved lexically; None if it climbs above
/// its start.
fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

/// A RECORD path (relative to site-packages) for `dest` (relative to the
/// prefix).
fn record_path_of(site: &Path, dest: &Path) -> String {
    match dest.strip_prefix(site) {
        Ok(inside) => inside.display().to_string(),
        Err(_) => {
            let up = "../".repeat(site.components().count());
            format!("{up}{}", dest.display())
        }
    }
}

/// Turns an installer's absolute interpreter shebang back into the
/// wheel's `#!python` (the project interpreter's `bin/` gets copies with
/// its own). Returns the new size when the file changed.
fn normalise_shebang(path: &Path) -> Result<Option<usize>> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(None);
    };
    let Some(rest) = rewritten_script(&bytes) else {
        return Ok(None);
    };
    let mut text = b"#!python\n".to_vec();
    text.extend_from_slice(rest);
    std::fs::write(path, &text).map_err(|e| Error::io("write", path, e))?;
    Ok(Some(text.len()))
}

/// The script after its interpreter line(s), when those name a Python:
/// `#!/abs/python3.11`, or the `/bin/sh` trampoline installers write for
/// long or spaced paths (`#!/bin/sh` + `'''exec' "/abs/python" "$0" "$@"` + `' '''`).
pub(super) fn rewritten_script(bytes: &[u8]) -> Option<&[u8]> {
    let first_end = bytes.iter().position(|&b| b == b'\n')?;
    let first = std::str::from_utf8(&bytes[..first_end]).ok()?;
    let interpreter = first.strip_prefix("#!")?.trim();
    if is_python_path(interpreter.split_whitespace().next().unwrap_or_default()) {
        return Some(&bytes[first_end + 1..]);
    }
    if interpreter == "/bin/sh" {
        let rest = &bytes[first_end + 1..];
        let second_end = rest.iter().position(|&b| b == b'\n')?;
        let second = std::str::from_utf8(&rest[..second_end]).ok()?;
        let after = &rest[second_end + 1..];
        let third_end = after.iter().position(|&b| b == b'\n')?;
        if second.starts_with("'''exec' ")
            && second.contains("python")
            && &after[..third_end] == b"' '''"
        {
            return Some(&after[third_end + 1..]);
        }
    }
    None
}

fn is_python_path(path: &str) -> bool {
    let Some(name) = path.rsplit('/').next().filter(|_| path.starts_with('/')) else {
        return false;
    };
    name.strip_prefix("python")
        .is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

/// RECORD's `sha256=<urlsafe base64, unpadded>`.
fn record_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let digest = Sha256::digest(bytes);
    let mut out = String::from("sha256=");
    for chunk in digest.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// RECORD's CSV (quotes only around fields that need them).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut field)),
                (c, _) => field.push(c),
            }
        }
        fields.push(field);
        rows.push(fields);
    }
    rows
}

fn csv_line(fields: &[String; 3]) -> String {
    let quote = |f: &String| {
        if f.contains([',', '"', '\n']) {
            format!("\"{}\"", f.replace('"', "\"\""))
        } else {
            f.clone()
        }
    };
    format!(
        "{},{},{}\n",
        quote(&fields[0]),
        quote(&fields[1]),
        quote(&fields[2])
    )
}

fn read_names(dir: &Path) -> Result<Vec<String>> {
    Ok(std::fs::read_dir(dir)
        .map_err(|e| Error::io("read", dir, e))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect())
}

/// Files (not folders) below `dir`, relative to `base`.
fn collect_files(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => collect_files(base, &path, out),
            Ok(_) => out.push(path.strip_prefix(base).unwrap_or(&path).to_path_buf()),
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// What `uv pip install --prefix` leaves for one distribution.
    fn uv_staging(staging: &Path) {
        let sp = staging.join("lib/python3.11/site-packages");
        write(&sp.join("greet/__init__.py"), "V = 1\n");
        write(
            &sp.join("greet-1.0.dist-info/METADATA"),
            "Metadata-Version: 2.1\nName: Greet\nVersion: 1.0\n\nbody\n",
        );
        write(
            &sp.join("greet-1.0.dist-info/WHEEL"),
            "Wheel-Version: 1.0\nTag: py3-none-any\n",
        );
        write(
            &sp.join("greet-1.0.dist-info/uv_cache.json"),
            "{\"timestamp\": 1}",
        );
        write(&sp.join("greet-1.0.dist-info/REQUESTED"), "");
        write(&sp.join("greet-1.0.dist-info/INSTALLER"), "uv\n");
        write(
            &staging.join("bin/greet"),
            "#!/nix/store/p-python3/bin/python3.11\nimport greet\n",
        );
        write(&staging.join("share/greet/data.txt"), "data\n");
        write(&staging.join(".lock"), "");
        write(
            &sp.join("greet-1.0.dist-info/RECORD"),
            "greet/__init__.py,sha256=x,6\n\
             greet-1.0.dist-info/METADATA,sha256=m,40\n\
             greet-1.0.dist-info/WHEEL,,\n\
             greet-1.0.dist-info/uv_cache.json,sha256=t,16\n\
             greet-1.0.dist-info/REQUESTED,,\n\
             greet-1.0.dist-info/INSTALLER,,\n\
             ../../../bin/greet,sha256=old,99\n\
             ../../../share/greet/data.txt,sha256=d,5\n\
             greet-1.0.dist-info/RECORD,,\n",
        );
    }

    #[test]
    fn a_prefix_install_splits_into_a_normalised_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let staging = tmp.path().join("staging");
        let out = tmp.path().join("out");
        uv_staging(&staging);
        let site = Path::new("lib/python3.11/site-packages");
        let (dists, leftovers) = split(&staging, StagingLayout::Prefix, site, &out).unwrap();
        assert_eq!(leftovers, Vec::<PathBuf>::new());
        assert_eq!(dists.len(), 1);
        let d = &dists[0];
        assert_eq!(
            (d.name.as_str(), d.version.as_str(), d.built_here),
            ("greet", "1.0", false)
        );
        assert_eq!(d.dir, out.join("nixpy-dist-greet-1.0"));
        let info = d
            .dir
            .join("lib/python3.11/site-packages/greet-1.0.dist-info");
        assert!(!info.join("uv_cache.json").exists());
        assert!(!info.join("REQUESTED").exists());
        assert_eq!(
            std::fs::read_to_string(d.dir.join("bin/greet")).unwrap(),
            "#!python\nimport greet\n"
        );
        assert!(d.dir.join("share/greet/data.txt").is_file());
        let record = std::fs::read_to_string(info.join("RECORD")).unwrap();
        assert!(!record.contains("uv_cache"), "{record}");
        assert!(!record.contains("sha256=old"), "{record}");
        assert!(
            record.contains(&format!(
                "../../../bin/greet,{},22\n",
                record_hash(b"#!python\nimport greet\n")
            )),
            "{record}"
        );
        assert!(
            record.ends_with("greet-1.0.dist-info/RECORD,,\n"),
            "{record}"
        );
    }

    #[test]
    fn a_folder_of_one_distribution_moves_whole_and_a_shared_one_file_by_file() {
        let tmp = tempfile::tempdir().unwrap();
        let staging = tmp.path().join("staging");
        let out = tmp.path().join("out");
        let sp = staging.join("lib/python3.11/site-packages");
        for (dist, files) in [
            ("a", &["a/__init__.py", "a/sub/deep.py", "nsp/a.py"][..]),
            ("b", &["nsp/b.py"][..]),
        ] {
            let info = format!("{dist}-1.0.dist-info");
            write(
                &sp.join(&info).join("METADATA"),
                &format!("Name: {dist}\nVersion: 1.0\n"),
            );
            let mut record = format!("{info}/METADATA,,\n");
            for f in files {
                write(&sp.join(f), "");
                record += &format!("{f},sha256=x,0\n");
            }
            record += &format!("{info}/RECORD,,\n");
            write(&sp.join(&info).join("RECORD"), &record);
        }
        let site = Path::new("lib/python3.11/site-packages");
        let (dists, leftovers) = split(&staging, StagingLayout::Prefix, site, &out).unwrap();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        let a = &dists[0].dir.join(site);
        let b = &dists[1].dir.join(site);
        assert!(a.join("a/sub/deep.py").is_file() && a.join("nsp/a.py").is_file());
        assert!(b.join("nsp/b.py").is_file() && !b.join("nsp/a.py").exists());
        let record = std::fs::read_to_string(a.join("a-1.0.dist-info/RECORD")).unwrap();
        assert!(record.contains("a/sub/deep.py,sha256=x,0\n"), "{record}");
    }

    #[test]
    fn a_target_install_gets_the_prefix_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let staging = tmp.path().join("staging");
        let out = tmp.path().join("out");
        write(&staging.join("greet/__init__.py"), "V = 1\n");
        write(
            &staging.join("greet-1.0.dist-info/METADATA"),
            "Name: greet\nVersion: 1.0\n",
        );
        write(
            &staging.join("bin/greet"),
            "#!/bin/sh\n'''exec' \"/a b/python3\" \"$0\" \"$@\"\n' '''\nimport greet\n",
        );
        write(
            &staging.join("greet-1.0.dist-info/RECORD"),
            "greet/__init__.py,sha256=x,6\ngreet-1.0.dist-info/METADATA,,\n../../bin/greet,sha256=o,9\ngreet-1.0.dist-info/RECORD,,\n",
        );
        let site = Path::new("lib/python3.11/site-packages");
        let (dists, leftovers) = split(&staging, StagingLayout::Target, site, &out).unwrap();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        let dir = &dists[0].dir;
        assert!(dir
            .join("lib/python3.11/site-packages/greet/__init__.py")
            .is_file());
        assert_eq!(
            std::fs::read_to_string(dir.join("bin/greet")).unwrap(),
            "#!python\nimport greet\n"
        );
        let record = std::fs::read_to_string(
            dir.join("lib/python3.11/site-packages/greet-1.0.dist-info/RECORD"),
        )
        .unwrap();
        assert!(
            record.starts_with("greet/__init__.py,sha256=x,6\n"),
            "{record}"
        );
        assert!(record.contains("../../../bin/greet,sha256="), "{record}");
    }

    #[test]
    fn only_python_shebangs_are_rewritten() {
        assert_eq!(
            rewritten_script(b"#!/usr/bin/python3.11\nx\n"),
            Some(&b"x\n"[..])
        );
        assert_eq!(
            rewritten_script(b"#!/nix/store/a-b/bin/python\n"),
            Some(&b""[..])
        );
        assert_eq!(rewritten_script(b"#!/bin/sh\necho hi\n"), None);
        assert_eq!(rewritten_script(b"#!/usr/bin/env python3\n"), None);
        assert_eq!(rewritten_script(b"#!/opt/pythonista\n"), None);
        assert_eq!(rewritten_script(b"no shebang\n"), None);
    }

    #[test]
    fn record_hashes_and_csv_round_trip() {
        // sha256 of "" in RECORD's form.
        assert_eq!(
            record_hash(b""),
            "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
        let rows = parse_csv("a,b,1\n\"x,y\",\"q\"\"q\",\n");
        assert_eq!(rows[1], ["x,y", "q\"q", ""]);
        assert_eq!(
            csv_line(&["x,y".into(), "q\"q".into(), String::new()]),
            "\"x,y\",\"q\"\"q\",\n"
        );
        assert_eq!(
            store_name("torch", "2.1.0+cu121"),
            "nixpy-dist-torch-2.1.0+cu121"
        );
        assert_eq!(store_name("x", "1!2.0"), "nixpy-dist-x-1_2.0");
    }
}
