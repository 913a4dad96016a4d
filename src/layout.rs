//! nixpy's cache folder, as code: every path under it is one method here,
//! and every user goes through them.
//!
//! ```text
//! $NIXPY_CACHE_DIR (or $XDG_CACHE_HOME/nixpy if absolute, or ~/.cache/nixpy)
//!   v1/projects/<id>/                 one folder per project (<id>: key of its path)
//!   v1/projects/<id>/entry.json       the cached environment and its fingerprint
//!   v1/projects/<id>/entry-<key>.json the same for a run with `--group` (<key>: the groups)
//!   v1/projects/<id>/lock             held while the entry is rebuilt
//!   v1/projects/<id>/project-root     the project folder, for `nixpy gc`
//!   v1/projects/<id>/shell-file       GC root of the shell file (nixpy-shell.json),
//!                                     which keeps the shell's whole closure
//!   v1/projects/<id>/shell-profile    Nix's profile of the shell while it builds
//!                                     (with shell-profile-<n>-link generations),
//!                                     removed once shell-file roots the shell
//!   v1/projects/<id>/nixpkgs-source   GC root of the pinned nixpkgs
//!   v1/projects/<id>/venvs/<key>/     the project interpreter (a venv), one per
//!                                     environment; `.venv` links to the current one
//!   v1/projects/<id>/venvs/.writing-* a project interpreter being written
//!   v1/projects/<id>/venv-link-warned said once that a .venv nixpy did not make stays
//!   v1/projects/<id>/generations/     the project's generations (`nixpy history`)
//!   v1/projects/<id>/generations/current          the number of the one in use
//!   v1/projects/<id>/generations/<n>/             one generation, written whole:
//!   v1/projects/<id>/generations/<n>/generation.json  when, by what, what changed
//!   v1/projects/<id>/generations/<n>/entry.json   its cache entry (rollback restores it)
//!   v1/projects/<id>/generations/<n>/files/       the files nixpy manages, as they were
//!   v1/projects/<id>/generations/<n>/root-<i>     GC roots of its store paths
//!   v1/projects/<id>/generations/.new-*           a generation being written
//!   v1/flakes/<key>/                  generated flakes, content-addressed (if this
//!                                     path has a space, # or ?, which Nix cannot
//!                                     take: in $XDG_RUNTIME_DIR/nixpy-flakes, else
//!                                     /tmp/nixpy-<uid>-flakes, else, when another
//!                                     user made that, /tmp/nixpy-<uid>-flakes-XXXXXX)
//!   v1/flakes/.locking-*              a scratch flake locking nixpkgs
//!   v1/flakes/.writing-*              a generated flake being written
//!   v1/layers/<key>                   GC root (link) of a pip layer's composition
//!   v1/layers/<key>-<n>               GC roots of its distributions (n = 2, 3, ...)
//!   v1/dists/<key>                    index (link) of an installed distribution's
//!                                     store path; the layers using it root it
//!   v1/dists/.building-*              distributions and a layer being installed
//!   v1/locks/layer-<key>.lock         held while a layer is installed
//!   v1/locks/store.lock               shared by builds, exclusive for `nixpy gc`
//!                                     while it removes layers and distributions
//!   v1/interpreters/<key>.json        what a Nix interpreter provides
//!   v1/search/<key>.tsv               a package set's index for `nixpy search`
//!                                     (<key>: the pinned nixpkgs, its settings, the set)
//!   v1/tmp/resolve-*                  scratch folders of resolutions and installs
//!   v1/shell/bashrc                   startup file of `nixpy shell` for bash
//!   v1/shell/zsh/                     ZDOTDIR of `nixpy shell` for zsh
//! ```

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::support::hash::key_of;
use crate::support::{atomic_write, user};

