//! The pip layer: each pinned distribution installed once into a store path
//! of its own, and a small composition over them, rooted together.
//!
//! A layer whose key (pins, interpreter, installer, platform) was built
//! before is reused as it is. Otherwise each pin's distribution is looked
//! up in the index of installed distributions (`dists/<key>`); only the
//! missing ones are installed, in one installer run into a staging folder,
//! then split by RECORD, bytecode-compiled in one interpreter run and added
//! to the store with the new composition in one `nix-store --add`. So an
//! edit that adds one package installs that package, and every project on
//! the machine shares the distributions of its pins.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::bytecode;
use super::compose::{self, Part};
use super::dist_info::{dist_infos, name_and_version};
use super::dist_key::{built_here_key, dist_key, local_location, KeyContext};
use super::inputs::PipInputs;
use super::installer::Tool;
use super::interpreter::{interpreter_facts, InterpreterFacts};
use super::scratch::{scratch_dir, write};
use super::split::{self, SplitDist};
use crate::error::{Error, Result};
use crate::flake::ShellEnv;
use crate::layout::Cache;
use crate::nix::{rooted_links, store_path_of_folder, GcRoot, Nix};
use crate::project::local_project::LocalProject;
use crate::project::lockfile::{localized, LockedPackage, PipLock};
use crate::project::requirements::normalize_name;
use crate::support::atomic_write;
use crate::support::disk_usage::tree_size;
use crate::support::hash::key_of;
use crate::support::text::indent;
use crate::support::FileLock;
use crate::ui;

/// A published pip layer: its key, its composition's store path, and the
/// store paths of its distributions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LayerRef {
    pub key: String,
    pub dir: PathBuf,
    #[serde(default)]
    pub dists: Vec<String>,
}

impl LayerRef {
    /// Every store path the layer needs: the composition and each
    /// distribution (the composition's links are no Nix references).
    pub(crate) fn store_paths(&self) -> Vec<String> {
        std::iter::once(self.dir.display().to_string())
            .chain(self.dists.iter().cloned())
            .collect()
    }

    /// The layer's `site-packages` in the composition.
    pub(crate) fn site_packages(&self) -> Option<PathBuf> {
        site_packages_in(&self.dir)
    }
}

/// `<layer>/lib/pythonX.Y/site-packages`, when there is one.
fn site_packages_in(layer: &Path) -> Option<PathBuf> {
    let lib = layer.join("lib");
    std::fs::read_dir(&lib)
        .ok()?
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
}

/// Editable, path and URL pins come out of the resolver without a name or
/// version; the installed layer knows both (dist-info METADATA, and the
/// location in direct_url.json), so the lock gets them from there.
pub(super) fn name_direct_references(lock: &mut PipLock, layer: &Path, root: &Path) {
    if lock.packages.iter().all(|p| !p.version.is_empty()) {
        return;
    }
    let installed = site_packages_in(layer)
        .map(|sp| direct_references_in(&sp))
        .unwrap_or_default();
    for pin in lock.packages.iter_mut().filter(|p| p.version.is_empty()) {
        let url = location_url(&localized(&pin.requirement, root));
        if let Some((name, version)) = installed
            .iter()
            .find(|(u, _, _)| u.trim_end_matches('/') == url.trim_end_matches('/'))
            .map(|(_, n, v)| (n, v))
        {
            pin.name = normalize_name(name);
            pin.version = version.clone();
        }
    }
    lock.packages.sort_by(|a, b| a.name.cmp(&b.name));
}

/// The URL an installer records in direct_url.json for a requirement.
fn location_url(requirement: &str) -> String {
    let location = requirement.trim_start_matches("-e ");
    let location = location
        .split_once(" @ ")
        .map_or(location, |(_, url)| url)
        .trim();
    if location.starts_with('/') {
        format!("file://{location}")
    } else {
        location.to_owned()
    }
}

