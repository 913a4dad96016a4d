//! The shell hook: bash (the shell's shellHook, then the manifest's) run
//! before the command, inside a function so that `local` and `return` in it
//! behave. One runner, written out for the three places that run a hook:
//! `nixpy run` (before exec), `nixpy shell`'s bashrc, and `nixpy env --hook`.

use crate::support::shell_quote;

/// Carries the hook to bash, so it never becomes part of a command line.
pub(crate) const HOOK_VAR: &str = "__NIXPY_SHELL_HOOK";

/// The largest hook that can be handed to bash: Linux passes at most 128
/// KiB in one environment string (MAX_ARG_STRLEN), `NAME=` and the NUL
/// included.
pub(crate) const MAX_HOOK_BYTES: usize = 128 * 1024 - HOOK_VAR.len() - 2;

/// bash that runs the hook `source` (a bash word that expands to it) in a
/// function; `redirect` applies to the hook's output.
fn runner(source: &str, redirect: &str) -> String {
    format!("__nixpy_hook() {{ eval {source}; }}; __nixpy_hook{redirect}; unset -f __nixpy_hook")
}

/// `bash -c` text for `nixpy run`: the hook from [`HOOK_VAR`], with its
/// output on stderr (stdout belongs to the command: `nixpy run tool >
/// out.json` must not catch a hook's banner), then `exec "$@"`, looked up
/// after the hook (which may put it on PATH), with nixpy's own message
/// and status 127 when it is not found.
pub(super) fn before_exec(not_found_hint: &str) -> String {
    let hint = shell_quote::sh_single(not_found_hint.as_bytes());
    format!(
        "{}; unset {HOOK_VAR}; \
         case \"$1\" in */*) ;; *) if ! command -v -- \"$1\" >/dev/null; then \
         printf 'error: command not found: `%s` is not on the shell'\\''s PATH\\n  hint: %s\\n' \"$1\" {} >&2; exit 127; fi;; esac; \
         exec \"$@\"",
        runner(&format!("\"${HOOK_VAR}\""), " >&2"),
        String::from_utf8(hint).expect("quoting keeps UTF-8"),
    )
}

/// A line of bash for a startup file: the hook from [`HOOK_VAR`], when set.
pub(crate) fn from_var() -> String {
    format!(
        "if [ -n \"${{{HOOK_VAR}+set}}\" ]; then {}; unset {HOOK_VAR}; fi",
        runner(&format!("\"${HOOK_VAR}\""), "")
    )
}

/// The hook itself as bash to eval (for `nixpy env --hook`), with a newline.
pub(crate) fn inline(hook: &str) -> Vec<u8> {
    let quoted =
        String::from_utf8(shell_quote::sh_single(hook.as_bytes())).expect("quoting keeps UTF-8");
    let mut code = runner(&quoted, "").into_bytes();
    code.push(b'\n');
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOOK: &str = "local x=1; echo \"it's $x\"";

    /// bash's stdout and stderr for `script`, with the hook in HOOK_VAR;
    /// None without bash.
    fn bash(script: &str, args: &[&str]) -> Option<(String, String)> {
        let out = std::process::Command::new("bash")
            .args(["--noprofile", "--norc", "-c", script, "bash"])
            .args(args)
            .env(HOOK_VAR, HOOK)
            .output()
            .ok()?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some((
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    #[test]
    fn each_form_runs_the_hook_in_a_function() {
        let inline = String::from_utf8(inline(HOOK)).unwrap();
        if let Some((out, _)) = bash(&inline, &[]) {
            assert_eq!(out, "it's 1\n");
        }
        if let Some((out, _)) = bash(&format!("{}; echo \"[${HOOK_VAR}]\"", from_var()), &[]) {
            assert_eq!(out, "it's 1\n[]\n", "the variable is unset after");
        }
        let show_var = format!("echo \"[${{{HOOK_VAR}-unset}}]\"");
        if let Some((out, err)) = bash(&before_exec("hint"), &["sh", "-c", &show_var]) {
            assert_eq!(err, "it's 1\n", "the hook's output goes to stderr");
            assert_eq!(out, "[unset]\n", "the command does not see the variable");
        }
    }
}