// The names, each listed in the table above (a test checks).
const VERSION: &str = "v1";
const PROJECTS: &str = "projects";
const ENTRY: &str = "entry.json";
const GROUP_ENTRY: &str = "entry-";
const PROJECT_LOCK: &str = "lock";
const PROJECT_ROOT: &str = "project-root";
const SHELL_FILE: &str = "shell-file";
const SHELL_PROFILE: &str = "shell-profile";
const NIXPKGS_SOURCE: &str = "nixpkgs-source";
const GENERATIONS: &str = "generations";
const CURRENT_GENERATION: &str = "current";
const GENERATION_RECORD: &str = "generation.json";
const GENERATION_FILES: &str = "files";
const GENERATION_ROOT: &str = "root-";
/// Prefix of a generation being written.
pub(crate) const GENERATION_WRITING: &str = ".new-";
const FLAKES: &str = "flakes";
/// Prefix of a scratch flake being locked (`nixpy lock`).
pub(crate) const FLAKE_LOCKING: &str = ".locking-";
/// Prefix of a generated flake being written.
pub(crate) const FLAKE_WRITING: &str = ".writing-";
const LAYERS: &str = "layers";
const STAGING: &str = ".building-";
const DISTS: &str = "dists";
const VENVS: &str = "venvs";
const VENV_WRITING: &str = ".writing-";
const VENV_LINK_WARNED: &str = "venv-link-warned";
const LOCKS: &str = "locks";
const LAYER_LOCK: &str = "layer-";
const STORE_LOCK: &str = "store.lock";
const INTERPRETERS: &str = "interpreters";
const SEARCH: &str = "search";
const SEARCH_INDEX: &str = ".tsv";
const TMP: &str = "tmp";
/// Prefix of a scratch folder in [`Cache::tmp_dir`].
pub(crate) const SCRATCH: &str = "resolve-";
const SHELL: &str = "shell";
const BASHRC: &str = "bashrc";
const ZSH: &str = "zsh";

#[derive(Debug, Clone)]
pub(crate) struct Cache {
    pub root: PathBuf,
}