/// (url, name, version) of every distribution in `site_packages` installed
/// from a direct reference.
fn direct_references_in(site_packages: &Path) -> Vec<(String, String, String)> {
    dist_infos(site_packages)
        .iter()
        .filter_map(|info| direct_reference(info))
        .collect()
}

fn direct_reference(dist_info: &Path) -> Option<(String, String, String)> {
    let direct: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dist_info.join("direct_url.json")).ok()?).ok()?;
    let metadata = std::fs::read_to_string(dist_info.join("METADATA")).ok()?;
    let (name, version) = name_and_version(&metadata)?;
    Some((direct["url"].as_str()?.to_owned(), name, version))
}

/// The layer's key: base interpreter, exact pins, installer, platform. Two
/// projects with the same resolution share one layer, and a change of the
/// Nix `python-packages` that leaves the pins as they were (a new
/// environment, the same base interpreter) keeps it.
fn layer_key(
    shell: &ShellEnv,
    tool: Tool<'_>,
    lock: &PipLock,
    root: &Path,
    local_projects: &[LocalProject],
) -> String {
    // Localised: a path requirement's folder ends up inside the layer
    // (editable .pth files), so it is part of what the layer is.
    let pins: String = lock
        .packages
        .iter()
        .map(|p| {
            format!(
                "{} {}\n",
                localized(&p.requirement, root),
                p.hashes.join(",")
            )
        })
        .collect();
    let identity = tool.identity();
    let system = crate::flake::current_system();
    let mut parts: Vec<&[u8]> = vec![
        b"nixpy-layer-2",
        shell.base_python.as_bytes(),
        pins.as_bytes(),
        identity.as_bytes(),
        system.as_bytes(),
    ];
    // A local project's metadata (its version, its dependencies) is built
    // into the layer's dist-info. (A part only when there are some: other
    // layers keep their keys.)
    let local: String = local_projects
        .iter()
        .map(|p| format!("{} {}\n", p.dir.display(), p.metadata_digest))
        .collect();
    if !local.is_empty() {
        parts.push(local.as_bytes());
    }
    key_of(&parts)
}

/// A published layer: `layers/<key>` roots its composition, which names
/// its distributions (rooted by `layers/<key>-<n>`). One with
/// distributions built here from source serves only the shell they were
/// built in (`build_env`). Roots a garbage collection dropped while the
/// links were away (a cache folder moved, an unmounted home) are
/// registered again.
fn published(nix: &Nix, key: &str, link: &Path, build_env: &str) -> Result<Option<LayerRef>> {
    let Ok(target) = std::fs::read_link(link) else {
        return Ok(None);
    };
    let Some(manifest) = target
        .is_dir()
        .then(|| compose::read_manifest(&target))
        .flatten()
    else {
        return Ok(None);
    };
    let other_shell = manifest
        .built_in
        .as_deref()
        .is_some_and(|env| env != build_env);
    if other_shell || !manifest.dists.iter().all(|d| Path::new(d).is_dir()) {
        return Ok(None);
    }
    let layer = LayerRef {
        key: key.to_owned(),
        dir: target,
        dists: manifest.dists,
    };
    let paths = layer.store_paths();
    let lost = rooted_links(link, paths.len())
        .iter()
        .any(|l| GcRoot::new(l).is_missing());
    if lost {
        ui::note(&format!(
            "the GC roots of the pip layer {} were lost; registering them again",
            layer.dir.display()
        ));
        if let Err(stderr) = nix.realise_rooted_all(&paths, link)? {
            ui::warn(&format!(
                "could not protect the pip layer from garbage collection:\n{}",
                indent(stderr.trim())
            ));
        }
    }
    Ok(Some(layer))
}

