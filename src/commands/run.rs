//! `nixpy run`: prepare the environment, then become the command.

use crate::build::{self, Context};
use crate::cli::RunArgs;
use crate::error::Result;
use crate::run;

pub(super) fn run(ctx: &Context, args: RunArgs) -> Result<i32> {
    let entry = build::prepare(ctx, args.build.into())?;
    Err(run::exec_in(&entry.env, &args.command))
}
