//! The project's environment: the warm path's entry when it is fresh, else
//! built under the project's lock (once, however many runs wait for it).

use super::context::{BuildOptions, Context};
use super::steps::build;
use crate::entry::{fingerprint, warm, CacheEntry, ProjectCache};
use crate::error::Result;
use crate::ui;

/// The project's environment, from the cache or freshly built.
pub(crate) fn prepare(ctx: &Context, opts: BuildOptions) -> Result<CacheEntry> {
    let location = ctx.locate()?;
    let pc = ProjectCache::of(&location)?.with_groups(&opts.groups);
    let scalars = fingerprint::scalars(ctx.nixpkgs_override.as_deref());
    let may_use_cache = opts.may_use_cache();
    if may_use_cache {
        if let Some(entry) = warm::warm(&pc, &scalars, opts.frozen, true) {
            return Ok(entry);
        }
    }
    let _lock = pc.lock(&location.root)?;
    if may_use_cache {
        // Another run may have built it while we waited.
        if let Some(entry) = warm::warm(&pc, &scalars, opts.frozen, false) {
            return Ok(entry);
        }
    }
    build(ctx, &opts, &location, &pc, scalars)
}

/// For shell entry (direnv, `nixpy env`): when a rebuild fails, keep the
/// last good environment with a warning instead of leaving the user with
/// none. Never under CI, where a stale environment must not pass as fresh.
pub(crate) fn prepare_or_last_good(
    ctx: &Context,
    opts: BuildOptions,
) -> Result<(CacheEntry, bool)> {
    match prepare(ctx, opts) {
        Ok(entry) => Ok((entry, false)),
        Err(err) if !ctx.ci => {
            let last = ctx
                .locate()
                .and_then(|location| ProjectCache::of(&location))
                .ok()
                .and_then(|pc| pc.read_entry())
                .filter(|entry| entry.missing_path().is_none());
            match last {
                Some(entry) => {
                    ui::error(&err);
                    ui::warn("the environment could not be rebuilt; using the last good one (NIXPY_DID_FALLBACK=1)");
                    Ok((entry, true))
                }
                None => Err(err),
            }
        }
        Err(err) => Err(err),
    }
}
