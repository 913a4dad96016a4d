//! `nixpy push --to STORE_URI`: copies the shell environment's closure, the
//! pip layer with each of its distributions, and the pinned nixpkgs source
//! to a Nix store or binary cache, so other machines fetch them instead of
//! building.

use crate::build::{self, Context};
use crate::cli::PushArgs;
use crate::entry::ProjectCache;
use crate::error::{Error, Result};
use crate::nix::{self, Nix};
use crate::project::lockfile::{self, StorePaths};
use crate::ui;

pub(super) fn run(ctx: &Context, args: PushArgs) -> Result<i32> {
    let entry = build::prepare(ctx, args.build.into())?;
    let location = ctx.locate()?;
    let pc = ProjectCache::of(&location)?;
    let nix = Nix::locate(&ctx.substituters)?;
    // The layer's composition links its distributions without Nix
    // references, so each is named: `nix copy` then copies it once per
    // cache, however many layers share it.
    let mut paths = entry.needed_store_paths();
    // The nixpkgs source lets other machines evaluate the flake offline too.
    let source = std::fs::canonicalize(pc.dir.nixpkgs_source())
        .ok()
        .map(|s| s.display().to_string());
    paths.extend(source.clone());
    if paths.iter().any(|p| !nix::is_store_path(p)) {
        return Err(Error::new(
            "the environment has parts outside the Nix store; nothing was pushed",
        )
        .with_hint("run `nixpy run --refresh -- true` to rebuild it, then push again"));
    }
    let recorded = lockfile::read(&location.lock_path())?.and_then(|l| l.store);
    compare_with_record(&nix, recorded.as_ref(), &entry.shell_file);
    let closure = nix.closure_size(&paths);
    nix.copy_to(&args.to, &paths)?;
    println!("pushed to {} ({closure} store paths in all):", args.to);
    println!("  shell environment  {}", entry.shell_file);
    if let Some(layer) = &entry.layer {
        println!("  pip layer          {}", layer.dir.display());
        for dist in &layer.dists {
            println!("    distribution     {dist}");
        }
    }
    if let Some(source) = source {
        println!("  nixpkgs source     {source}");
    }
    Ok(0)
}

/// Other machines fetch what nixpy.lock records: say so when this machine
/// pushes something else, and when its Nix differs from the recording one.
fn compare_with_record(nix: &Nix, recorded: Option<&StorePaths>, shell_file: &str) {
    let Some(recorded) = recorded else {
        return;
    };
    match recorded.shell.as_deref() {
        Some(file) if file != shell_file => ui::warn(&format!(
            "nixpy.lock records the shell {file}, but this machine's is {shell_file}: machines using the lock look for the recorded one; \
             record this one with `nixpy lock --record-paths` (and commit), or push from a machine that has the recorded one"
        )),
        Some(_) => {
            let here = nix.version();
            if let (Some(theirs), Some(here)) = (recorded.nix_version.as_deref(), here) {
                if theirs != here {
                    ui::note(&format!(
                        "nixpy.lock's shell was recorded with Nix {theirs} and this machine has Nix {here}: \
                         the same shell file (it does not depend on the Nix version)"
                    ));
                }
            }
        }
        None => ui::note(
            "nixpy.lock records the shell in lock format 1; `nixpy lock --record-paths` records the shell file other machines can fetch",
        ),
    }
}