impl Cache {
    pub(crate) fn locate() -> Result<Cache> {
        let base = if let Some(dir) = std::env::var_os("NIXPY_CACHE_DIR").filter(|d| !d.is_empty())
        {
            PathBuf::from(dir)
        } else if let Some(dir) = std::env::var_os("XDG_CACHE_HOME")
            // The XDG spec: a relative value is invalid and ignored (taken
            // as it is, it would make a cache in every folder nixpy runs in).
            .filter(|d| Path::new(d).is_absolute())
        {
            PathBuf::from(dir).join("nixpy")
        } else if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            PathBuf::from(home).join(".cache").join("nixpy")
        } else {
            return Err(Error::new("cannot find a cache folder: HOME is not set")
                .with_hint("set NIXPY_CACHE_DIR"));
        };
        let base = if base.is_relative() {
            std::env::current_dir().unwrap_or_default().join(base)
        } else {
            base
        };
        Ok(Cache {
            root: base.join(VERSION),
        })
    }

    pub(crate) fn projects_dir(&self) -> PathBuf {
        self.root.join(PROJECTS)
    }

    /// The folder of the project at `project_root` (a canonical path).
    pub(crate) fn project(&self, project_root: &Path) -> ProjectDir {
        ProjectDir {
            path: self
                .projects_dir()
                .join(key_of(&[project_root.as_os_str().as_encoded_bytes()])),
        }
    }

    /// Generated flakes are passed to Nix as `path:` references, which Nix
    /// parses as URLs without decoding: a cache folder with a space, `#` or
    /// `?` in its path cannot hold them, so they go to a private folder of
    /// this user's outside it instead (they are regenerated whenever
    /// missing).
    pub(crate) fn flakes_dir(&self) -> PathBuf {
        let preferred = self.root.join(FLAKES);
        if is_plain_path(&preferred) {
            return preferred;
        }
        static OUTSIDE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        OUTSIDE.get_or_init(outside_flakes_dir).clone()
    }

    /// The generated flake with this key.
    pub(crate) fn flake(&self, key: &str) -> PathBuf {
        self.flakes_dir().join(key)
    }

    /// A folder in [`Cache::flakes_dir`] being locked or written (a
    /// dot-folder: [`FLAKE_LOCKING`], [`FLAKE_WRITING`]), not a flake.
    pub(crate) fn is_flake_in_progress(name: &str) -> bool {
        name.starts_with('.')
    }

    pub(crate) fn layers_dir(&self) -> PathBuf {
        self.root.join(LAYERS)
    }

    /// The GC root of the layer with this key.
    pub(crate) fn layer_link(&self, key: &str) -> PathBuf {
        self.layers_dir().join(key)
    }

    /// The layer key a link in [`Cache::layers_dir`] roots for: its own
    /// name (the composition) or `<key>-<n>` (one of its distributions).
    /// None for anything else (Nix's temporary links, older layouts).
    pub(crate) fn layer_root_key(name: &str) -> Option<&str> {
        let key = match name.split_once('-') {
            Some((key, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => key,
            Some(_) => return None,
            None => name,
        };
        (!key.is_empty() && key.bytes().all(|b| b.is_ascii_hexdigit())).then_some(key)
    }

    /// Where installed distributions are indexed by key.
    pub(crate) fn dists_dir(&self) -> PathBuf {
        self.root.join(DISTS)
    }

    /// The index link of the distribution with this key.
    pub(crate) fn dist_link(&self, key: &str) -> PathBuf {
        self.dists_dir().join(key)
    }

    /// Name prefix of a folder distributions are installed in.
    pub(crate) fn dist_staging_prefix() -> &'static str {
        STAGING
    }

    /// A folder in [`Cache::dists_dir`] that is work in progress (a
    /// dot-name), not a published link.
    pub(crate) fn is_staging(name: &str) -> bool {
        name.starts_with('.')
    }

    pub(crate) fn locks_dir(&self) -> PathBuf {
        self.root.join(LOCKS)
    }

    /// Builds hold it shared from the pip layer to the published entry;
    /// `nixpy gc` holds it exclusively while it removes layers and
    /// distributions, so it never takes one a build is about to use.
    pub(crate) fn store_lock(&self) -> PathBuf {
        self.locks_dir().join(STORE_LOCK)
    }

    /// Held while the layer with this key is installed.
    pub(crate) fn layer_lock(&self, key: &str) -> PathBuf {
        self.locks_dir().join(format!("{LAYER_LOCK}{key}.lock"))
    }

    pub(crate) fn interpreters_dir(&self) -> PathBuf {
        self.root.join(INTERPRETERS)
    }

    /// What the Nix interpreter `python` (a store path) provides.
    pub(crate) fn interpreter_facts(&self, python: &str) -> PathBuf {
        self.interpreters_dir()
            .join(format!("{}.json", key_of(&[python.as_bytes()])))
    }

    pub(crate) fn search_dir(&self) -> PathBuf {
        self.root.join(SEARCH)
    }

    /// The index of the package set with this key (`nixpy search`).
    pub(crate) fn search_index(&self, key: &str) -> PathBuf {
        self.search_dir().join(format!("{key}{SEARCH_INDEX}"))
    }

    /// Scratch folders (`resolve-*`), removed when done (or by gc when old).
    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join(TMP)
    }

    pub(crate) fn shell_dir(&self) -> PathBuf {
        self.root.join(SHELL)
    }

    /// bash's startup file for `nixpy shell`.
    pub(crate) fn shell_bashrc(&self) -> PathBuf {
        self.shell_dir().join(BASHRC)
    }

    /// zsh's ZDOTDIR for `nixpy shell` (zsh names the files in it).
    pub(crate) fn shell_zdotdir(&self) -> PathBuf {
        self.shell_dir().join(ZSH)
    }

    pub(crate) fn ensure(&self, dir: &Path) -> Result<()> {
        if !dir.starts_with(&self.root) {
            return ensure_private_outside(dir);
        }
        self.check_own()?;
        atomic_write::create_private_dir(dir).map_err(|e| {
            e.with_hint(format!("nixpy needs a writable cache folder; set NIXPY_CACHE_DIR or fix the permissions of {}", self.root.display()))
        })
    }
}

