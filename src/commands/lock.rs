//! `nixpy lock`: bring nixpy.lock up to date with the inputs (building what
//! resolution needs: the Nix Python decides what pip must not install).

use crate::build::{self, BuildOptions, Context};
use crate::cli::LockArgs;
use crate::error::Result;
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
    build::prepare(ctx, opts)?;
    ui::status(&format!("{} is up to date", location.lock_path().display()));
    Ok(0)
}