pub(super) fn build_layer(
    inputs: &PipInputs<'_>,
    tool: Tool<'_>,
    lock: &PipLock,
) -> Result<LayerRef> {
    let key = layer_key(
        inputs.shell,
        tool,
        lock,
        inputs.project_root,
        &inputs.requirements.local_projects,
    );
    let cache = inputs.cache;
    let build_env = build_env_key(inputs.shell);
    // A layer with distributions built here from source is this shell's
    // only: rooted under a key of its own, so another shell's build of the
    // same pins does not unroot it.
    let here_key = key_of(&[key.as_bytes(), build_env.as_bytes()]);
    let find = || -> Result<Option<LayerRef>> {
        for k in [&key, &here_key] {
            if let Some(layer) = published(inputs.nix, k, &cache.layer_link(k), &build_env)? {
                return Ok(Some(layer));
            }
        }
        Ok(None)
    };
    if !inputs.refresh {
        if let Some(layer) = find()? {
            return Ok(layer);
        }
    }
    cache.ensure(&cache.layers_dir())?;
    cache.ensure(&cache.dists_dir())?;
    cache.ensure(&cache.locks_dir())?;
    let _lock = FileLock::acquire(&cache.layer_lock(&key), || {
        ui::waiting("installing the same pip layer");
    })?;
    if !inputs.refresh {
        if let Some(layer) = find()? {
            return Ok(layer);
        }
    }
    if let Some(layer) = fetch_recorded(inputs, &[&key, &here_key])? {
        return Ok(layer);
    }
    let facts = interpreter_facts(cache, &inputs.shell.python)?;
    let index_args = inputs.requirements.index.to_args();
    let ctx = KeyContext {
        facts: &facts,
        installer: tool.name(),
        index_args: &index_args,
        project_root: inputs.project_root,
    };
    let mut builder = LayerBuilder {
        inputs,
        tool,
        facts: &facts,
        build_env,
        key: &key,
        here_key: &here_key,
    };
    let mut wanted: Vec<Wanted<'_>> = lock
        .packages
        .iter()
        .map(|pin| Wanted {
            key: dist_key(pin, &ctx),
            pin,
            path: None,
            built_here: false,
        })
        .collect();
    // One retry: a distribution found in the index can be collected (its
    // last layer's roots removed) before this layer roots it.
    for attempt in 0..2 {
        for w in &mut wanted {
            if w.path.is_none() && !inputs.refresh {
                (w.path, w.built_here) = match builder.indexed(&w.key) {
                    Some((path, built_here)) => (Some(path), built_here),
                    None => (None, false),
                };
            }
        }
        match builder.build(&mut wanted)? {
            Some(layer) => return Ok(layer),
            None if attempt == 0 => {
                let paths: Vec<String> = wanted.iter().filter_map(|w| w.path.clone()).collect();
                let gone = inputs.nix.invalid_paths(&paths)?;
                ui::note(&format!(
                    "a garbage collection removed {} of the layer's distribution(s) before they were protected; installing them again",
                    gone.len()
                ));
                for w in &mut wanted {
                    if w.path.as_ref().is_some_and(|p| gone.contains(p)) {
                        w.path = None;
                    }
                }
            }
            None => {}
        }
    }
    Err(Error::new(format!(
        "cannot register {} as a GC root of the pip layer",
        cache.layer_link(&key).display()
    ))
    .with_hint(
        "check that the cache folder and /nix/var/nix/gcroots are writable (`nixpy doctor`)",
    ))
}

/// A pin, its distribution's key, and its store path once known.
struct Wanted<'a> {
    pin: &'a LockedPackage,
    key: String,
    path: Option<String>,
    /// Built here from source, in this shell's environment.
    built_here: bool,
}

/// The layer recorded in nixpy.lock, fetched from the store or a
/// substituter with its distributions, when the lock records one of `keys`.
fn fetch_recorded(inputs: &PipInputs<'_>, keys: &[&String]) -> Result<Option<LayerRef>> {
    let Some(recorded) = inputs
        .recorded_layer
        .as_ref()
        .filter(|r| keys.contains(&&r.key))
    else {
        return Ok(None);
    };
    let key = recorded.key.as_str();
    let link = inputs.cache.layer_link(key);
    let link = link.as_path();
    let phase = ui::Phase::start(format!(
        "fetching the recorded pip layer {}",
        recorded.dir.display()
    ));
    clear_roots(inputs.cache, key)?;
    let stderr = match fetch_rooted(inputs.nix, recorded, link)? {
        Ok(layer) => {
            phase.finish();
            return Ok(Some(layer));
        }
        Err(stderr) => stderr,
    };
    drop(phase);
    let (why, fix) = inputs
        .nix
        .why_not_fetched(&recorded.dir.display().to_string(), &stderr);
    ui::note(&format!("{why}; installing the layer instead"));
    if let Some(fix) = fix {
        ui::note(&format!("fix: {fix}"));
    }
    Ok(None)
}

