//! `nixpy lock`: bring nixpy.lock up to date with the inputs (building what
//! resolution needs: the Nix Python decides what pip must not install),
//! move what `--upgrade*` names, and say what changed: the nixpkgs
//! revision with its dates, the Nix packages whose version moved, each pip
//! pin. An unchanged lock is "up to date", and nothing is written.

use std::path::Path;

use crate::build::{self, BuildOptions, Context};
use crate::cli::LockArgs;
use crate::entry::CacheEntry;
use crate::error::{Error, Result};
use crate::nix::Nix;
use crate::project::lock_diff::{versions_between, LockDiff, VersionChange};
use crate::project::lockfile::{self, LockFile, NixpkgsPin, PipUpgrade, StorePaths, Upgrade};
use crate::project::requirements::normalize_name;
use crate::query;
use crate::ui;

pub(super) fn run(ctx: &Context, args: LockArgs) -> Result<i32> {
    let location = ctx.locate()?;
    let lock_path = location.lock_path();
    let before = lockfile::read(&lock_path)?;
    let before_text = std::fs::read(&lock_path).ok();
    let opts = BuildOptions {
        upgrade: upgrade_of(&args, before.as_ref())?,
        check: args.check,
        offline: args.offline,
        record_paths: args.record_paths,
        lock_command: true,
        ..BuildOptions::default()
    };
    let upgrades_nixpkgs = opts.upgrade.nixpkgs;
    let entry = build::prepare(ctx, opts.clone())?;
    // The environment may come from the cache, built when the lock was not
    // to be written (--locked, CI): its recorded store paths may be behind.
    // (`--check` builds afresh and compares the whole lock.)
    let stale = lockfile::read(&lock_path)?
        .as_ref()
        .and_then(|l| l.store.as_ref())
        .and_then(|store| stale_record(store, &entry));
    if let Some(why) = stale.filter(|_| !args.check) {
        ui::note(&format!("nixpy.lock {why}; recording them again"));
        build::prepare(
            ctx,
            BuildOptions {
                record_paths: true,
                ..opts
            },
        )?;
    }
    let after_text = std::fs::read(&lock_path).ok();
    if before_text == after_text {
        ui::status(&format!("{} is up to date", lock_path.display()));
        return Ok(0);
    }
    let after = lockfile::read(&lock_path)?.ok_or_else(|| {
        Error::new(format!(
            "{} was removed while nixpy wrote it",
            lock_path.display()
        ))
    })?;
    let mut diff = LockDiff::between(before.as_ref(), &after);
    if upgrades_nixpkgs {
        diff.nix = nix_version_changes(ctx, before.as_ref(), &after);
    }
    report(&lock_path, before.is_none(), &diff);
    Ok(0)
}

/// What the flags move. `--upgrade-package` names must be pip packages of
/// the lock (a typo would otherwise move nothing, silently).
fn upgrade_of(args: &LockArgs, lock: Option<&LockFile>) -> Result<Upgrade> {
    let pip = if args.upgrade || args.upgrade_pip {
        PipUpgrade::All
    } else if args.upgrade_package.is_empty() {
        PipUpgrade::Keep
    } else {
        let pinned: Vec<&str> = lock
            .and_then(|l| l.pip.as_ref())
            .map(|pip| pip.packages.iter().map(|p| p.name.as_str()).collect())
            .unwrap_or_default();
        let names: Vec<String> = args
            .upgrade_package
            .iter()
            .map(|n| normalize_name(n))
            .collect();
        if let Some(unknown) = names.iter().find(|n| !pinned.contains(&n.as_str())) {
            let hint = if pinned.is_empty() {
                "nixpy.lock pins no pip packages yet: run `nixpy lock` first".to_owned()
            } else {
                format!("pinned: {}", pinned.join(", "))
            };
            return Err(Error::new(format!(
                "--upgrade-package {unknown}: nixpy.lock pins no pip package of that name"
            ))
            .with_hint(hint));
        }
        PipUpgrade::Only(names)
    };
    Ok(Upgrade {
        nixpkgs: args.upgrade || args.upgrade_nixpkgs,
        pip,
    })
}

/// The Nix packages whose version moved with the pin. Best effort: a
/// failure to evaluate either side is a note, never a failed upgrade.
fn nix_version_changes(
    ctx: &Context,
    before: Option<&LockFile>,
    after: &LockFile,
) -> Vec<VersionChange> {
    let (Some(old_pin), Some(new_pin)) = (
        before.and_then(|l| l.nixpkgs.as_ref()),
        after.nixpkgs.as_ref(),
    ) else {
        return Vec::new();
    };
    // Another reference is another nixpkgs: there is no "before" to compare.
    if old_pin == new_pin || old_pin.url != new_pin.url {
        return Vec::new();
    }
    let versions = |pin: &NixpkgsPin| -> Result<_> {
        let (dir, plan) = build::generated_flake_pinned(ctx, Some(pin))?;
        let nix = Nix::locate(&ctx.substituters)?;
        query::nix_versions(&nix, &dir, &plan)
    };
    let phase = ui::Phase::start("reading the versions of the Nix packages under both revisions");
    match versions(old_pin).and_then(|old| Ok((old, versions(new_pin)?))) {
        Ok((old, new)) => {
            phase.finish();
            // Only versions that moved: a package evaluated on one side
            // only (an evaluation that failed) says nothing.
            versions_between(&old, &new)
                .into_iter()
                .filter(|c| c.old.is_some() && c.new.is_some())
                .collect()
        }
        Err(err) => {
            drop(phase);
            ui::note(&format!(
                "the versions of the Nix packages could not be compared: {}",
                err.message.lines().next().unwrap_or_default()
            ));
            Vec::new()
        }
    }
}

fn report(lock_path: &Path, created: bool, diff: &LockDiff) {
    if diff.is_empty() {
        ui::status(&format!(
            "rewrote {} as nixpy writes it (nothing it pins changed)",
            lock_path.display()
        ));
        return;
    }
    let verb = if created { "wrote" } else { "updated" };
    ui::status(&format!("{verb} {}:", lock_path.display()));
    ui::block(&diff.render());
}

/// Why the `[store]` record does not describe this environment, compared
/// by keys (exact whatever machine or Nix version asks).
fn stale_record(store: &StorePaths, entry: &CacheEntry) -> Option<String> {
    if store.shell.is_none() {
        return Some(
            "records the shell in lock format 1 (Nix's own environment file, which differs between Nix versions)"
                .into(),
        );
    }
    if !store.records_shell_of(&entry.portable_key) {
        return Some("records the store paths of the shell for other inputs".into());
    }
    let layer_key = entry.layer.as_ref().map(|l| l.key.as_str());
    if store.layer_key.as_deref() != layer_key {
        return Some("records the store path of the pip layer for other requirements".into());
    }
    None
}
