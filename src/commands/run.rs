//! `nixpy run`: prepare the environment, then become the command.

use crate::cli::RunArgs;
use crate::environment::{self, Context};
use crate::error::Result;
use crate::{exec, runtime_env};

pub fn run(ctx: &Context, args: RunArgs) -> Result<i32> {
    let entry = environment::prepare(ctx, args.build.into())?;
    let env = runtime_env::compose(std::env::vars_os(), &entry.env);
    Err(exec::exec(
        &args.command,
        env,
        &entry.env.shell_hook,
        &entry.env.bash,
    ))
}
