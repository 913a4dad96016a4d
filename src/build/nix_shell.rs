//! The Nix side of an environment: pinning nixpkgs, writing the generated
//! flake (content-addressed), building it with `print-dev-env`, or fetching
//! a shell recorded in nixpy.lock from a substituter.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::entry::ProjectCache;
use crate::error::{Error, Result};
use crate::flake::{self, ShellEnv, ShellPlan};
use crate::layout::{self, ProjectDir};
use crate::nix::{self, GcRoot, NameProblem, NameReport, Nix, NixFailure};
use crate::project::lockfile::{LockMode, NixpkgsPin};
use crate::project::{self, PackageRef};
use crate::support::atomic_write;
use crate::support::source_pos::line_col;
use crate::ui;

/// What a shell build may read of the project when Nix fails: its folder
/// (for the manifest's lines) and its Nix files with what they import.
pub(super) struct ProjectFiles<'a> {
    pub root: &'a Path,
    pub nix_sources: &'a [PathBuf],
}

/// The nixpkgs pin nixpy.lock keeps, and the one the generated flake uses:
/// the same, unless a mirror serves the pinned nixpkgs.
#[derive(Debug)]
pub(super) struct Pins {
    pub(super) lock: NixpkgsPin,
    pub(super) flake: NixpkgsPin,
}

impl Pins {
    fn same(pin: NixpkgsPin) -> Pins {
        Pins {
            lock: pin.clone(),
            flake: pin,
        }
    }
}

/// The nixpkgs pin: from nixpy.lock when it pins this reference, else
/// locked now (when the mode allows writing the lock). An upgrade passes
/// no `current` pin. A mirror (`mirror`: `--nixpkgs` or NIXPY_NIXPKGS)
/// never moves a pin that nixpy.lock holds: it must serve the same nixpkgs
/// (the same `narHash`), and the generated flake then fetches it from the
/// mirror. Only `nixpy lock --upgrade` pins what a mirror serves.
pub(super) fn pin_nixpkgs(
    nix: &Nix,
    pc: &ProjectCache,
    plan: &ShellPlan,
    current: Option<&NixpkgsPin>,
    mode: LockMode,
    mirror: bool,
) -> Result<Pins> {
    let config = toml::Table::try_from(&plan.nixpkgs_config)
        .map_err(|e| Error::new(format!("cannot record the nixpkgs settings: {e}")))?;
    let frozen = matches!(mode, LockMode::Locked | LockMode::Frozen);
    match current {
        Some(pin) if pin.url == plan.nixpkgs || mirror => {
            if frozen && pin.config != config {
                return Err(Error::new(format!(
                    "nixpy.lock records other nixpkgs settings than [nixpkgs-config] of {} ({}), and the lock may not be rewritten here (--locked, --frozen or CI is set)",
                    plan.manifest_label,
                    plan.nixpkgs_config.summary()
                ))
                .with_hint("run `nixpy lock` on a development machine and commit nixpy.lock"));
            }
            let pinned = NixpkgsPin {
                config: config.clone(),
                ..pin.clone()
            };
            if pin.url == plan.nixpkgs {
                return Ok(Pins::same(pinned));
            }
            let served = lock_nixpkgs(nix, pc, plan, config)?;
            return match (pin.nar_hash(), served.nar_hash()) {
                (Some(pinned_hash), Some(found)) if pinned_hash == found => Ok(Pins {
                    lock: pinned,
                    flake: served,
                }),
                (pinned_hash, found) => Err(Error::new(format!(
                    "the nixpkgs mirror `{}` serves another nixpkgs than nixpy.lock pins (narHash {}, pinned: {} from `{}`)",
                    plan.nixpkgs,
                    found.unwrap_or("unknown"),
                    pinned_hash.unwrap_or("unknown"),
                    pin.url,
                ))
                .with_hint(format!(
                    "point the mirror at the pinned revision{}, or run `nixpy lock --upgrade` to pin what the mirror serves",
                    pin.revision().map(|rev| format!(" ({rev})")).unwrap_or_default()
                ))),
            };
        }
        _ => {}
    }
    if frozen {
        let why = match current {
            Some(pin) => format!(
                "nixpy.lock pins nixpkgs `{}`, but the project now uses `{}`",
                pin.url, plan.nixpkgs
            ),
            None => "nixpy.lock is missing or does not pin nixpkgs".to_owned(),
        };
        return Err(Error::new(format!(
            "{why}, and the lock may not be rewritten here (--locked, --frozen or CI is set)"
        ))
        .with_hint("run `nixpy lock` on a development machine and commit nixpy.lock"));
    }
    lock_nixpkgs(nix, pc, plan, config).map(Pins::same)
}

