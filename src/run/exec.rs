//! Replacing nixpy with the user's command: execvp, no wrapper process, so
//! exit status and signals are the command's own. A shell hook, when there
//! is one, runs in bash right before the command, as `nix develop --command`
//! does.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::Command;

use super::env::{compose, EnvSpec};
use super::hook;
use super::programs::{Lookup, ProgramIndex};
use crate::error::Error;

pub(super) const EXIT_NOT_FOUND: i32 = 127;
pub(super) const EXIT_NOT_EXECUTABLE: i32 = 126;

/// Becomes `argv` in the environment `spec` makes of nixpy's own. Never
/// returns on success; the error says why the command did not start.
pub(crate) fn exec_in(spec: &EnvSpec, argv: &[OsString]) -> Error {
    let env = compose(std::env::vars_os(), spec);
    exec(argv, env, &spec.shell_hook, &spec.bash, &spec.programs)
}

/// Becomes `argv` with exactly `env`, after running `hook` (when there is
/// one) in `bash`. Never returns on success; the error says why the command
/// did not start.
pub(crate) fn exec(
    argv: &[OsString],
    mut env: Vec<(OsString, OsString)>,
    hook: &str,
    bash: &str,
    programs: &ProgramIndex,
) -> Error {
    let Some(program) = argv.first() else {
        return Error::new("no command given").with_hint("nixpy run -- COMMAND [ARGS...]");
    };
    if !hook.is_empty() && !bash.is_empty() {
        // The hook may change PATH (or define the command): bash looks the
        // command up after it ran, and says so when it is not found.
        env.push((hook::HOOK_VAR.into(), hook.into()));
        let mut command = Command::new(bash);
        command
            .args([
                "--noprofile",
                "--norc",
                "-c",
                &hook::before_exec(NOT_FOUND_HINT),
                "nixpy",
            ])
            .args(argv)
            .env_clear()
            .envs(env);
        let err = command.exec();
        if is_too_big(&err) {
            return too_big(program);
        }
        return Error::new(format!("cannot run the shell hook with {bash}: {err}"));
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    // Searched once, here (execvp would search again), and through the
    // index of the environment's store folders where PATH still has them.
    let cwd = std::env::current_dir().unwrap_or_default();
    let resolved = if has_slash(program) {
        std::path::PathBuf::from(program)
    } else {
        let found = match program
            .to_str()
            .and_then(|name| programs.lookup(name, path.as_bytes()))
        {
            Some(Lookup::Found(found)) => Ok(found),
            Some(Lookup::Search(rest)) => {
                which::which_in(program, Some(OsStr::from_bytes(rest)), cwd)
            }
            None => which::which_in(program, Some(&path), cwd),
        };
        match found {
            Ok(found) => found,
            Err(_) => return not_found(program),
        }
    };
    let mut command = Command::new(&resolved);
    // argv[0] stays as the user wrote it.
    command.arg0(program).args(&argv[1..]);
    command.env_clear().envs(env);
    let err = command.exec();
    if is_too_big(&err) {
        return too_big(program);
    }
    match err.kind() {
        std::io::ErrorKind::NotFound => not_found(program),
        std::io::ErrorKind::PermissionDenied => Error::new(format!(
            "`{}` is not executable: {err}",
            program.to_string_lossy()
        ))
        .with_exit_code(EXIT_NOT_EXECUTABLE),
        _ => Error::new(format!("cannot run `{}`: {err}", program.to_string_lossy())),
    }
}

/// E2BIG: the arguments and environment exceed what Linux passes to a
/// program (128 KiB for one string, about a quarter of the stack for all).
fn is_too_big(err: &std::io::Error) -> bool {
    err.raw_os_error() == Some(libc::E2BIG)
}

fn too_big(program: &OsStr) -> Error {
    Error::new(format!(
        "cannot start `{}`: its arguments and environment are larger than the system allows (Argument list too long)",
        program.to_string_lossy()
    ))
    .with_hint("look for a very large variable (in your environment, [env] or the shell hook, at most 128 KiB each) or a very long command line")
}

fn has_slash(program: &OsStr) -> bool {
    program.as_encoded_bytes().contains(&b'/')
}

fn not_found(program: &OsStr) -> Error {
    Error::new(format!(
        "command not found: `{}` is not on the shell's PATH",
        program.to_string_lossy()
    ))
    .with_hint(NOT_FOUND_HINT)
    .with_exit_code(EXIT_NOT_FOUND)
}

const NOT_FOUND_HINT: &str =
    "add the package that provides it to `packages` in the manifest, or check the spelling";
