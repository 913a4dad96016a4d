//! Reading a project's inputs: the manifest, its nix-files and what they
//! import, the pip requirement files with their includes. Each file is
//! stamped for the fingerprint before it is read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::project::dependency_groups;
use crate::project::local_project::{self, LocalProject};
use crate::project::lockfile;
use crate::project::manifest::{self, Manifest, PyprojectDependencies};
use crate::project::requirements::{self, RequirementSet};
use crate::project::{nix_file, nix_reads};
use crate::project::{ProjectLocation, MANIFEST_FILE, PYPROJECT_FILE, REQUIREMENTS_FILE};
use crate::support::fingerprint::{FileStamp, Fingerprint};
use crate::support::source_pos;
use crate::ui;

/// Reads every input, stamping each file before it is read.
pub(crate) struct Inputs {
    pub fingerprint: Fingerprint,
    pub manifest: Manifest,
    pub requirements: RequirementSet,
    /// nix-files and the files they import.
    pub nix_sources: Vec<PathBuf>,
}

pub(crate) fn read_inputs(
    location: &ProjectLocation,
    scalars: BTreeMap<String, String>,
) -> Result<Inputs> {
    let mut fingerprint = Fingerprint {
        scalars,
        ..Fingerprint::default()
    };
    let root = &location.root;
    // Files whose appearance alone changes the project: stamped even absent.
    for always in [
        &location.manifest,
        &root.join(MANIFEST_FILE),
        &root.join(PYPROJECT_FILE),
        &root.join(REQUIREMENTS_FILE),
    ] {
        fingerprint.add_file(always);
    }
    let manifest = manifest::load(&location.manifest, location.kind)?;
    if location.shadows_pyproject() {
        ui::note(
            "both nixpy.toml and [tool.nixpy] in pyproject.toml configure nixpy; nixpy.toml wins",
        );
    }
    // Nix files and what they read by relative path: their contents are
    // part of the shell (the generated flake names only their paths).
    // Nix files are followed for what they read in turn; any other file
    // (read with readFile, importJSON) is an input as it is.
    let mut nix_sources: Vec<PathBuf> = Vec::new();
    let mut pending: Vec<(PathBuf, bool)> = manifest
        .nix_files
        .iter()
        .map(|f| (f.clone(), true))
        .collect();
    while let Some((file, is_nix)) = pending.pop() {
        if nix_sources.contains(&file) {
            continue;
        }
        fingerprint.add_file(&file);
        nix_sources.push(file.clone());
        if !is_nix {
            continue;
        }
        let text = manifest::read_manifest_text(&file)?;
        nix_file::check(&file, &text)?;
        let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
        let reads = nix_reads::reads(&dir, &text);
        for untracked in &reads.untracked {
            let (line, col) = source_pos::line_col(&text, untracked.span.start);
            ui::warn(&format!(
                "{}:{line}:{col}: {}; a change there will not rebuild the environment\n  hint: {}",
                file.strip_prefix(root).unwrap_or(&file).display(),
                untracked.what,
                untracked.hint,
            ));
        }
        for target in reads.paths {
            fingerprint.add_links(&target);
            let target = if target.is_dir() {
                target.join("default.nix")
            } else {
                target
            };
            if target.is_file() {
                let is_nix = target.extension().is_some_and(|e| e == "nix");
                pending.push((target.canonicalize().unwrap_or(target), is_nix));
            } else {
                // Absent (or not a file): its appearance is a change.
                fingerprint.add_file(&target);
            }
        }
    }
    let requirements = pip_sources(&manifest)?;
    for file in &requirements.files {
        fingerprint.add_file(file);
    }
    // The metadata of local projects (`-e ./lib`) decides what they need.
    for local in &requirements.local_projects {
        for file in local.metadata_files() {
            fingerprint.add_file(&file);
        }
    }
    for written in manifest.written_paths.iter().chain(&requirements.written) {
        fingerprint.add_links(written);
    }
    for name in &requirements.variables {
        fingerprint.add_variable(name);
    }
    Ok(Inputs {
        fingerprint,
        manifest,
        requirements,
        nix_sources,
    })
}