/// Locks the plan's nixpkgs reference now, in a scratch flake.
fn lock_nixpkgs(
    nix: &Nix,
    pc: &ProjectCache,
    plan: &ShellPlan,
    config: toml::Table,
) -> Result<NixpkgsPin> {
    let phase = ui::Phase::start(format!("locking nixpkgs ({})", plan.nixpkgs));
    let flakes = pc.cache.flakes_dir();
    pc.cache.ensure(&flakes)?;
    let scratch = atomic_write::private_tempdir_in(&flakes, layout::FLAKE_LOCKING)?;
    for (name, text) in flake::source_files(plan) {
        atomic_write::write_file(&scratch.path().join(name), text.as_bytes())?;
    }
    let node = nix.lock_flake(scratch.path())?;
    phase.finish();
    Ok(NixpkgsPin {
        config,
        ..NixpkgsPin::from_flake_lock_node(&plan.nixpkgs, &node)?
    })
}

/// Fetches the shell file recorded in nixpy.lock (from the store or a
/// substituter) and roots it: no evaluation, no build. `None` (with a
/// note saying why) when it cannot be had.
pub(super) fn fetch_recorded_shell(
    nix: &Nix,
    pc: &ProjectCache,
    store_path: &str,
) -> Result<Option<ShellEnv>> {
    let phase = ui::Phase::start(format!("fetching the recorded Nix shell {store_path}"));
    let (why, fix) = match nix.realise_rooted(store_path, &pc.dir.shell_file())? {
        Ok(_) => match flake::read_shell_file(store_path) {
            Ok(shell) => {
                phase.finish();
                return Ok(Some(shell));
            }
            Err(e) => (e.message, None),
        },
        Err(stderr) => nix.why_not_fetched(store_path, &stderr),
    };
    drop(phase);
    ui::note(&format!("{why}; building the shell instead"));
    if let Some(fix) = fix {
        ui::note(&format!("fix: {fix}"));
    }
    Ok(None)
}

/// The project's shell file, rooted again if a garbage collection dropped
/// its root (and the nixpkgs source's) while the cache folder was away.
pub(super) fn keep_shell_rooted(nix: &Nix, pc: &ProjectCache, shell_file: &str) -> Result<()> {
    let link = pc.dir.shell_file();
    let pointed = std::fs::read_link(&link).ok();
    if GcRoot::new(&link).is_missing() || pointed.as_deref() != Some(Path::new(shell_file)) {
        ui::note(&format!(
            "the GC root of {shell_file} was lost (a garbage collection ran while it was away?); registering it again"
        ));
        nix.keep_rooted(shell_file, &link)?;
    }
    let source = pc.dir.nixpkgs_source();
    if let Ok(target) = std::fs::canonicalize(&source) {
        if GcRoot::new(&source).is_missing() {
            let target = target.display().to_string();
            ui::note(&format!(
                "the GC root of the nixpkgs source {target} was lost; registering it again"
            ));
            nix.keep_rooted(&target, &source)?;
        }
    }
    Ok(())
}

/// Writes the generated flake (content-addressed by `key`) and builds it.
/// Returns the environment and the store path of its shell file, rooted.
pub(super) fn build_shell(
    nix: &Nix,
    pc: &ProjectCache,
    plan: &ShellPlan,
    key: &str,
    files: &[(&str, String)],
    project: &ProjectFiles,
) -> Result<(ShellEnv, String)> {
    let dir = flake::write_dir(&pc.cache, key, files)?;
    warn_before_heavy_builds(nix, &dir, plan)?;
    let count = plan.packages.len() + plan.python_packages.len() + plan.nix_files.len();
    let phase = ui::Phase::start(format!(
        "building the Nix shell ({count} package source(s))"
    ));
    // The profile keeps what was built alive until the shell file's root
    // does (a garbage collection may run at any moment).
    let profile = pc.dir.shell_profile();
    let built = match nix.print_dev_env(&dir, &plan.installable_fragment(), &profile)? {
        Ok(built) => built,
        Err(failure) => {
            drop(phase);
            return Err(explain_shell_failure(nix, &dir, project, &failure));
        }
    };
    let shell = flake::parse_dev_env(&built.json)?;
    let env_path = std::fs::canonicalize(&profile)
        .map_err(|e| Error::io("read the GC root", &profile, e))?
        .display()
        .to_string();
    let text = flake::render_shell_file(&shell);
    let candidates = nix.references(&env_path)?;
    let references = flake::shell_file_references(&text, &candidates);
    let (shell_file, _) = nix.add_rooted(&pc.dir.shell_file(), || {
        nix.write_text_file(flake::SHELL_FILE_NAME, &text, &references)
    })?;
    phase.finish();
    note_ignored_substituters(&built.ignored_substituters, plan);
    note_modules_for_another_interpreter(&shell, plan);
    let python = plan.python.to_string();
    for note in other_interpreter_notes(
        &shell.app_modules,
        &python,
        &shell.python_version,
        &plan.manifest_label,
    ) {
        ui::note(&note);
    }
    remove_profile(&pc.dir);
    // Written again if something (a concurrent `nixpy gc`) removed it.
    let dir = flake::write_dir(&pc.cache, key, files)?;
    if let Ok(Some(source)) = nix.nixpkgs_source(&dir) {
        nix.keep_rooted(&source, &pc.dir.nixpkgs_source())?;
    }
    Ok((shell, shell_file))
}

