//! `nixpy add` and `nixpy remove`: edit the manifest (or the requirements
//! file) in place, after checking names against the pinned nixpkgs, then
//! bring the lock and the environment up to date. If that fails, the edit
//! is undone, so the project is never left with a list that does not build.

use std::path::{Path, PathBuf};

use crate::build::{self, BuildOptions, Context};
use crate::cli::EditArgs;
use crate::error::{Error, Result};
use crate::flake::ShellPlan;
use crate::nix::{self, NameStatus, Nix};
use crate::project::edit::{self, ListKey, Location};
use crate::project::manifest::{self, ManifestKind};
use crate::project::requirements::normalize_name;
use crate::project::AttrPath;
use crate::project::{PipSource, ProjectLocation};
use crate::support::atomic_write;
use crate::ui;

/// One file's text before and after an edit.
struct FileEdit {
    path: PathBuf,
    before: String,
    after: String,
}

pub(super) fn add(ctx: &Context, args: EditArgs) -> Result<i32> {
    let location = ctx.locate()?;
    let (nix_names, list) = nix_names(&args)?;
    let pip = pip_requirements(&args)?;
    if !nix_names.is_empty() {
        check_attributes_exist(ctx, list, &nix_names)?;
    }
    let mut edits = Vec::new();
    let mut summary = Vec::new();
    if !nix_names.is_empty() {
        let (edit, added) = edit_manifest_list(&location, list, &nix_names, edit::add_to_list)?;
        summary.extend(added.iter().map(|a| format!("{a} to {}", list.key())));
        edits.push(edit);
    }
    if !pip.is_empty() {
        let (path, before, after) = edit_requirements(&location, &pip, &[])?;
        summary.extend(
            pip.iter()
                .map(|(_, line)| format!("`{line}` to {}", relative(&location, &path))),
        );
        edits.push(FileEdit {
            path,
            before,
            after,
        });
    }
    apply_and_update(
        ctx,
        &location,
        edits,
        &format!("added {}", join_or_nothing(&summary)),
    )
}

pub(super) fn remove(ctx: &Context, args: EditArgs) -> Result<i32> {
    let location = ctx.locate()?;
    let (nix_names, list) = nix_names(&args)?;
    let mut edits = Vec::new();
    let mut summary = Vec::new();
    if !nix_names.is_empty() {
        let (edit, removed) =
            edit_manifest_list(&location, list, &nix_names, edit::remove_from_list)?;
        let items: Vec<String> = nix_names.iter().map(ToString::to_string).collect();
        if let Some(missing) = items.iter().find(|i| !removed.contains(i)) {
            return Err(Error::new(format!(
                "`{missing}` is not in {} of {}",
                list.key(),
                relative(&location, &location.manifest)
            ))
            .with_hint("`nixpy show` lists what the manifest has"));
        }
        summary.extend(removed.iter().map(|r| format!("{r} from {}", list.key())));
        edits.push(edit);
    }
    if !args.pip.is_empty() {
        let names: Vec<String> = args.pip.iter().map(|n| normalize_name(n)).collect();
        let (path, before, after) = edit_requirements(&location, &[], &names)?;
        if before == after {
            return Err(Error::new(format!(
                "none of {} is in {}",
                names.join(", "),
                relative(&location, &path)
            )));
        }
        summary.extend(
            names
                .iter()
                .map(|n| format!("{n} from {}", relative(&location, &path))),
        );
        edits.push(FileEdit {
            path,
            before,
            after,
        });
    }
    apply_and_update(
        ctx,
        &location,
        edits,
        &format!("removed {}", join_or_nothing(&summary)),
    )
}

/// An edit of one of the manifest's lists, and the items it touched.
type ListEdit =
    fn(&str, Location, ListKey, &[String]) -> std::result::Result<(String, Vec<String>), String>;