impl Cache {
    /// The cache holds what nixpy execs (the environment's recipe): it
    /// must be this user's alone. A cache folder another user owns, or
    /// may write, is refused (two users sharing NIXPY_CACHE_DIR).
    fn check_own(&self) -> Result<()> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let uid = user::current_uid();
        for folder in [self.root.parent().unwrap_or(&self.root), &self.root] {
            let Ok(meta) = std::fs::metadata(folder) else {
                continue;
            };
            let why = if meta.uid() != uid {
                format!("belongs to {}", user::name_of(meta.uid()))
            } else if meta.permissions().mode() & 0o022 != 0 {
                "may be written by other users".to_owned()
            } else {
                continue;
            };
            return Err(Error::new(format!(
                "the nixpy cache {} {why}: each user needs their own cache",
                folder.display()
            ))
            .with_hint(format!(
                "set NIXPY_CACHE_DIR to a folder of {}'s own (unset, nixpy uses ~/.cache/nixpy)",
                user::name_of(uid)
            )));
        }
        Ok(())
    }
}

/// A project's folder in the cache.
#[derive(Debug, Clone)]
pub(crate) struct ProjectDir {
    pub path: PathBuf,
}

impl ProjectDir {
    /// A folder found in [`Cache::projects_dir`].
    pub(crate) fn at(path: PathBuf) -> ProjectDir {
        ProjectDir { path }
    }

    pub(crate) fn entry(&self) -> PathBuf {
        self.path.join(ENTRY)
    }

    /// The entry of the environment with the dependency groups keyed `key`
    /// added (`nixpy run --group`).
    pub(crate) fn group_entry(&self, key: &str) -> PathBuf {
        self.path.join(format!("{GROUP_ENTRY}{key}.json"))
    }

    /// A file in the project's folder that is a `--group` entry.
    pub(crate) fn is_group_entry(name: &str) -> bool {
        name.starts_with(GROUP_ENTRY) && name.ends_with(".json")
    }

    pub(crate) fn lock(&self) -> PathBuf {
        self.path.join(PROJECT_LOCK)
    }

    pub(crate) fn project_root(&self) -> PathBuf {
        self.path.join(PROJECT_ROOT)
    }

    /// The GC root of the shell file.
    pub(crate) fn shell_file(&self) -> PathBuf {
        self.path.join(SHELL_FILE)
    }

    /// Nix's profile of the shell while it builds (its GC root until the
    /// shell file is rooted).
    pub(crate) fn shell_profile(&self) -> PathBuf {
        self.path.join(SHELL_PROFILE)
    }

    /// An older generation Nix keeps beside the shell profile
    /// (`shell-profile-<n>-link`).
    pub(crate) fn is_profile_generation(name: &str) -> bool {
        name.strip_prefix(SHELL_PROFILE)
            .is_some_and(|rest| rest.starts_with('-') && rest.ends_with("-link"))
    }

    pub(crate) fn nixpkgs_source(&self) -> PathBuf {
        self.path.join(NIXPKGS_SOURCE)
    }

    /// `link` is a project's root of its pinned nixpkgs' source.
    pub(crate) fn is_nixpkgs_source(link: &Path) -> bool {
        link.file_name().is_some_and(|n| n == NIXPKGS_SOURCE)
    }

    /// The project's interpreters (venvs), one folder per environment.
    pub(crate) fn venvs(&self) -> PathBuf {
        self.path.join(VENVS)
    }

    /// The project interpreter with this key.
    pub(crate) fn venv(&self, key: &str) -> PathBuf {
        self.venvs().join(key)
    }

