//! `nixpy rollback [N]`: go back to a generation, its files and its
//! environment at once; the next run is warm.

use crate::build::Context;
use crate::cli::RollbackArgs;
use crate::entry::{fingerprint, warm, ProjectCache};
use crate::error::Result;
use crate::history;
use crate::support::date::utc_minute;
use crate::ui;

pub(super) fn run(ctx: &Context, args: &RollbackArgs) -> Result<i32> {
    let location = ctx.locate()?;
    let pc = ProjectCache::of(&location)?;
    let done = history::rollback(&pc, &location, args.generation, args.force)?;
    let generation = &done.generation;
    let mut files: Vec<String> = done
        .restored
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    files.extend(
        done.removed
            .iter()
            .map(|p| format!("{} (removed)", p.display())),
    );
    let files = if files.is_empty() {
        "no file needed changing".to_owned()
    } else {
        files.join(", ")
    };
    ui::status(&format!(
        "restored generation {} ({}, {}: {}): {files}",
        generation.number,
        utc_minute(generation.created),
        generation.command,
        generation.change
    ));
    if done.entry_restored {
        // Stamped now, so the next run only compares stats.
        let _ = warm::warm(
            &pc,
            &fingerprint::scalars(ctx.nixpkgs_override.as_deref()),
            false,
            false,
        );
        ui::status("its environment is in place: the next run needs no build");
    } else {
        ui::status("the next run builds its environment again (it was made by another nixpy version, or its store paths are gone)");
    }
    Ok(0)
}
