//! `nixpy run`: prepare the environment, then become the command.

use std::ffi::OsString;

use crate::cli::RunArgs;
use crate::environment::{self, Context};
use crate::error::{Error, Result};
use crate::nix;
use crate::run;

pub fn run(ctx: &Context, args: RunArgs) -> Result<i32> {
    let entry = environment::prepare(ctx, args.build.into())?;
    Err(run::exec_in(&entry.env, &args.command))
}

/// The warm path before any argument parsing: parsing the full command
/// line costs about as much as the rest of a warm start. Only the plain
/// forms `nixpy run CMD...` and `nixpy run -- CMD...` qualify; anything
/// else (flags, a cache that is not fresh) returns `None` and takes the
/// normal path, which parses, explains and rebuilds.
pub fn try_warm_without_parsing(argv: &[OsString]) -> Option<Error> {
    let [_, subcommand, rest @ ..] = argv else {
        return None;
    };
    if subcommand != "run" {
        return None;
    }
    let command = match rest {
        [dashes, command @ ..] if dashes == "--" => command,
        [first, ..] if !first.as_encoded_bytes().starts_with(b"-") => rest,
        _ => return None,
    };
    if command.is_empty() {
        return None;
    }
    let start_dir = std::env::current_dir().ok()?;
    let nixpkgs = std::env::var("NIXPY_NIXPKGS").ok();
    let ctx = Context::new(start_dir, nixpkgs, nix::Substituters::default());
    let entry = environment::warm_only(&ctx)?;
    Some(run::exec_in(&entry.env, command))
}
