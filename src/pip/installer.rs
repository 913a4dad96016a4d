//! Running uv or pip: the environment they run in, and where uv is.

use crate::error::{Error, Result};
use crate::flake::ShellEnv;

/// Environment for installer processes: no prompts, no downloads of other
/// Pythons, nothing from the user's site folder.
pub(super) fn installer_cmd(program: &str, args: Vec<String>) -> duct::Expression {
    duct::cmd(program, args)
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("PYTHONNOUSERSITE", "1")
        .env("PIP_NO_INPUT", "1")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env_remove("PYTHONPATH")
        .env_remove("VIRTUAL_ENV")
        .env_remove("PIP_TARGET")
        .env_remove("PIP_PREFIX")
}

pub(super) fn uv_program(shell: &ShellEnv) -> Result<&str> {
    if shell.uv.is_empty() {
        return Err(Error::new("the Nix shell has no uv")
            .with_hint("run with --refresh to rebuild the shell"));
    }
    Ok(&shell.uv)
}
