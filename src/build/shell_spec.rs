//! The shell spec: the generated flake of a project, pinned, and its keys
//! (what the Nix shell is built from and cached under).

use std::path::{Path, PathBuf};

use super::context::{BuildOptions, Context};
use super::nix_shell::pin_nixpkgs;
use crate::entry::{fingerprint, ProjectCache};
use crate::error::{Error, Result};
use crate::flake::{self, FlakeFiles, ShellPlan};
use crate::nix::Nix;
use crate::project::lockfile::{self, LockMode, NixpkgsPin};
use crate::project::manifest::{self, Manifest};
use crate::project::{self, Inputs, ProjectLocation};
use crate::support::fingerprint::FileStamp;
use crate::support::hash::key_of;

fn effective_nixpkgs(ctx: &Context, manifest: &Manifest) -> Result<String> {
    match &ctx.nixpkgs_override {
        Some(reference) => {
            let reference = manifest::absolute_flake_ref(reference, &ctx.start_dir);
            manifest::check_flake_ref(&reference).map_err(|why| {
                Error::new(format!("--nixpkgs / NIXPY_NIXPKGS: {why}"))
                    .with_hint("pass a flake reference such as path:/srv/nixpkgs")
            })?;
            Ok(reference)
        }
        None => Ok(manifest.nixpkgs.clone()),
    }
}

/// The generated flake of a project, its pin and its keys.
pub(super) struct ShellSpec {
    pub(super) plan: ShellPlan,
    /// The pin nixpy.lock keeps (the generated flake may fetch the same
    /// nixpkgs from a mirror).
    pub(super) pin: NixpkgsPin,
    pub(super) files: FlakeFiles,
    /// The same on every machine: what nixpy.lock records store paths under.
    pub(super) portable_key: String,
    /// Also keyed on the Nix in use and on the flake's files as they are
    /// (plan.json names nix-files by absolute path): the key of the built
    /// shell and of its flake folder, which holds exactly those files.
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
    let pins = pin_nixpkgs(
        nix,
        pc,
        &plan,
        current_pin,
        mode,
        ctx.nixpkgs_override.is_some(),
    )?;
    let files = flake::files(&plan, &pins.flake);
    // nixpkgs reads NIXPKGS_ALLOW_* itself: what it refuses depends on them.
    let allow: Vec<String> = fingerprint::NIXPKGS_ALLOW_VARIABLES
        .iter()
        .map(|name| {
            let value = fingerprint.scalars.get(*name).map_or("", String::as_str);
            format!("{name}={value}")
        })
        .collect();
    let (portable_key, shell_key) = shell_keys(
        &files,
        nix_sources,
        &fingerprint.files,
        &location.root,
        &allow,
        &fingerprint.scalars[crate::entry::fingerprint::NIX],
    );
    Ok(ShellSpec {
        plan,
        pin: pins.lock,
        files,
        portable_key,
        shell_key,
    })
}

/// The shell's keys: the portable key (the same in every checkout of the
/// project, on every machine) and the shell key (also keyed on the Nix in
/// use, `nix_identity`, and on the files as written, so two checkouts
/// never share a flake folder whose plan.json names only one of them).
fn shell_keys(
    files: &FlakeFiles,
    nix_sources: &[PathBuf],
    stamps: &[FileStamp],
    root: &Path,
    allow: &[String],
    nix_identity: &str,
) -> (String, String) {
    // The contents of nix-files (and what they import) are part of the
    // shell: the generated flake names only their paths.
    let nix_source_hashes: Vec<String> = nix_sources
        .iter()
        .map(|p| {
            let hash = stamps
                .iter()
                .find(|f| &f.path == p)
                .and_then(|f| f.hash.clone());
            format!(
                "{}:{}",
                p.strip_prefix(root).unwrap_or(p).display(),
                hash.unwrap_or_default()
            )
        })
        .collect();
    // plan.json names nix-files by absolute path: the project folder is
    // left out, so another checkout of the project finds recorded paths.
    let portable_texts: Vec<String> = files
        .iter()
        .map(|(_, text)| lockfile::portable(text, root))
        .collect();
    let portable_key = key_of(
        &portable_texts
            .iter()
            .chain(&nix_source_hashes)
            .chain(allow)
            .map(std::string::String::as_bytes)
            .collect::<Vec<_>>(),
    );
    let texts: Vec<&[u8]> = files.iter().map(|(_, text)| text.as_bytes()).collect();
    let shell_key = key_of(&[
        portable_key.as_bytes(),
        nix_identity.as_bytes(),
        key_of(&texts).as_bytes(),
    ]);
    (portable_key, shell_key)
}

/// The project's generated flake, pinned, written but not built (the same
/// folder a build uses): for questions about the pinned nixpkgs, such as
/// whether an attribute exists.
pub(crate) fn generated_flake(ctx: &Context) -> Result<(PathBuf, ShellPlan)> {
    generated_flake_pinned(ctx, None)
}

/// [`generated_flake`], pinned to `pin` instead of the lock's pin (the
/// state before `nixpy lock --upgrade`, for its summary).
pub(crate) fn generated_flake_pinned(
    ctx: &Context,
    pin: Option<&NixpkgsPin>,
) -> Result<(PathBuf, ShellPlan)> {
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
        pin.or(lock.as_ref().and_then(|l| l.nixpkgs.as_ref())),
        BuildOptions::default().lock_mode(ctx),
    )?;
    Ok((
        flake::write_dir(&pc.cache, &spec.shell_key, &spec.files)?,
        spec.plan,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys of a project in `root` with one nix-file, `tools.nix`,
    /// whose contents hash to `hash`.
    fn keys(root: &str, hash: &str, nix: &str) -> (String, String) {
        let file = Path::new(root).join("tools.nix");
        let files: FlakeFiles = vec![(
            "plan.json",
            format!("{{\"nixFiles\": [\"{}\"]}}\n", file.display()),
        )];
        let stamps = vec![FileStamp {
            path: file.clone(),
            stat: None,
            hash: Some(hash.to_owned()),
        }];
        shell_keys(&files, &[file], &stamps, Path::new(root), &[], nix)
    }

    /// Issue 13, item 6: two checkouts share the portable key (what the
    /// lock records) but not the shell key, which names the flake folder:
    /// its plan.json holds the checkout's own paths.
    #[test]
    fn another_checkout_has_the_same_portable_key_and_its_own_flake() {
        let (portable_a, shell_a) = keys("/home/a/proj", "h1", "nix-2.18");
        let (portable_b, shell_b) = keys("/srv/ci/proj", "h1", "nix-2.18");
        assert_eq!(portable_a, portable_b);
        assert_ne!(shell_a, shell_b);
    }

    #[test]
    fn the_nix_in_use_changes_only_the_shell_key() {
        let (portable, shell) = keys("/p", "h1", "nix-2.18");
        let (portable_other, shell_other) = keys("/p", "h1", "nix-2.24");
        assert_eq!(portable, portable_other);
        assert_ne!(shell, shell_other);
    }

    #[test]
    fn the_contents_of_nix_files_change_both_keys() {
        let (portable, shell) = keys("/p", "h1", "nix-2.18");
        let (portable_edited, shell_edited) = keys("/p", "h2", "nix-2.18");
        assert_ne!(portable, portable_edited);
        assert_ne!(shell, shell_edited);
    }
}