/// One error for a failed shell build. When the names are the problem,
/// every unusable name is reported at once: the manifest's (which the
/// template checks) and those the nix-files mention (which Nix meets one
/// at a time, so nixpy finds them in the files and looks them all up).
fn explain_shell_failure(
    nix: &Nix,
    dir: &Path,
    project: &ProjectFiles,
    failure: &NixFailure,
) -> Error {
    let manifest_report = failure.name_report(Some(project.root));
    let threw = failure.nix_file_entry_threw();
    let stopped_in_nix_file = failure.stopped_at_name().is_some_and(|at| {
        project
            .nix_sources
            .iter()
            .any(|source| same_file(source, &at.file))
    });
    if manifest_report.is_none() && threw.is_none() && !stopped_in_nix_file {
        return failure.explain(Some(project.root));
    }
    let in_files = match nix_file_problems(nix, dir, project) {
        Ok(problems) => problems,
        Err(err) => {
            tracing::debug!("cannot look up the names in nix-files: {}", err.message);
            Vec::new()
        }
    };
    match manifest_report {
        Some(mut report) => {
            report.extend(in_files);
            report.explain()
        }
        None if !in_files.is_empty() => {
            // The entry that threw is quoted: the one its text names.
            let quoted = threw.as_ref().and_then(|note| {
                in_files
                    .iter()
                    .filter(|p| p.status == "removed")
                    .find(|p| note.contains(p.attr.rsplit('.').next().unwrap_or(&p.attr)))
                    .or_else(|| in_files.iter().find(|p| p.status == "removed"))
                    .map(|p| p.attr.clone())
            });
            NameReport {
                total: in_files.len(),
                problems: in_files,
                quoted,
                note: threw,
            }
            .explain()
        }
        None => failure.explain(Some(project.root)),
    }
}

/// Every package name the nix-files mention that nixpkgs lacks or removed,
/// with its file and line.
fn nix_file_problems(nix: &Nix, dir: &Path, project: &ProjectFiles) -> Result<Vec<NameProblem>> {
    let root = project
        .root
        .canonicalize()
        .unwrap_or_else(|_| project.root.to_path_buf());
    let mut mentions: Vec<(String, usize, PackageRef)> = Vec::new();
    for source in project.nix_sources {
        let Ok(text) = std::fs::read_to_string(source) else {
            continue;
        };
        let label = source
            .strip_prefix(&root)
            .unwrap_or(source)
            .display()
            .to_string();
        for found in project::package_refs(&text) {
            let (line, _) = line_col(&text, found.offset);
            mentions.push((label.clone(), line, found));
        }
    }
    let unique: BTreeSet<&Vec<String>> = mentions.iter().map(|(_, _, found)| &found.path).collect();
    let paths: Vec<Vec<String>> = unique.into_iter().cloned().collect();
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let statuses = nix.names(dir, "nixpkgs", &paths)?;
    let status_of: BTreeMap<&Vec<String>, &str> = paths
        .iter()
        .zip(&statuses)
        .map(|(p, s)| (p, s.status.as_str()))
        .collect();
    Ok(mentions
        .into_iter()
        .filter_map(|(source, line, found)| {
            let status = *status_of.get(&found.path)?;
            (status != "ok").then(|| NameProblem {
                attr: found.path.join("."),
                list: "nix-files".to_owned(),
                set: "nixpkgs".to_owned(),
                source,
                status: status.to_owned(),
                at: String::new(),
                line: Some(line),
            })
        })
        .collect())
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || a.canonicalize().ok() == b.canonicalize().ok()
}

