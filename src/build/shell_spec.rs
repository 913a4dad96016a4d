//! The shell spec: the generated flake of a project, pinned, and its keys
//! (what the Nix shell is built from and cached under).

use std::path::PathBuf;

use super::context::{BuildOptions, Context};
use super::nix_shell::pin_nixpkgs;
use crate::entry::{fingerprint, ProjectCache};
use crate::error::{Error, Result};
use crate::flake::{self, FlakeFiles, ShellPlan};
use crate::nix::Nix;
use crate::project::lockfile::{self, LockMode, NixpkgsPin};
use crate::project::manifest::{self, Manifest};
use crate::project::{self, Inputs, ProjectLocation};
use crate::support::hash::key_of;

fn effective_nixpkgs(ctx: &Context, manifest: &Manifest) -> Result<String> {
    match &ctx.nixpkgs_override {
        Some(reference) => {
            manifest::check_flake_ref(reference).map_err(|why| {
                Error::new(format!("--nixpkgs / NIXPY_NIXPKGS: {why}"))
                    .with_hint("pass a flake reference such as path:/srv/nixpkgs")
            })?;
            Ok(reference.clone())
        }
        None => Ok(manifest.nixpkgs.clone()),
    }
}

/// The generated flake of a project, its pin and its keys.
pub(super) struct ShellSpec {
    pub(super) plan: ShellPlan,
    pub(super) pin: NixpkgsPin,
    pub(super) files: FlakeFiles,
    /// The same on every machine: what nixpy.lock records store paths under.
    pub(super) portable_key: String,
    /// Also keyed on the Nix in use: the key of the built shell and its flake folder.
    pub(super) shell_key: String,
}

pub(super) fn shell_spec(
    ctx: &Context,
    location: &ProjectLocation,
    pc: &ProjectCache,
    nix: &Nix,
    inputs: &Inputs,
    current_pin: Option<&NixpkgsPin>,
    mode: LockMode,
) -> Result<ShellSpec> {
    let Inputs {
        manifest,
        requirements,
        fingerprint,
        nix_sources,
    } = inputs;
    let nixpkgs = effective_nixpkgs(ctx, manifest)?;
    let plan = ShellPlan::new(manifest, &nixpkgs, !requirements.is_empty());
    let pin = pin_nixpkgs(nix, pc, &plan, current_pin, mode)?;
    let files = flake::files(&plan, &pin);
    // The contents of nix-files (and what they import) are part of the
    // shell: the generated flake names only their paths.
    let nix_source_hashes: Vec<String> = nix_sources
        .iter()
        .map(|p| {
            let hash = fingerprint
                .files
                .iter()
                .find(|f| &f.path == p)
                .and_then(|f| f.hash.clone());
            format!(
                "{}:{}",
                p.strip_prefix(&location.root).unwrap_or(p).display(),
                hash.unwrap_or_default()
            )
        })
        .collect();
    // plan.json names nix-files by absolute path: the project folder is
    // left out, so another checkout of the project finds recorded paths.
    let portable_texts: Vec<String> = files
        .iter()
        .map(|(_, text)| lockfile::portable(text, &location.root))
        .collect();
    let portable_key = key_of(
        &portable_texts
            .iter()
            .chain(&nix_source_hashes)
            .map(|t| t.as_bytes())
            .collect::<Vec<_>>(),
    );
    let shell_key = key_of(&[
        portable_key.as_bytes(),
        fingerprint.scalars["nix"].as_bytes(),
    ]);
    Ok(ShellSpec {
        plan,
        pin,
        files,
        portable_key,
        shell_key,
    })
}

/// The project's generated flake, pinned, written but not built (the same
/// folder a build uses): for questions about the pinned nixpkgs, such as
/// whether an attribute exists.
pub fn generated_flake(ctx: &Context) -> Result<(PathBuf, ShellPlan)> {
    let location = ctx.locate()?;
    let pc = ProjectCache::of(&location)?;
    let inputs = project::read_inputs(
        &location,
        fingerprint::scalars(ctx.nixpkgs_override.as_deref()),
    )?;
    let lock = lockfile::read(&location.lock_path())?;
    let nix = Nix::locate(&ctx.substituters)?;
    let spec = shell_spec(
        ctx,
        &location,
        &pc,
        &nix,
        &inputs,
        lock.as_ref().and_then(|l| l.nixpkgs.as_ref()),
        BuildOptions::default().lock_mode(ctx),
    )?;
    Ok((
        flake::write_dir(&pc.cache, &spec.shell_key, &spec.files)?,
        spec.plan,
    ))
}
