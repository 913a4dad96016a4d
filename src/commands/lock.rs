//! `nixpy lock`: bring nixpy.lock up to date with the inputs (building what
//! resolution needs: the Nix Python decides what pip must not install).

use crate::build::{self, BuildOptions, Context};
use crate::cli::LockArgs;
use crate::entry::CacheEntry;
use crate::error::{Error, Result};
use crate::project::lockfile::{self, StorePaths};
use crate::ui;

pub(super) fn run(ctx: &Context, args: LockArgs) -> Result<i32> {
    let opts = BuildOptions {
        upgrade: args.upgrade,
        locked: args.check,
        offline: args.offline,
        record_paths: args.record_paths,
        ..BuildOptions::default()
    };
    let location = ctx.locate()?;
    let entry = build::prepare(ctx, opts)?;
    // The environment may come from the cache, built when the lock was not
    // to be written (--locked, CI): its recorded store paths may be behind.
    let lock = lockfile::read(&location.lock_path())?;
    let stale = lock
        .as_ref()
        .and_then(|l| l.store.as_ref())
        .and_then(|store| stale_record(store, &entry));
    if let Some(why) = stale {
        if args.check {
            return Err(Error::new(format!("nixpy.lock {why}"))
                .with_hint("run `nixpy lock` on a development machine and commit nixpy.lock"));
        }
        build::prepare(
            ctx,
            BuildOptions {
                record_paths: true,
                ..opts
            },
        )?;
    }
    ui::status(&format!("{} is up to date", location.lock_path().display()));
    Ok(0)
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