/// Before a build that would compile torch or CUDA from source (hours),
/// say so and how a binary cache saves it. Asked of Nix only when the
/// project builds for a GPU or names torch: planning costs an evaluation.
fn warn_before_heavy_builds(nix: &Nix, dir: &Path, plan: &ShellPlan) -> Result<()> {
    let names_torch = plan
        .python_packages
        .iter()
        .chain(&plan.packages)
        .any(|p| p.to_string().contains("torch"));
    if !plan.nixpkgs_config.gpu_support() && !names_torch {
        return Ok(());
    }
    let heavy = nix::heavy_builds(&nix.would_build(dir, &plan.installable_fragment())?);
    if heavy.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = heavy.iter().take(5).map(String::as_str).collect();
    let more = heavy.len().saturating_sub(shown.len());
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    ui::warn(&format!(
        "no binary cache in use has {}{more}: they will be compiled from source, which can take hours.\n  \
         A CUDA binary cache saves that; list it in {} (the NixOS wiki's CUDA page names the current ones):\n    \
         substituters = [\"https://cuda-maintainers.cachix.org\"]\n    \
         trusted-public-keys = [\"cuda-maintainers.cachix.org-1:0dq3bujKpuEPMCX6U4WylrUDZ9JyUG0VpVZa7CNfq5E=\"]",
        shown.join(", "),
        plan.manifest_label
    ));
    Ok(())
}

/// A daemon that does not trust the user ignores the binary caches nixpy
/// passes: say which line the admin must add.
fn note_ignored_substituters(ignored: &[String], plan: &ShellPlan) {
    if ignored.is_empty() {
        return;
    }
    ui::warn(&format!(
        "the nix-daemon ignored the binary cache(s) {} because {} is not a trusted user; \
         everything they have was built here instead.\n  fix: {} (the keys are in {})",
        ignored.join(", "),
        nix::user_name(),
        nix::substituters_fix(ignored),
        plan.manifest_label
    ));
}

/// The modules of listed Python applications come from the interpreter's
/// package set; for an interpreter other than nixpkgs' default python3,
/// the public binary cache has fewer of them built.
fn note_modules_for_another_interpreter(shell: &ShellEnv, plan: &ShellPlan) {
    let Ok(report) = serde_json::from_str::<serde_json::Value>(&shell.app_modules) else {
        return;
    };
    if report["defaultPython"].as_bool() != Some(false) {
        return;
    }
    let twins: Vec<&str> = report["modules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["twin"].as_bool() == Some(true))
        .filter_map(|m| m["module"].as_str())
        .collect();
    if twins.is_empty() {
        return;
    }
    ui::note(&format!(
        "the Python modules of {} come from {}'s package set, not nixpkgs' default python3: \
         cache.nixos.org has fewer of those built, so they may be compiled from source",
        twins.join(", "),
        plan.python
    ));
}

/// A Python of another version listed beside the project's interpreter
/// (the lesson's modules/python.nix lists python312 while nixpy.toml names
/// no `python`): its packages join the project's interpreter, and `python`
/// is the project's, so say which version that is and how to choose the
/// other.
fn other_interpreter_notes(
    app_modules: &str,
    python: &str,
    python_version: &str,
    manifest: &str,
) -> Vec<String> {
    let Ok(report) = serde_json::from_str::<serde_json::Value>(app_modules) else {
        return Vec::new();
    };
    report["otherInterpreters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|other| {
            let package = other["package"].as_str()?;
            let source = other["source"].as_str()?;
            let version = other["version"].as_str()?;
            Some(format!(
                "{source} lists {package} (Python {version}), but the project's interpreter is \
                 `{python}` (Python {python_version}): `python` and the Python packages of the \
                 environment are its; to use Python {version}, set `python = \"python{}\"` in {manifest}",
                version.replace('.', "")
            ))
        })
        .collect()
}

/// Removes Nix's profile of the shell and its generations: the shell
/// file's root keeps everything the shell uses.
fn remove_profile(dir: &ProjectDir) {
    let Ok(entries) = std::fs::read_dir(&dir.path) else {
        return;
    };
    let _ = std::fs::remove_file(dir.shell_profile());
    for entry in entries.flatten() {
        if ProjectDir::is_profile_generation(&entry.file_name().to_string_lossy()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_listed_interpreter_is_named_with_the_key_that_chooses_it() {
        let report = r#"{"defaultPython": true, "modules": [],
            "otherInterpreters": [{"package": "python3-3.12.8", "source": "modules/python.nix", "version": "3.12"}]}"#;
        let notes = other_interpreter_notes(report, "python3", "3.11", "nixpy.toml");
        assert_eq!(
            notes,
            ["modules/python.nix lists python3-3.12.8 (Python 3.12), but the project's interpreter is \
              `python3` (Python 3.11): `python` and the Python packages of the environment are its; \
              to use Python 3.12, set `python = \"python312\"` in nixpy.toml"]
        );
        assert!(
            other_interpreter_notes(r#"{"modules": []}"#, "python3", "3.11", "nixpy.toml")
                .is_empty()
        );
        assert!(other_interpreter_notes("", "python3", "3.11", "nixpy.toml").is_empty());
    }
}
