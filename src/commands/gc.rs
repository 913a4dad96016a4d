//! `nixpy gc`: removes cache entries (and with them their GC roots) of
//! projects that are gone or unused, then the generated flakes and pip
//! layers no remaining entry uses, and leftovers of interrupted builds.
//! The kept generations of the projects that stay keep their GC roots, and
//! what their entries use stays too. Search indexes not read for as long go.
//! The store paths of the pip layers and distributions it unroots, which
//! are nixpy's own, it deletes when nothing else keeps them alive, and
//! reports what that actually freed.

use std::collections::HashSet;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::cli::GcArgs;
use crate::error::{Error, Result};
use crate::history;
use crate::layout::{Cache, ProjectDir};
use crate::nix::{self, Nix};
use crate::project;
use crate::support::disk_usage::{human_bytes, tree_size};
use crate::support::FileLock;
use crate::ui;

/// Parses `30d`, `12h`, `90m`, `45s` (a bare number is days).
pub(crate) fn parse_age(text: &str) -> std::result::Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "d"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not an age such as 30d, 12h or 90m"))?;
    let per_unit = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(format!("`{text}`: the unit must be d, h, m or s")),
    };
    let secs = n
        .checked_mul(per_unit)
        .ok_or_else(|| format!("`{text}` is too long an age"))?;
    Ok(Duration::from_secs(secs))
}

/// Something gc removes, and why.
struct Removal {
    path: PathBuf,
    why: String,
    bytes: u64,
}

impl Removal {
    fn of(path: PathBuf, why: impl Into<String>) -> Removal {
        Removal {
            bytes: size_of(&path),
            why: why.into(),
            path,
        }
    }

    /// A link into the store whose target is counted when (and if) it is
    /// deleted, not here.
    fn link(path: PathBuf, why: impl Into<String>) -> Removal {
        Removal {
            bytes: 0,
            why: why.into(),
            path,
        }
    }
}

/// Leftovers of interrupted work older than this are removed.
const STALE_AFTER: Duration = Duration::from_secs(3_600);

pub(super) fn run(args: &GcArgs) -> Result<i32> {
    let older_than =
        parse_age(&args.older_than).map_err(|why| Error::new(format!("--older-than: {why}")))?;
    let cache = Cache::locate()?;
    if !cache.root.exists() {
        ui::status(&format!(
            "nothing to collect: {} does not exist",
            cache.root.display()
        ));
        return Ok(0);
    }
    let now = SystemTime::now();
    let projects = survey_projects(&cache, now, older_than);
    let mut removals = projects.removals;
    removals.extend(unused_flakes(&cache, &projects.kept, now));
    removals.extend(old_scratch_folders(&cache, now));
    removals.extend(unused_search_indexes(&cache, now, older_than));
    // Layers and distributions only while no build is between choosing
    // them and publishing the entry that names them.
    let store_work = std::fs::create_dir_all(cache.locks_dir())
        .ok()
        .and_then(|()| FileLock::try_acquire(&cache.store_lock()));
    let mut unrooted = Vec::new();
    if store_work.is_some() {
        let (layer_removals, layer_paths) = unused_layers(&cache, &projects.kept, now);
        removals.extend(layer_removals);
        unrooted.extend(layer_paths);
        let (dist_removals, dist_paths) = unused_dists(&cache, &projects.kept, now);
        removals.extend(dist_removals);
        unrooted.extend(dist_paths);
    } else {
        ui::note(
            "a build is running: pip layers and distributions are left for the next `nixpy gc`",
        );
    }
    remove(&removals, args.dry_run)?;
    unrooted.sort();
    unrooted.dedup();
    unrooted.retain(|p| !projects.kept.store_paths.contains(p));
    delete_store_paths(&unrooted, args.dry_run);
    Ok(0)
}

/// What the projects that stay still use.
#[derive(Default)]
struct Kept {
    shells: HashSet<String>,
    layers: HashSet<String>,
    /// Every store path the kept entries need (layers' compositions and
    /// distributions among them).
    store_paths: HashSet<String>,
    /// A project is being built: its new flake is named by no entry yet.
    build_running: bool,
}

struct Survey {
    removals: Vec<Removal>,
    kept: Kept,
}

