//! `nixpy search TERM...`: packages of the project's pinned nixpkgs (or of
//! its interpreter's package set) by name and description, best first,
//! marking what the project already has. The first search of a pinned
//! revision indexes it (with progress); later ones read the index.

use std::collections::BTreeMap;

use crate::build::{self, Context};
use crate::cli::SearchArgs;
use crate::error::Result;
use crate::flake::{self, ShellPlan};
use crate::layout::Cache;
use crate::nix::Nix;
use crate::project::lockfile;
use crate::project::requirements::normalize_name;
use crate::query::{self, SetChoice};
use crate::search::{self, Match};
use crate::support::hash::key_of;
use crate::support::last_used;
use crate::ui;

/// How many matches are shown without --all.
const SHOWN: usize = 20;

pub(super) fn run(ctx: &Context, args: &SearchArgs) -> Result<i32> {
    let location = ctx.locate()?;
    let (flake_dir, plan) = build::generated_flake(ctx)?;
    let choice = if args.python {
        SetChoice::Python
    } else {
        SetChoice::Nixpkgs
    };
    let set_name = match choice {
        SetChoice::Nixpkgs => "nixpkgs".to_owned(),
        SetChoice::Python => format!("{}.pkgs", plan.python),
    };
    let key = key_of(&[
        flake::package_set_key(&flake_dir)?.as_bytes(),
        set_name.as_bytes(),
    ]);
    let cache = Cache::locate()?;
    let path = cache.search_index(&key);
    let index = match search::read_index(&path) {
        Some(index) => {
            last_used::mark_used(&path);
            index
        }
        None => {
            let nix = Nix::locate(&ctx.substituters)?;
            let mut phase = ui::Phase::start(format!(
                "indexing {set_name} of the pinned revision (once per revision)"
            ));
            let entries =
                query::evaluate_index(&nix, &flake_dir, &plan, choice, &mut |done, total| {
                    phase.progress(&format!("{done}/{total} names"));
                })?;
            phase.finish();
            cache.ensure(&cache.search_dir())?;
            search::write_index(
                &path,
                entries
                    .iter()
                    .map(|e| (e.attr.as_str(), e.version.as_str(), e.description.as_str())),
            )?
        }
    };
    let limit = (!args.all).then_some(SHOWN);
    let (matches, total) = search::search(&index, &args.terms, limit);
    let terms = args.terms.join(" ");
    if matches.is_empty() {
        ui::status(&format!(
            "nothing in the pinned {set_name} matches `{terms}`"
        ));
        return Ok(1);
    }
    let has = project_has(&location.lock_path(), &plan, choice);
    print!("{}", listing(&matches, &has));
    if matches.len() < total {
        ui::note(&format!(
            "{} more match `{terms}`: `nixpy search --all{} {terms}` lists them",
            total - matches.len(),
            if args.python { " --python" } else { "" },
        ));
    }
    let add = match choice {
        SetChoice::Nixpkgs => "nixpy add NAME",
        SetChoice::Python => "nixpy add --python NAME",
    };
    ui::note(&format!(
        "from the pinned {set_name}; `{add}` adds one to the project"
    ));
    Ok(0)
}

/// What the project has of the searched set: attribute -> how it has it.
fn project_has(
    lock: &std::path::Path,
    plan: &ShellPlan,
    choice: SetChoice,
) -> BTreeMap<String, String> {
    let mut has = BTreeMap::new();
    match choice {
        SetChoice::Nixpkgs => {
            has.insert(plan.python.to_string(), "the interpreter".to_owned());
            for package in &plan.packages {
                has.insert(package.to_string(), "in packages".to_owned());
            }
        }
        SetChoice::Python => {
            // The pip layer's pins, by the name they would have in the set.
            if let Ok(Some(lock)) = lockfile::read(lock) {
                for pin in lock.pip.iter().flat_map(|p| &p.packages) {
                    has.insert(format!("pip:{}", pin.name), format!("pip {}", pin.version));
                }
            }
            for package in &plan.python_packages {
                has.insert(package.to_string(), "in python-packages".to_owned());
            }
        }
    }
    has
}

/// `attr (version)  [mark]` and the description below it.
fn listing(matches: &[Match<'_>], has: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for m in matches {
        out.push_str(m.attr);
        if !m.version.is_empty() {
            out.push_str(&format!(" ({})", m.version));
        }
        let pip = has.get(&format!("pip:{}", normalize_name(m.attr)));
        if let Some(mark) = has.get(m.attr).or(pip) {
            out.push_str(&format!("  [{mark}]"));
        }
        out.push('\n');
        if !m.description.is_empty() {
            out.push_str(&format!("  {}\n", m.description));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_marks_what_the_project_has() {
        let index = "numpy\t1.26.4\tArrays\nrich\t13.7.1\tText\nsix\t\t\n";
        let terms: Vec<String> = Vec::new();
        let (matches, _) = search::search(index, &terms, None);
        let has = BTreeMap::from([
            ("numpy".to_owned(), "in python-packages".to_owned()),
            ("pip:rich".to_owned(), "pip 13.7.1".to_owned()),
        ]);
        assert_eq!(
            listing(&matches, &has),
            "six\nrich (13.7.1)  [pip 13.7.1]\n  Text\nnumpy (1.26.4)  [in python-packages]\n  Arrays\n"
        );
    }
}