    /// Name prefix of a project interpreter being written.
    pub(crate) fn venv_writing_prefix() -> &'static str {
        VENV_WRITING
    }

    /// Present once nixpy has said that the project's own `.venv` stays.
    pub(crate) fn venv_link_warned(&self) -> PathBuf {
        self.path.join(VENV_LINK_WARNED)
    }

    pub(crate) fn generations_dir(&self) -> PathBuf {
        self.path.join(GENERATIONS)
    }

    /// Holds the number of the generation in use.
    pub(crate) fn current_generation(&self) -> PathBuf {
        self.generations_dir().join(CURRENT_GENERATION)
    }

    pub(crate) fn generation(&self, number: u32) -> GenerationDir {
        GenerationDir {
            path: self.generations_dir().join(number.to_string()),
        }
    }

    /// The number of a folder in [`ProjectDir::generations_dir`], if it is
    /// a generation (not `current`, not one being written).
    pub(crate) fn generation_number(name: &str) -> Option<u32> {
        name.parse().ok()
    }
}

/// One generation's folder.
#[derive(Debug, Clone)]
pub(crate) struct GenerationDir {
    pub path: PathBuf,
}

impl GenerationDir {
    /// The same files in a folder being written (renamed to `self` when whole).
    pub(crate) fn at(path: PathBuf) -> GenerationDir {
        GenerationDir { path }
    }

    pub(crate) fn record(&self) -> PathBuf {
        self.path.join(GENERATION_RECORD)
    }

    pub(crate) fn entry(&self) -> PathBuf {
        self.path.join(ENTRY)
    }

    /// Where the managed file `relative` (to the project folder) is kept.
    pub(crate) fn file(&self, relative: &Path) -> PathBuf {
        self.path.join(GENERATION_FILES).join(relative)
    }

    /// The GC root of the generation's `index`th store path.
    pub(crate) fn root(&self, index: usize) -> PathBuf {
        self.path.join(format!("{GENERATION_ROOT}{index}"))
    }
}

/// Where generated flakes go when the cache's path cannot hold them: the
/// login's own runtime folder (`$XDG_RUNTIME_DIR`) when there is one, else
/// `/tmp/nixpy-<uid>-flakes`, unless another user made that first (/tmp
/// is everyone's): then a private folder with a random name, reused by
/// later runs.
fn outside_flakes_dir() -> PathBuf {
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute() && d.is_dir() && is_plain_path(d))
    {
        return runtime.join(format!("nixpy-{FLAKES}"));
    }
    let uid = user::current_uid();
    let tmp = std::env::temp_dir();
    let tmp = if is_plain_path(&tmp) {
        tmp
    } else {
        PathBuf::from("/tmp")
    };
    let fixed = tmp.join(format!("nixpy-{uid}-{FLAKES}"));
    if ensure_private_outside(&fixed).is_ok() {
        return fixed;
    }
    tracing::debug!(
        "{} is not this user's; using a private folder",
        fixed.display()
    );
    let prefix = format!("nixpy-{uid}-{FLAKES}-");
    let earlier = std::fs::read_dir(&tmp).ok().and_then(|entries| {
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
            .find(|p| is_private_dir(p))
    });
    if let Some(earlier) = earlier {
        return earlier;
    }
    atomic_write::private_tempdir_in(&tmp, &prefix)
        .map(tempfile::TempDir::keep)
        .unwrap_or(fixed)
}

/// `dir` is a folder of this user's that no one else may enter.
fn is_private_dir(dir: &Path) -> bool {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    std::fs::symlink_metadata(dir).is_ok_and(|meta| {
        meta.is_dir() && meta.uid() == user::current_uid() && meta.permissions().mode() & 0o077 == 0
    })
}

/// A folder of nixpy's outside the cache root (in /tmp): created private,
/// and refused if someone else made it first.
fn ensure_private_outside(dir: &Path) -> Result<()> {
    atomic_write::create_private_dir(dir)?;
    if !is_private_dir(dir) {
        return Err(Error::new(format!(
            "{} is not a private folder of this user",
            dir.display()
        ))
        .with_hint("set NIXPY_CACHE_DIR to a path without spaces, # or ?"));
    }
    Ok(())
}