/// Every input file of the project and its lock, stamped (for `nixpy
/// cache-key` and direnv's watch list).
pub(crate) fn input_files(location: &ProjectLocation) -> Result<Vec<FileStamp>> {
    let mut fingerprint = read_inputs(location, BTreeMap::new())?.fingerprint;
    // Read as a build reads it, so a lock that is no file is refused here too.
    lockfile::read(&location.lock_path())?;
    fingerprint.add_file(&location.lock_path());
    Ok(fingerprint.files)
}

/// Where the pip requirements come from, by the one default rule:
/// `requirements = [...]`, else requirements.txt, else `[project]` of
/// pyproject.toml.
#[derive(Debug)]
pub(crate) enum PipSource {
    /// `requirements = [...]` in the manifest.
    Listed(Vec<PathBuf>),
    RequirementsTxt(PathBuf),
    Pyproject {
        path: PathBuf,
        dependencies: PyprojectDependencies,
    },
    /// None yet; a new requirements.txt (this path) would be read.
    Nothing(PathBuf),
}

impl PipSource {
    /// The source of the project in `root`; `listed` is the manifest's
    /// `requirements`, when it has the key.
    pub(crate) fn of(root: &Path, listed: Option<&[PathBuf]>) -> Result<PipSource> {
        if let Some(files) = listed {
            return Ok(PipSource::Listed(files.to_vec()));
        }
        // Present but not a regular file (a FIFO, a device): taken, so
        // that reading it says what is wrong instead of skipping it.
        let default = root.join(REQUIREMENTS_FILE);
        if default.exists() {
            return Ok(PipSource::RequirementsTxt(default));
        }
        let pyproject = root.join(PYPROJECT_FILE);
        if pyproject.exists() {
            if let Some(dependencies) = manifest::load_pyproject_dependencies(&pyproject)? {
                return Ok(PipSource::Pyproject {
                    path: pyproject,
                    dependencies,
                });
            }
        }
        Ok(PipSource::Nothing(default))
    }
}

/// The manifest's pip requirements, read from their [`PipSource`], with
/// the local projects they install.
pub(crate) fn pip_sources(manifest: &Manifest) -> Result<RequirementSet> {
    let mut set = requirement_set(manifest)?;
    let pyproject = manifest.root.join(PYPROJECT_FILE);
    set.groups = dependency_groups::read(&pyproject)?;
    check_groups(
        &manifest.groups,
        &set,
        &format!("groups in {}", manifest.path.display()),
    )?;
    set.local_projects = local_project::local_project_dirs(&set.with_groups(&all_groups(&set)))
        .iter()
        .map(|dir| LocalProject::read(dir))
        .collect();
    Ok(set)
}

fn all_groups(set: &RequirementSet) -> Vec<String> {
    set.groups.keys().cloned().collect()
}

/// Each name in `names` is a dependency group of the project; `whose`
/// says where the names come from, for the error.
pub(crate) fn check_groups(names: &[String], set: &RequirementSet, whose: &str) -> Result<()> {
    let Some(unknown) = names.iter().find(|n| !set.groups.contains_key(*n)) else {
        return Ok(());
    };
    let hint = if set.groups.is_empty() {
        "pyproject.toml has no [dependency-groups] (PEP 735): add the group there".to_owned()
    } else {
        format!(
            "groups of [dependency-groups] in pyproject.toml: {}",
            set.groups.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    };
    Err(Error::new(format!(
        "{whose} names `{unknown}`, which is not a dependency group of the project"
    ))
    .with_hint(hint))
}

fn requirement_set(manifest: &Manifest) -> Result<RequirementSet> {
    match PipSource::of(&manifest.root, manifest.requirements.as_deref())? {
        PipSource::Listed(files) => requirements::read_files(&files),
        PipSource::RequirementsTxt(file) => requirements::read_files(&[file]),
        PipSource::Pyproject { path, dependencies } => {
            let mut lines = dependencies.dependencies.clone();
            for extra in &manifest.pip_extras {
                let group = dependencies.optional.get(extra).ok_or_else(|| {
                    Error::new(format!("pip-extras names `{extra}`, which is not a group of [project.optional-dependencies] in {}", path.display()))
                        .with_hint(format!("groups there: {}", dependencies.optional.keys().cloned().collect::<Vec<_>>().join(", ")))
                })?;
                lines.extend(group.iter().cloned());
            }
            let mut set = RequirementSet::default();
            set.add_strings(&path, &manifest.root, &lines)?;
            Ok(set)
        }
        PipSource::Nothing(_) => Ok(RequirementSet::default()),
    }
}
