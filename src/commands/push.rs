//! `nixpy push --to STORE_URI`: copies the shell environment's closure, the
//! pip layer and the pinned nixpkgs source to a Nix store or binary cache,
//! so other machines fetch them instead of building.

use crate::build::{self, Context};
use crate::cli::PushArgs;
use crate::entry::ProjectCache;
use crate::error::{Error, Result};
use crate::nix::{self, Nix};

pub(super) fn run(ctx: &Context, args: PushArgs) -> Result<i32> {
    let entry = build::prepare(ctx, args.build.into())?;
    let location = ctx.locate()?;
    let pc = ProjectCache::of(&location)?;
    let nix = Nix::locate(&ctx.substituters)?;
    let mut paths = vec![entry.shell_env_path.clone()];
    if let Some(layer) = &entry.layer {
        paths.push(layer.dir.display().to_string());
    }
    // The nixpkgs source lets other machines evaluate the flake offline too.
    if let Ok(source) = std::fs::canonicalize(pc.dir.nixpkgs_source()) {
        paths.push(source.display().to_string());
    }
    if paths.iter().any(|p| !nix::is_store_path(p)) {
        return Err(Error::new(
            "the environment has parts outside the Nix store; nothing was pushed",
        )
        .with_hint("run `nixpy run --refresh -- true` to rebuild it, then push again"));
    }
    let closure = nix.closure_size(&paths);
    nix.copy_to(&args.to, &paths)?;
    println!("pushed to {} ({closure} store paths in all):", args.to);
    println!("  shell environment  {}", entry.shell_env_path);
    if let Some(layer) = &entry.layer {
        println!("  pip layer          {}", layer.dir.display());
    }
    if let Some(source) = paths.get(if entry.layer.is_some() { 2 } else { 1 }) {
        println!("  nixpkgs source     {source}");
    }
    Ok(0)
}