/// Fetches and roots a recorded layer and the distributions its
/// composition names (they are what must be rooted, whatever the lock
/// lists: a lock of an older format lists none).
fn fetch_rooted(
    nix: &Nix,
    recorded: &LayerRef,
    link: &Path,
) -> Result<std::result::Result<LayerRef, String>> {
    if let Err(stderr) = nix.realise_rooted_all(&recorded.store_paths(), link)? {
        return Ok(Err(stderr));
    }
    let dists = compose::read_manifest(&recorded.dir)
        .map(|m| m.dists)
        .unwrap_or_default();
    let layer = LayerRef {
        dists,
        ..recorded.clone()
    };
    if layer.dists == recorded.dists {
        return Ok(Ok(layer));
    }
    Ok(nix
        .realise_rooted_all(&layer.store_paths(), link)?
        .map(|_| layer))
}

/// What the distributions a build here compiles against depend on: the
/// shell's variables and PATH (compiler, libraries, pkg-config paths).
fn build_env_key(shell: &ShellEnv) -> String {
    let vars: String = shell
        .vars
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    key_of(&[vars.as_bytes(), shell.path.join(":").as_bytes()])
}

struct LayerBuilder<'a> {
    inputs: &'a PipInputs<'a>,
    tool: Tool<'a>,
    facts: &'a InterpreterFacts,
    build_env: String,
    key: &'a str,
    here_key: &'a str,
}

/// New distributions up to this size are hashed here, so their store paths
/// are known before adding and the composition goes in the same
/// `nix-store --add` (a process start saved); bigger ones are added first,
/// which hashes them once instead of twice.
const HASH_AHEAD_LIMIT: u64 = 16 << 20;