fn edit_manifest_list(
    location: &ProjectLocation,
    list: ListKey,
    names: &[AttrPath],
    edit: ListEdit,
) -> Result<(FileEdit, Vec<String>)> {
    let items: Vec<String> = names.iter().map(ToString::to_string).collect();
    let before = read(&location.manifest)?;
    let (after, touched) =
        edit(&before, manifest_location(location), list, &items).map_err(|why| {
            Error::new(format!(
                "cannot edit {}: {why}",
                location.manifest.display()
            ))
        })?;
    Ok((
        FileEdit {
            path: location.manifest.clone(),
            before,
            after,
        },
        touched,
    ))
}

fn nix_names(args: &EditArgs) -> Result<(Vec<AttrPath>, ListKey)> {
    let list = if args.python {
        ListKey::PythonPackages
    } else {
        ListKey::Packages
    };
    let names = args
        .names
        .iter()
        .map(|n| {
            AttrPath::parse(n).map_err(|why| {
                Error::new(why)
                    .with_hint("use a nixpkgs attribute path such as ffmpeg or llvmPackages.clang")
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if names.is_empty() && args.pip.is_empty() {
        return Err(
            Error::new("nothing to do: name packages, or give --pip REQUIREMENT").with_hint(
                "name nixpkgs attributes (ffmpeg sox), --python packages (--python numpy) or --pip requirements (--pip 'requests>=2')",
            ),
        );
    }
    Ok((names, list))
}

/// (normalised name, requirement line) for each `--pip` value.
fn pip_requirements(args: &EditArgs) -> Result<Vec<(String, String)>> {
    args.pip
        .iter()
        .map(|text| {
            let parsed = crate::project::requirements::parse_pep508(text).map_err(|why| {
                Error::new(format!("`{text}` is not a valid requirement: {why}"))
                    .with_hint("write it as in requirements.txt, e.g. 'requests>=2.31'")
            })?;
            Ok((normalize_name(parsed.name.as_ref()), text.trim().to_owned()))
        })
        .collect()
}

fn manifest_location(location: &ProjectLocation) -> Location {
    match location.kind {
        ManifestKind::NixpyToml => Location::Root,
        ManifestKind::Pyproject => Location::ToolNixpy,
    }
}

/// Edits the project's pip source ([`PipSource`]): the first file of
/// `requirements = [...]`, else requirements.txt, else
/// `[project].dependencies`, else a new requirements.txt.
fn edit_requirements(
    location: &ProjectLocation,
    add: &[(String, String)],
    remove: &[String],
) -> Result<(PathBuf, String, String)> {
    let manifest = manifest::load(&location.manifest, location.kind)?;
    let listed = manifest.requirements.as_deref().filter(|l| !l.is_empty());
    match PipSource::of(&location.root, listed)? {
        PipSource::Listed(files) => edit_requirements_file(&files[0], add, remove),
        PipSource::RequirementsTxt(file) | PipSource::Nothing(file) => {
            edit_requirements_file(&file, add, remove)
        }
        PipSource::Pyproject { path, .. } => {
            let before = read(&path)?;
            let (after, _) = edit::edit_pyproject_dependencies(&before, add, remove)
                .map_err(|why| Error::new(format!("cannot edit {}: {why}", path.display())))?;
            Ok((path, before, after))
        }
    }
}

fn edit_requirements_file(
    path: &Path,
    add: &[(String, String)],
    remove: &[String],
) -> Result<(PathBuf, String, String)> {
    // A missing file is a new, empty one; anything else is read as an input.
    let before = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        _ => read(path)?,
    };
    let (removed_text, _) = edit::remove_requirements(&before, remove);
    let after = if add.is_empty() {
        removed_text
    } else {
        edit::add_requirements(&removed_text, add)
    };
    Ok((path.to_path_buf(), before, after))
}

/// Writes every edit, then updates the lock and the environment; on
/// failure every file is as it was (a file the edit created is removed)
/// and the error returned. A file that cannot be written at all (a
/// read-only folder) shows before any is changed.
fn apply_and_update(
    ctx: &Context,
    location: &ProjectLocation,
    edits: Vec<FileEdit>,
    done: &str,
) -> Result<i32> {
    let lock_path = location.lock_path();
    let lock_before = std::fs::read(&lock_path).ok();
    // What puts every file back as it was: its old text, or no file.
    let mut undo: Vec<(PathBuf, Option<Vec<u8>>)> = edits
        .iter()
        .map(|e| {
            let existed = e.path.exists();
            (
                e.path.clone(),
                existed.then(|| e.before.clone().into_bytes()),
            )
        })
        .collect();
    undo.push((lock_path, lock_before));
    let changes: Vec<(PathBuf, Option<Vec<u8>>)> = edits
        .iter()
        .map(|e| (e.path.clone(), Some(e.after.clone().into_bytes())))
        .collect();
    if let Err(err) = atomic_write::replace_project_files(&changes) {
        // Every new text was written beside its file before any rename:
        // a rename that failed halfway is undone too.
        atomic_write::replace_project_files(&undo)?;
        return Err(err);
    }
    match build::prepare(ctx, BuildOptions::default()) {
        Ok(_) => {
            ui::status(done);
            Ok(0)
        }
        Err(err) => {
            atomic_write::replace_project_files(&undo)?;
            let files: Vec<String> = edits.iter().map(|e| relative(location, &e.path)).collect();
            ui::error(&err);
            Err(Error::new(format!(
                "the change did not build, so {} was left as it was",
                files.join(" and ")
            ))
            .with_hint("fix the cause above and run the command again"))
        }
    }
}

/// Refuses attribute paths the pinned nixpkgs cannot give: unknown ones,
/// with close matches ("did you mean `tesseract`?") that do evaluate, and
/// removed ones (a `throw` in nixpkgs' aliases), quoting nixpkgs' note.
/// Names are looked up as the shell template does, step by step.
fn check_attributes_exist(ctx: &Context, list: ListKey, names: &[AttrPath]) -> Result<()> {
    let (flake_dir, plan) = build::generated_flake(ctx)?;
    let nix = Nix::locate(&ctx.substituters)?;
    let set = match list {
        ListKey::Packages => "nixpkgs",
        ListKey::PythonPackages => "python",
    };
    let paths: Vec<Vec<String>> = names.iter().map(|n| n.segments().to_vec()).collect();
    let answers = nix.names(&flake_dir, set, &paths)?;
    let bad: Vec<(&AttrPath, &NameStatus)> = names
        .iter()
        .zip(&answers)
        .filter(|(_, a)| a.status != "ok")
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    let set_name = match list {
        ListKey::Packages => "nixpkgs".to_owned(),
        ListKey::PythonPackages => format!("{}.pkgs", plan.python),
    };
    // Close matches of the unknown names, then only those that evaluate:
    // a suggestion must never be a name nixpkgs removed.
    let candidates: Vec<Vec<Vec<String>>> = bad
        .iter()
        .map(|(name, answer)| suggestions_for(name, answer))
        .collect();
    let flat: Vec<Vec<String>> = candidates.iter().flatten().cloned().collect();
    let usable: Vec<Vec<String>> = if flat.is_empty() {
        Vec::new()
    } else {
        nix.names(&flake_dir, set, &flat)?
            .into_iter()
            .zip(flat)
            .filter(|(answer, _)| answer.status == "ok")
            .map(|(_, path)| path)
            .collect()
    };
    let mut hints = Vec::new();
    for ((name, answer), candidates) in bad.iter().zip(&candidates) {
        let hint = if answer.status == "removed" {
            let at = &name.segments()[..(answer.depth + 1).min(name.segments().len())];
            let expr = removed_name_expr(&flake_dir, &plan, list, at);
            match nix.evaluation_error(&expr)? {
                Some(note) => format!("nixpkgs says: {}", note.trim()),
                None => {
                    "nixpkgs removed it; search.nixos.org/packages has the current names".to_owned()
                }
            }
        } else {
            let good: Vec<String> = candidates
                .iter()
                .filter(|c| usable.contains(c))
                .take(3)
                .map(|c| format!("`{}`", c.join(".")))
                .collect();
            if good.is_empty() {
                "check the name on search.nixos.org/packages".to_owned()
            } else {
                format!("did you mean {}?", good.join(", "))
            }
        };
        hints.push(if bad.len() == 1 {
            hint
        } else {
            format!("`{name}`: {hint}")
        });
    }
    let described: Vec<String> = bad
        .iter()
        .map(|(name, answer)| {
            if answer.status == "removed" {
                format!("`{name}` was removed from")
            } else {
                format!("`{name}` is not in")
            }
        })
        .collect();
    Err(Error::new(format!(
        "{} the pinned {set_name}; nothing was changed",
        described.join(", ")
    ))
    .with_hint(hints.join("\n        ")))
}

/// Close matches of an unknown name among the names beside it (only when
/// its parent exists), qualified with the parent's path, best first.
fn suggestions_for(name: &AttrPath, answer: &NameStatus) -> Vec<Vec<String>> {
    let segments = name.segments();
    if answer.status != "unknown" || answer.depth + 1 != segments.len() {
        return Vec::new();
    }
    let parent = &segments[..segments.len() - 1];
    let siblings: Vec<&str> = answer.siblings.iter().map(String::as_str).collect();
    closest(&segments[segments.len() - 1], &siblings, 8)
        .into_iter()
        .map(|s| {
            let mut path = parent.to_vec();
            path.push(s.to_owned());
            path
        })
        .collect()
}

/// Forcing a removed name raises nixpkgs' note about it.
fn removed_name_expr(flake_dir: &Path, plan: &ShellPlan, list: ListKey, path: &[String]) -> String {
    let json = |v: &[String]| nix::string_literal(&serde_json::to_string(v).expect("json"));
    let set = match list {
        ListKey::Packages => "pkgs".to_owned(),
        ListKey::PythonPackages => format!(
            "(pkgs.lib.getAttrFromPath (builtins.fromJSON {}) pkgs).pkgs",
            json(plan.python.segments())
        ),
    };
    format!(
        "let pkgs = (builtins.getFlake {flake}).legacyPackages.{system}; in \
         builtins.seq (pkgs.lib.getAttrFromPath (builtins.fromJSON {path}) {set}) null",
        flake = nix::string_literal(&format!("path:{}", flake_dir.display())),
        system = nix::string_literal(&plan.system),
        path = json(path),
    )
}

/// Up to `n` candidates close to `name`, best first.
fn closest<'a>(name: &str, candidates: &[&'a str], n: usize) -> Vec<&'a str> {
    let lower = name.to_ascii_lowercase();
    let mut scored: Vec<(f64, &str)> = candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(score, c)| *score >= 0.85 || c.to_ascii_lowercase().starts_with(&lower))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.len().cmp(&b.1.len())));
    scored.into_iter().take(n).map(|(_, c)| c).collect()
}

fn read(path: &Path) -> Result<String> {
    manifest::read_manifest_text(path)
}

fn relative(location: &ProjectLocation, path: &Path) -> String {
    path.strip_prefix(&location.root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn join_or_nothing(items: &[String]) -> String {
    if items.is_empty() {
        "nothing (already there)".to_owned()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_matches_rank_typos_first() {
        let candidates = ["tesseract", "tessera", "ffmpeg", "hello"];
        assert_eq!(closest("tesseract5", &candidates, 3)[0], "tesseract");
        assert_eq!(closest("fmpeg", &candidates, 3), ["ffmpeg"]);
        assert!(closest("zzz", &candidates, 3).is_empty());
    }
}