/// The entries of projects that are gone, unused for `older_than` or
/// incomplete (unless being rebuilt right now), and what the others use.
fn survey_projects(cache: &Cache, now: SystemTime, older_than: Duration) -> Survey {
    let projects: Vec<ProjectDir> = subdirs(&cache.projects_dir())
        .into_iter()
        .map(ProjectDir::at)
        .collect();
    let mut survey = Survey {
        removals: Vec::new(),
        kept: Kept {
            build_running: projects.iter().any(locked),
            ..Kept::default()
        },
    };
    for project in projects {
        let root = std::fs::read(project.project_root())
            .map(|bytes| PathBuf::from(std::ffi::OsString::from_vec(bytes)))
            .ok();
        let last_used = std::fs::metadata(project.entry())
            .and_then(|m| m.modified())
            .ok();
        let unused_for = last_used.map(|t| now.duration_since(t).unwrap_or_default());
        let why = match (&root, unused_for) {
            // A folder without its entry is a build that was interrupted,
            // or one starting right now (between making the folder and
            // taking its lock): only an old one goes.
            (None, _) | (_, None) if age_of(&project.path, now) > STALE_AFTER => {
                Some("incomplete entry".to_owned())
            }
            (None, _) | (_, None) => None,
            (Some(root), _) if !has_manifest(root) => {
                Some(format!("project {} no longer exists", root.display()))
            }
            (Some(_), Some(age)) if age > older_than => {
                Some(format!("not used for {}", describe_age(age)))
            }
            _ => None,
        };
        match why {
            // A project being rebuilt right now holds its lock: leave it.
            Some(why) if !locked(&project) => {
                let label = root
                    .map(|r| r.display().to_string())
                    .unwrap_or_else(|| project.path.display().to_string());
                survey
                    .removals
                    .push(Removal::of(project.path, format!("{label}: {why}")));
            }
            _ => {
                for entry in history::kept_entries(&project) {
                    survey.kept.shells.insert(entry.shell_key.clone());
                    survey.kept.store_paths.extend(entry.needed_store_paths());
                    if let Some(layer) = entry.layer {
                        survey.kept.layers.insert(layer.key);
                    }
                }
            }
        }
    }
    survey
}

/// Generated flakes no remaining entry uses, and old interrupted ones.
fn unused_flakes(cache: &Cache, kept: &Kept, now: SystemTime) -> Vec<Removal> {
    let mut removals = Vec::new();
    for dir in subdirs(&cache.flakes_dir()) {
        let name = file_name(&dir);
        let age = age_of(&dir, now);
        if Cache::is_flake_in_progress(&name) {
            if age > STALE_AFTER {
                removals.push(Removal::of(dir, "interrupted flake generation"));
            }
        } else if !kept.shells.contains(&name) && (!kept.build_running || age >= STALE_AFTER) {
            removals.push(Removal::of(dir, "generated flake no project uses"));
        }
    }
    removals
}

/// The GC roots of layers no remaining entry uses (a layer's composition
/// and its distributions), leftovers of interrupted installs, and the
/// store paths the removed roots kept alive.
fn unused_layers(cache: &Cache, kept: &Kept, now: SystemTime) -> (Vec<Removal>, Vec<String>) {
    let mut removals = Vec::new();
    let mut unrooted = Vec::new();
    for path in entries(&cache.layers_dir()) {
        let name = file_name(&path);
        match Cache::layer_root_key(&name) {
            Some(key) if !kept.layers.contains(key) => {
                if let Ok(target) = std::fs::read_link(&path) {
                    unrooted.push(target.display().to_string());
                }
                removals.push(Removal::link(path, "pip layer no project uses"));
            }
            Some(_) => {}
            // Nix's own temporary link (`<key>.tmp-<pid>-<n>`) of a root
            // being made, or a folder of an older layout: only once old,
            // as no build is running now.
            None if age_of(&path, now) > STALE_AFTER => {
                removals.push(if path.is_symlink() {
                    Removal::link(path, "interrupted pip install")
                } else {
                    Removal::of(path, "interrupted pip install")
                });
            }
            None => {}
        }
    }
    (removals, unrooted)
}

/// Index entries of distributions no remaining layer uses, leftovers of
/// interrupted installs, and the store paths of those distributions.
fn unused_dists(cache: &Cache, kept: &Kept, now: SystemTime) -> (Vec<Removal>, Vec<String>) {
    let mut removals = Vec::new();
    let mut unrooted = Vec::new();
    for path in entries(&cache.dists_dir()) {
        let name = file_name(&path);
        if Cache::is_staging(&name) {
            if age_of(&path, now) > STALE_AFTER {
                removals.push(Removal::of(path, "interrupted pip install"));
            }
            continue;
        }
        let target = std::fs::read_link(&path)
            .ok()
            .map(|t| t.display().to_string());
        if target
            .as_ref()
            .is_some_and(|t| kept.store_paths.contains(t))
        {
            continue;
        }
        unrooted.extend(target);
        removals.push(Removal::link(path, "distribution no pip layer uses"));
    }
    (removals, unrooted)
}