impl LayerBuilder<'_> {
    /// The store path the index has for `key` (or for it built here in
    /// this shell), if it is still there, and whether it was built here.
    fn indexed(&self, key: &str) -> Option<(String, bool)> {
        let cache = self.inputs.cache;
        [
            (key.to_owned(), false),
            (built_here_key(key, &self.build_env), true),
        ]
        .into_iter()
        .filter_map(|(k, here)| {
            std::fs::read_link(cache.dist_link(&k))
                .ok()
                .map(|t| (t, here))
        })
        .find(|(target, _)| target.is_dir())
        .map(|(target, here)| (target.display().to_string(), here))
    }

    /// Installs what `wanted` lacks, composes, adds and roots. None when a
    /// distribution taken from the index was gone by the time it was rooted.
    fn build(&mut self, wanted: &mut [Wanted<'_>]) -> Result<Option<LayerRef>> {
        let inputs = self.inputs;
        let cache = inputs.cache;
        let missing: Vec<usize> = (0..wanted.len())
            .filter(|&i| wanted[i].path.is_none())
            .collect();
        let phase = ui::Phase::start(if missing.is_empty() {
            "composing the pip layer".to_owned()
        } else {
            format!(
                "installing {} of {} pip package(s) with {}",
                missing.len(),
                wanted.len(),
                self.tool.name()
            )
        });
        let work =
            atomic_write::private_tempdir_in(&cache.dists_dir(), Cache::dist_staging_prefix())?;
        let out = work.path().join("out");
        std::fs::create_dir(&out).map_err(|e| Error::io("create folder", &out, e))?;
        let mut timings = Timings::default();
        let new = if missing.is_empty() {
            Vec::new()
        } else {
            self.install(wanted, &missing, work.path(), &out, &mut timings)?
        };
        for (i, dist) in &new {
            wanted[*i].built_here = dist.built_here;
        }
        let layer_dir = out.join("nixpy-layer");
        let new_bytes: u64 = new.iter().map(|(_, d)| tree_size(&d.dir)).sum();
        let started = Instant::now();
        let mut added = if new_bytes <= HASH_AHEAD_LIMIT {
            // Store paths known ahead: distributions and composition in one call.
            for (i, dist) in &new {
                wanted[*i].path = Some(store_path_of_folder(&dist.dir, &file_name(&dist.dir))?);
            }
            self.compose(wanted, &new, &layer_dir)?;
            let mut dirs: Vec<&Path> = new.iter().map(|(_, d)| d.dir.as_path()).collect();
            dirs.push(&layer_dir);
            let paths = inputs.nix.add_folders(&dirs)?;
            let expected: Vec<&String> = new
                .iter()
                .filter_map(|(i, _)| wanted[*i].path.as_ref())
                .collect();
            if paths[..new.len()].iter().collect::<Vec<_>>() != expected {
                return Err(Error::new(format!(
                    "Nix gave other store paths than nixpy computed: {:?} for {expected:?}",
                    &paths[..new.len()]
                )));
            }
            paths
        } else {
            let dirs: Vec<&Path> = new.iter().map(|(_, d)| d.dir.as_path()).collect();
            let paths = inputs.nix.add_folders(&dirs)?;
            for ((i, _), path) in new.iter().zip(&paths) {
                wanted[*i].path = Some(path.clone());
            }
            self.compose(wanted, &new, &layer_dir)?;
            let mut paths = paths;
            paths.extend(inputs.nix.add_folders(&[&layer_dir])?);
            paths
        };
        timings.store = started.elapsed();
        let layer_path = added.pop().expect("the composition was added");
        let dists: Vec<String> = wanted.iter().filter_map(|w| w.path.clone()).collect();
        let key = if wanted.iter().any(|w| w.built_here) {
            self.here_key
        } else {
            self.key
        };
        let layer = LayerRef {
            key: key.to_owned(),
            dir: PathBuf::from(&layer_path),
            dists,
        };
        let started = Instant::now();
        clear_roots(cache, key)?;
        if inputs
            .nix
            .realise_rooted_all(&layer.store_paths(), &cache.layer_link(key))?
            .is_err()
        {
            return Ok(None);
        }
        timings.root = started.elapsed();
        for (i, dist) in &new {
            let key = if dist.built_here {
                built_here_key(&wanted[*i].key, &self.build_env)
            } else {
                wanted[*i].key.clone()
            };
            index(cache, &key, wanted[*i].path.as_deref().unwrap_or_default())?;
        }
        phase.finish();
        timings.report(new.len(), new_bytes);
        Ok(Some(layer))
    }

    /// Installs the `missing` pins into `work`, splits them into `out` and
    /// compiles them. Returns (index in `wanted`, its distribution).
    fn install(
        &self,
        wanted: &[Wanted<'_>],
        missing: &[usize],
        work: &Path,
        out: &Path,
        timings: &mut Timings,
    ) -> Result<Vec<(usize, SplitDist)>> {
        let inputs = self.inputs;
        let staging = work.join("stage");
        let scratch = scratch_dir(inputs.cache)?;
        let pins_file = scratch.path().join("pins.txt");
        let pins: Vec<&LockedPackage> = missing.iter().map(|&i| wanted[i].pin).collect();
        write(
            &pins_file,
            &pins_text(&pins, self.tool, inputs.project_root),
        )?;
        let started = Instant::now();
        install(inputs, self.tool, &staging, &pins_file)?;
        timings.install = started.elapsed();
        let started = Instant::now();
        let site = PathBuf::from(format!(
            "lib/python{}/site-packages",
            self.facts.minor_version()
        ));
        let (dists, leftovers) = split::split(&staging, self.tool.staging_layout(), &site, out)?;
        if !leftovers.is_empty() {
            tracing::debug!("files no RECORD names, left out of the layer: {leftovers:?}");
        }
        let matched = match_pins(wanted, missing, dists, &site, inputs.project_root)?;
        timings.split = started.elapsed();
        let started = Instant::now();
        let sites: Vec<PathBuf> = matched
            .iter()
            .map(|(_, d)| d.dir.join(&site))
            .filter(|p| p.is_dir())
            .collect();
        bytecode::compile(&inputs.shell.python, &sites);
        timings.compile = started.elapsed();
        Ok(matched)
    }

    /// The composition of every wanted distribution (new ones read from
    /// their staging folders) in `layer_dir`.
    fn compose(
        &self,
        wanted: &[Wanted<'_>],
        new: &[(usize, SplitDist)],
        layer_dir: &Path,
    ) -> Result<()> {
        let contents: Vec<PathBuf> = wanted
            .iter()
            .enumerate()
            .map(|(i, w)| match new.iter().find(|(j, _)| *j == i) {
                Some((_, dist)) => dist.dir.clone(),
                None => PathBuf::from(w.path.as_deref().unwrap_or_default()),
            })
            .collect();
        let parts: Vec<Part<'_>> = wanted
            .iter()
            .zip(&contents)
            .map(|(w, contents)| Part {
                target: w.path.as_deref().unwrap_or_default(),
                contents,
            })
            .collect();
        let built_here = wanted.iter().any(|w| w.built_here);
        compose::compose(
            layer_dir,
            &parts,
            built_here.then_some(self.build_env.as_str()),
        )
    }
}

/// How long each step of a layer build took, for `-v` (and the bench).
#[derive(Default)]
struct Timings {
    install: std::time::Duration,
    split: std::time::Duration,
    compile: std::time::Duration,
    store: std::time::Duration,
    root: std::time::Duration,
}

impl Timings {
    fn report(&self, count: usize, bytes: u64) {
        if ui::verbosity() >= 2 {
            ui::status(&format!(
                "pip layer: {count} new distribution(s), {}; install {:.3}s, split {:.3}s, compile {:.3}s, store {:.3}s, root {:.3}s",
                crate::support::disk_usage::human_bytes(bytes),
                self.install.as_secs_f64(),
                self.split.as_secs_f64(),
                self.compile.as_secs_f64(),
                self.store.as_secs_f64(),
                self.root.as_secs_f64(),
            ));
        }
    }
}

/// Pairs each installed distribution with the pin it was installed for:
/// by name, then (editable and path pins, named by their location) by the
/// location in its direct_url.json.
fn match_pins(
    wanted: &[Wanted<'_>],
    missing: &[usize],
    dists: Vec<SplitDist>,
    site: &Path,
    root: &Path,
) -> Result<Vec<(usize, SplitDist)>> {
    let mut left: Vec<usize> = missing.to_vec();
    let mut matched = Vec::new();
    let mut unmatched = Vec::new();
    for dist in dists {
        match left.iter().position(|&i| wanted[i].pin.name == dist.name) {
            Some(at) => matched.push((left.remove(at), dist)),
            None => unmatched.push(dist),
        }
    }
    for dist in unmatched {
        let url = dist_infos(&dist.dir.join(site))
            .first()
            .and_then(|info| direct_reference(info))
            .map(|(url, _, _)| url);
        let at = left.iter().position(|&i| {
            let requirement = localized(&wanted[i].pin.requirement, root);
            url.as_deref().is_some_and(|u| {
                u.trim_end_matches('/') == location_url(&requirement).trim_end_matches('/')
                    || local_location(&requirement, root)
                        .and_then(|p| p.canonicalize().ok())
                        .is_some_and(|p| {
                            u.trim_end_matches('/') == format!("file://{}", p.display())
                        })
            })
        });
        let at = at.or((left.len() == 1).then_some(0));
        match at {
            Some(at) => matched.push((left.remove(at), dist)),
            None => {
                return Err(Error::new(format!(
                    "the installer installed {} {}, which no pin names",
                    dist.name, dist.version
                )))
            }
        }
    }
    if let Some(&i) = left.first() {
        return Err(Error::new(format!(
            "the installer installed nothing for `{}`",
            wanted[i].pin.requirement
        ))
        .with_hint("run with --refresh; if it persists, the package's wheel has no .dist-info"));
    }
    Ok(matched)
}

/// Records `store_path` as the distribution with `key` (a link replaced
/// atomically).
fn index(cache: &Cache, key: &str, store_path: &str) -> Result<()> {
    let link = cache.dist_link(key);
    let tmp = cache
        .dists_dir()
        .join(format!(".link-{key}-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(store_path, &tmp).map_err(|e| Error::io("link", &tmp, e))?;
    std::fs::rename(&tmp, &link).map_err(|e| Error::io("replace", &link, e))
}

/// Removes the layer's GC roots (`<key>` and `<key>-<n>`, and whatever
/// stands there: a dangling link, a folder of an older layout) before
/// rooting it anew, so no stale `-<n>` root outlives it.
fn clear_roots(cache: &Cache, key: &str) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(cache.layers_dir()) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if Cache::layer_root_key(&name.to_string_lossy()) != Some(key) {
            continue;
        }
        let path = entry.path();
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| Error::io("remove the stale layer root", &path, e))?;
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn pins_text(pins: &[&LockedPackage], tool: Tool<'_>, root: &Path) -> String {
    let every_pin_hashed = pins.iter().all(|p| !p.hashes.is_empty());
    let write_hashes = tool.writes_hashes(every_pin_hashed);
    let text: String = pins
        .iter()
        .map(|p| {
            let hashes: String = if write_hashes {
                p.hashes.iter().map(|h| format!(" --hash={h}")).collect()
            } else {
                String::new()
            };
            format!("{}{hashes}\n", p.requirement)
        })
        .collect();
    localized(&text, root)
}

fn install(inputs: &PipInputs<'_>, tool: Tool<'_>, target: &Path, pins: &Path) -> Result<()> {
    let args = tool.install_args(
        target,
        inputs.requirements.index.to_args(),
        inputs.offline,
        pins,
    );
    let output = tool.run(args, inputs.shell)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("No space left on device") {
            format!(
                "free disk space where nixpy builds layers ({}): `nixpy gc` removes unused entries, or set NIXPY_CACHE_DIR",
                inputs.cache.root.display()
            )
        } else if inputs.offline {
            "--offline installs only from the installer's cache; run once online, or provide the wheel with --find-links".to_owned()
        } else {
            "the lock may name a version the index no longer serves; `nixpy lock --upgrade` resolves again".to_owned()
        };
        return Err(Error::new(format!(
            "{} failed to install the pip layer:\n{}",
            tool.name(),
            indent(stderr.trim())
        ))
        .with_hint(hint));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_written_only_when_every_pin_has_them() {
        let pin = |r: &str, h: &[&str]| LockedPackage {
            name: r.into(),
            version: "1".into(),
            requirement: r.into(),
            hashes: h.iter().map(std::string::ToString::to_string).collect(),
            groups: Vec::new(),
        };
        let root = Path::new("/p");
        let pip = Tool::Pip { python: "/p" };
        let uv = Tool::Uv {
            uv: "/u",
            python: "/p",
        };
        let a = pin("a==1", &["sha256:1"]);
        let e = pin("-e /x", &[]);
        assert_eq!(pins_text(&[&a, &e], pip, root), "a==1\n-e /x\n");
        // uv checks each given hash on its own.
        assert_eq!(
            pins_text(&[&a, &e], uv, root),
            "a==1 --hash=sha256:1\n-e /x\n"
        );
        assert_eq!(pins_text(&[&a], pip, root), "a==1 --hash=sha256:1\n");
    }

    #[test]
    fn requirements_name_the_url_installers_record() {
        assert_eq!(location_url("-e /src/pkg"), "file:///src/pkg");
        assert_eq!(location_url("x @ file:///w/x.whl"), "file:///w/x.whl");
    }
}