/// A path Nix accepts inside a `path:` flake reference as it is.
fn is_plain_path(path: &Path) -> bool {
    path.to_str().is_some_and(|p| {
        p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-._+~=,@".contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path the methods give, with `<id>` and `<key>` for the keys.
    fn paths() -> Vec<PathBuf> {
        let cache = Cache {
            root: PathBuf::from("/c/v1"),
        };
        let project = ProjectDir::at(cache.projects_dir().join("<id>"));
        let key = "<key>";
        vec![
            cache.projects_dir().join("<id>"),
            project.entry(),
            project.group_entry(key),
            project.lock(),
            project.project_root(),
            project.shell_file(),
            project.shell_profile(),
            project.nixpkgs_source(),
            project.venv(key),
            project.venv_link_warned(),
            project.venvs().join(ProjectDir::venv_writing_prefix()),
            project.generations_dir(),
            project.current_generation(),
            project.generations_dir().join("<n>"),
            project.generation(7).record(),
            project.generation(7).entry(),
            project.generation(7).file(Path::new("")),
            project.generation(7).root(0),
            project.generations_dir().join(GENERATION_WRITING),
            cache.flake(key),
            cache.flakes_dir().join(FLAKE_LOCKING),
            cache.flakes_dir().join(FLAKE_WRITING),
            cache.layer_link(key),
            cache.layers_dir().join(format!("{key}-<n>")),
            cache.dist_link(key),
            cache.dists_dir().join(Cache::dist_staging_prefix()),
            cache.layer_lock(key),
            cache.store_lock(),
            cache.interpreters_dir().join("<key>.json"),
            cache.search_index(key),
            cache.tmp_dir().join(SCRATCH),
            cache.shell_bashrc(),
            cache.shell_zdotdir(),
        ]
    }

    fn table() -> String {
        include_str!("layout.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//!"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_table_lists_every_path() {
        let table = table();
        for path in paths() {
            let shown = path
                .strip_prefix("/c/")
                .unwrap()
                .display()
                .to_string()
                .replace("generations/7", "generations/<n>")
                .replace("root-0", "root-<i>");
            assert!(
                table.contains(&shown),
                "{shown} is not in the table of layout.rs"
            );
        }
    }

    #[test]
    fn the_table_lists_every_name() {
        let table = table();
        let source = include_str!("layout.rs");
        let names: Vec<&str> = source
            .lines()
            .filter(|l| l.trim_start_matches("pub(crate) ").starts_with("const "))
            .filter_map(|l| l.split('"').nth(1))
            .collect();
        assert!(names.len() >= 20, "{names:?}");
        for name in names {
            assert!(
                table.contains(name),
                "{name} is not in the table of layout.rs"
            );
        }
    }

    /// Nobody else spells the names: they go through the methods.
    #[test]
    fn only_this_file_spells_the_names() {
        let source = include_str!("layout.rs");
        let names: Vec<String> = source
            .lines()
            .filter(|l| l.trim_start_matches("pub(crate) ").starts_with("const "))
            .filter_map(|l| l.split('"').nth(1))
            // Plain words ("flakes", "shell") are also ordinary labels.
            .filter(|name| name.contains(['-', '.']))
            .map(|name| format!("\"{name}\""))
            .collect();
        let mut pending = vec![PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("src/layout.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for name in &names {
                        assert!(
                            !text.contains(name.as_str()),
                            "{} spells {name}: use the method of layout.rs",
                            path.display()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn layer_roots_give_back_their_key() {
        assert_eq!(Cache::layer_root_key("0a1b"), Some("0a1b"));
        assert_eq!(Cache::layer_root_key("0a1b-12"), Some("0a1b"));
        assert_eq!(Cache::layer_root_key("0a1b.tmp-12-34"), None);
        assert_eq!(Cache::layer_root_key("0a1b-2.tmp-12-34"), None);
        assert_eq!(Cache::layer_root_key(".building-0a1b-x"), None);
        assert!(ProjectDir::is_profile_generation("shell-profile-12-link"));
        assert!(!ProjectDir::is_profile_generation("shell-profile"));
    }
}