/// Deletes the unrooted store paths nothing else keeps alive (another
/// cache's layer may share a distribution) and says what that freed.
fn delete_store_paths(paths: &[String], dry_run: bool) {
    let paths: Vec<String> = paths
        .iter()
        .filter(|p| nix::is_store_path(p) && Path::new(p).exists())
        .cloned()
        .collect();
    if paths.is_empty() {
        return;
    }
    let sizes: Vec<(String, u64)> = paths
        .iter()
        .map(|p| (p.clone(), tree_size(Path::new(p))))
        .collect();
    if dry_run {
        let total: u64 = sizes.iter().map(|(_, s)| s).sum();
        println!(
            "would delete the {} pip layer and distribution store path(s) nothing else uses (up to {})",
            paths.len(),
            human_bytes(total)
        );
        return;
    }
    let Ok(nix) = Nix::locate(&nix::Substituters::default()) else {
        println!("{} pip layer and distribution store path(s) are no longer rooted; `nix-collect-garbage` frees them", paths.len());
        return;
    };
    let deleted = nix.delete_unused(&paths);
    let freed: u64 = sizes
        .iter()
        .filter(|(p, _)| deleted.contains(p))
        .map(|(_, s)| s)
        .sum();
    println!(
        "deleted {} of {} unrooted pip layer and distribution store path(s), freeing {}{}",
        deleted.len(),
        paths.len(),
        human_bytes(freed),
        if deleted.len() < paths.len() {
            " (the others are still in use elsewhere)"
        } else {
            ""
        }
    );
}

fn old_scratch_folders(cache: &Cache, now: SystemTime) -> Vec<Removal> {
    subdirs(&cache.tmp_dir())
        .into_iter()
        .filter(|dir| age_of(dir, now) > STALE_AFTER)
        .map(|dir| Removal::of(dir, "temporary folder"))
        .collect()
}

/// Search indexes not read for `older_than` (a search marks its index
/// used): those of revisions the projects moved past.
fn unused_search_indexes(cache: &Cache, now: SystemTime, older_than: Duration) -> Vec<Removal> {
    let Ok(files) = std::fs::read_dir(cache.search_dir()) else {
        return Vec::new();
    };
    let mut removals: Vec<Removal> = files
        .flatten()
        .map(|f| f.path())
        .filter(|path| path.is_file() && age_of(path, now) > older_than)
        .map(|path| Removal::of(path, "search index not used lately"))
        .collect();
    removals.sort_by(|a, b| a.path.cmp(&b.path));
    removals
}

/// Says what goes (and how much it frees), and removes it unless `dry_run`.
fn remove(removals: &[Removal], dry_run: bool) -> Result<()> {
    let total: u64 = removals.iter().map(|r| r.bytes).sum();
    for removal in removals {
        let verb = if dry_run { "would remove" } else { "removing" };
        println!(
            "{verb} {} ({}, {})",
            removal.path.display(),
            removal.why,
            human_bytes(removal.bytes)
        );
        if !dry_run {
            let is_folder = std::fs::symlink_metadata(&removal.path).is_ok_and(|m| m.is_dir());
            let removed = if is_folder {
                std::fs::remove_dir_all(&removal.path)
            } else {
                std::fs::remove_file(&removal.path)
            };
            removed.map_err(|e| Error::io("remove", &removal.path, e))?;
        }
    }
    let verb = if dry_run { "would free" } else { "freed" };
    println!("{verb} {} in {} item(s) of the cache folder; `nix-collect-garbage` frees the Nix shells' store paths they kept alive", human_bytes(total), removals.len());
    Ok(())
}

/// A build holds the project's lock.
fn locked(project: &ProjectDir) -> bool {
    let lock = project.lock();
    lock.exists() && FileLock::try_acquire(&lock).is_none()
}

fn has_manifest(root: &Path) -> bool {
    root.join(project::MANIFEST_FILE).exists() || root.join(project::PYPROJECT_FILE).exists()
}

/// Folders and symlinks in `dir`.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_symlink() || p.is_dir())
        .collect();
    paths.sort();
    paths
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.is_symlink())
        .collect();
    dirs.sort();
    dirs
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn age_of(path: &Path, now: SystemTime) -> Duration {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| now.duration_since(t).ok())
        .unwrap_or_default()
}

/// Bytes below `path`; for a link, those of what it points to (a layer's
/// link keeps its store path alive).
fn size_of(path: &Path) -> u64 {
    match std::fs::canonicalize(path) {
        Ok(target) if path.is_symlink() => tree_size(&target),
        _ => tree_size(path),
    }
}

fn describe_age(age: Duration) -> String {
    let days = age.as_secs() / 86_400;
    if days > 0 {
        format!("{days} day(s)")
    } else {
        format!("{} hour(s)", age.as_secs() / 3_600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_with_units() {
        assert_eq!(parse_age("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert_eq!(parse_age("12h").unwrap(), Duration::from_secs(12 * 3_600));
        assert_eq!(parse_age("0").unwrap(), Duration::ZERO);
        assert!(parse_age("soon").is_err());
        assert!(parse_age("3w").is_err());
    }
}
