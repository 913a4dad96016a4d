//! `nixpy shell`: the user's shell (bash, zsh or fish; else the
//! environment's bash) inside the environment, with NIXPY_SHELL=1, the shell
//! hook run once and `(nixpy) ` before the prompt. nixpy execs the shell, so
//! its exit status is the shell's.
//!
//! The startup files that make this work hold no project data (the hook
//! travels in an environment variable, as for `nixpy run`), so they are
//! fixed texts kept in the cache folder (`shell/`) and rewritten only when
//! nixpy changes them: nothing per run to clean up or leak, and no file that
//! deletes itself under a shell that might not have read it yet.
//!
//! * bash: `--rcfile` when interactive (sources ~/.bashrc, then the hook,
//!   then the prompt), and `BASH_ENV` for commands on stdin (the user's own
//!   BASH_ENV, then the hook); the file restores BASH_ENV first, so the
//!   shell's children never see nixpy's.
//! * zsh: `ZDOTDIR` points at nixpy's folder, whose .zshenv restores the
//!   user's ZDOTDIR and runs their .zshenv, and whose .zshrc runs their
//!   .zshrc and sets the prompt.
//! * fish: `--init-command` sets the prompt after the user's config.
//!
//! After the user's startup files, folders they put before the
//! environment's on PATH (a pyenv or conda line) are moved after it, with a
//! note, so `python` is still the project interpreter.
//!
//! The hook is bash code. In bash it runs inside the shell, so the functions
//! it defines are there; for zsh and fish it runs in bash just before the
//! shell starts (`nix develop` users know this from `nix develop -c zsh`),
//! so what it exports reaches the shell and nothing is misread as zsh or fish.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::Path;

use crate::build::{self, Context};
use crate::cli::ShellArgs;
use crate::error::Result;
use crate::layout::Cache;
use crate::run::{self, hook, HOOK_VAR};
use crate::support::atomic_write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Bash,
    Zsh,
    Fish,
}

/// Variables that carry state from nixpy to the startup files; the files
/// remove them. Any found in the caller's environment are stale.
const SAVED_BASH_ENV: &str = "__NIXPY_BASH_ENV";
const SAVED_ZDOTDIR: &str = "__NIXPY_ZDOTDIR";
/// PATH as the shell starts, before the user's startup files run.
const PATH_BEFORE: &str = "__NIXPY_PATH_BEFORE";

/// sh code (bash and zsh) run after the user's startup files: folders they
/// put before the environment's on PATH (pyenv's shims, conda's bin) go
/// after it, so `python` stays the project interpreter; said on stderr.
const KEEP_PATH_FIRST: &str = r#"if [ -n "${__NIXPY_PATH_BEFORE+set}" ]; then
  case ":$PATH:" in
    ":$__NIXPY_PATH_BEFORE:"*) ;;
    *)
      __nixpy_path=$__NIXPY_PATH_BEFORE
      __nixpy_rest=$PATH:
      while [ -n "$__nixpy_rest" ]; do
        __nixpy_dir=${__nixpy_rest%%:*}
        __nixpy_rest=${__nixpy_rest#*:}
        case ":$__nixpy_path:" in
          *":$__nixpy_dir:"*|::) ;;
          *) [ -n "$__nixpy_dir" ] && __nixpy_path=$__nixpy_path:$__nixpy_dir ;;
        esac
      done
      PATH=$__nixpy_path
      echo "nixpy: the shell's startup files put folders before the environment's on PATH; they now come after it" >&2
      unset __nixpy_path __nixpy_rest __nixpy_dir
      ;;
  esac
  unset __NIXPY_PATH_BEFORE
fi"#;

/// The same for fish.
const FISH_KEEP_PATH_FIRST: &str = r#"if set -q __NIXPY_PATH_BEFORE
    set -l before (string split : -- $__NIXPY_PATH_BEFORE)
    set -l moved 0
    if test (count $PATH) -lt (count $before)
        set moved 1
    else
        for i in (seq (count $before))
            if test "$PATH[$i]" != "$before[$i]"
                set moved 1
                break
            end
        end
    end
    if test $moved = 1
        set -l rest
        for d in $PATH
            if not contains -- $d $before
                set -a rest $d
            end
        end
        set -gx PATH $before $rest
        echo "nixpy: the shell's startup files put folders before the environment's on PATH; they now come after it" >&2
    end
    set -e __NIXPY_PATH_BEFORE
end"#;

const VERSION: &str = env!("CARGO_PKG_VERSION");

const BASHRC: &str = r#"# Startup file of `nixpy shell` for bash (nixpy @VERSION@). nixpy writes it
# and rewrites it when it changes; edits here are lost. bash reads it through
# --rcfile when interactive, and through BASH_ENV when it runs commands.
if [ -n "${__NIXPY_BASH_ENV+set}" ]; then
  BASH_ENV=$__NIXPY_BASH_ENV
else
  unset BASH_ENV
fi
unset __NIXPY_BASH_ENV
case $- in
  *i*) if [ -f ~/.bashrc ]; then . ~/.bashrc; fi ;;
  *) if [ -n "${BASH_ENV:-}" ]; then . "$BASH_ENV"; fi ;;
esac
@KEEP_PATH_FIRST@
@HOOK@
case $- in
  *i*) if [ -z "${NIXPY_NO_PROMPT:-}" ]; then PS1="(nixpy) ${PS1-}"; fi ;;
esac
"#;

const ZSHENV: &str = r#"# Startup file of `nixpy shell` for zsh (nixpy @VERSION@). nixpy writes it
# and rewrites it when it changes; edits here are lost. zsh found it through
# ZDOTDIR; the user's own files run with the user's ZDOTDIR.
__nixpy_zdotdir=$ZDOTDIR
if (( ${+__NIXPY_ZDOTDIR} )); then
  ZDOTDIR=$__NIXPY_ZDOTDIR
else
  unset ZDOTDIR
fi
unset __NIXPY_ZDOTDIR
if [[ -f ${ZDOTDIR:-$HOME}/.zshenv ]]; then
  source "${ZDOTDIR:-$HOME}/.zshenv"
fi
if [[ ! -o interactive ]]; then
@KEEP_PATH_FIRST@
fi
if [[ -o interactive ]]; then
  # Back here for .zshrc, remembering where the user's files are.
  if (( ${+ZDOTDIR} )); then
    __nixpy_user_zdotdir=$ZDOTDIR
  fi
  ZDOTDIR=$__nixpy_zdotdir
fi
unset __nixpy_zdotdir
"#;

const ZSHRC: &str = r#"# Startup file of `nixpy shell` for zsh (nixpy @VERSION@); see .zshenv.
if (( ${+__nixpy_user_zdotdir} )); then
  ZDOTDIR=$__nixpy_user_zdotdir
  unset __nixpy_user_zdotdir
else
  unset ZDOTDIR
fi
if [[ -f ${ZDOTDIR:-$HOME}/.zshrc ]]; then
  source "${ZDOTDIR:-$HOME}/.zshrc"
fi
@KEEP_PATH_FIRST@
if [[ -z ${NIXPY_NO_PROMPT-} ]]; then
  PS1="(nixpy) $PS1"
fi
"#;

/// Wraps the user's prompt (after their config ran), keeping `$status` for it.
const FISH_INIT: &str = r#"if status is-interactive; and not set -q NIXPY_NO_PROMPT; and functions -q fish_prompt
    functions -c fish_prompt __nixpy_user_prompt
    function __nixpy_status
        return $argv[1]
    end
    function fish_prompt
        set -l last $status
        printf '(nixpy) '
        __nixpy_status $last
        __nixpy_user_prompt
    end
end"#;

pub(super) fn run(ctx: &Context, args: ShellArgs) -> Result<i32> {
    let (entry, fell_back) = build::prepare_or_last_good(ctx, args.build.into())?;
    let mut env = run::target_env(std::env::vars_os().collect(), &entry.env, fell_back);
    for stale in [HOOK_VAR, SAVED_BASH_ENV, SAVED_ZDOTDIR, PATH_BEFORE] {
        env.remove(OsStr::new(stale));
    }
    env.insert("NIXPY_SHELL".into(), "1".into());
    if let Some(path) = env.get(OsStr::new("PATH")).cloned() {
        env.insert(PATH_BEFORE.into(), path);
    }
    let (shell, kind) = choose(std::env::var_os("SHELL").as_deref(), &entry.env.bash);
    // For zsh and fish the hook runs before the shell: PATH as it leaves
    // the hook (which may put the project's own folders first) is the one
    // the startup files must not reorder.
    let hook = if entry.env.shell_hook.is_empty() {
        String::new()
    } else {
        format!("{}\nexport {PATH_BEFORE}=\"$PATH\"", entry.env.shell_hook)
    };
    let cache = Cache::locate()?;
    let mut argv: Vec<OsString> = vec![shell];
    // The hook runs in the shell for bash (through its startup file), and
    // in bash right before the shell for the others (through exec).
    let hook_before_exec = match kind {
        Kind::Bash => {
            let rc = cache.shell_bashrc();
            install(&rc, BASHRC)?;
            save(&mut env, "BASH_ENV", SAVED_BASH_ENV);
            env.insert("BASH_ENV".into(), rc.clone().into());
            if !entry.env.shell_hook.is_empty() {
                env.insert(HOOK_VAR.into(), entry.env.shell_hook.clone().into());
            }
            argv.extend(["--rcfile".into(), rc.into()]);
            ""
        }
        Kind::Zsh => {
            let dir = cache.shell_zdotdir();
            install(&dir.join(".zshenv"), ZSHENV)?;
            install(&dir.join(".zshrc"), ZSHRC)?;
            save(&mut env, "ZDOTDIR", SAVED_ZDOTDIR);
            env.insert("ZDOTDIR".into(), dir.into());
            hook.as_str()
        }
        Kind::Fish => {
            argv.extend([
                "--init-command".into(),
                format!("{FISH_KEEP_PATH_FIRST}\n{FISH_INIT}").into(),
            ]);
            hook.as_str()
        }
    };
    Err(run::exec(
        &argv,
        env.into_iter().collect(),
        hook_before_exec,
        &entry.env.bash,
        &entry.env.programs,
    ))
}

/// The user's shell when nixpy knows how to start it (by its name: bash,
/// zsh, fish), else the environment's bash (Nix's bashInteractive).
pub(super) fn choose(user_shell: Option<&OsStr>, env_bash: &str) -> (OsString, Kind) {
    if let Some(shell) = user_shell.filter(|s| !s.is_empty()) {
        let kind = match Path::new(shell).file_name().and_then(OsStr::to_str) {
            Some("bash") => Some(Kind::Bash),
            Some("zsh") => Some(Kind::Zsh),
            Some("fish") => Some(Kind::Fish),
            _ => None,
        };
        if let Some(kind) = kind {
            return (shell.to_owned(), kind);
        }
    }
    let bash = if env_bash.is_empty() {
        "bash"
    } else {
        env_bash
    };
    (bash.into(), Kind::Bash)
}

/// Keeps the caller's `name` in `saved`, for the startup file to restore.
fn save(env: &mut BTreeMap<OsString, OsString>, name: &str, saved: &str) {
    if let Some(value) = env.get(OsStr::new(name)).cloned() {
        env.insert(saved.into(), value);
    }
}

/// Writes `path` unless it already holds the text (the common case: no
/// write, no fsync). Concurrent shells write the same bytes atomically.
fn install(path: &Path, template: &str) -> Result<()> {
    let text = fill(template);
    if std::fs::read(path).ok().as_deref() != Some(text.as_bytes()) {
        if let Some(dir) = path.parent() {
            atomic_write::create_private_dir(dir)?;
        }
        atomic_write::write_file(path, text.as_bytes())?;
    }
    Ok(())
}

/// A startup file's text: nixpy's version and the hook runner filled in.
fn fill(template: &str) -> String {
    template
        .replace("@VERSION@", VERSION)
        .replace("@KEEP_PATH_FIRST@", KEEP_PATH_FIRST)
        .replace("@HOOK@", &hook::from_var())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_shells_by_name_else_the_environments_bash() {
        let nix_bash = "/nix/store/x-bash-interactive/bin/bash";
        let pick = |s: Option<&str>| choose(s.map(OsStr::new), nix_bash);
        assert_eq!(
            pick(Some("/usr/bin/zsh")),
            ("/usr/bin/zsh".into(), Kind::Zsh)
        );
        assert_eq!(
            pick(Some("/opt/fish/bin/fish")),
            ("/opt/fish/bin/fish".into(), Kind::Fish)
        );
        assert_eq!(pick(Some("/bin/bash")), ("/bin/bash".into(), Kind::Bash));
        for other in [
            None,
            Some(""),
            Some("/bin/dash"),
            Some("/usr/bin/tcsh"),
            Some("/bin/bash5"),
        ] {
            assert_eq!(pick(other), (nix_bash.into(), Kind::Bash), "{other:?}");
        }
        assert_eq!(choose(None, ""), ("bash".into(), Kind::Bash));
    }

    #[test]
    fn startup_files_are_valid_syntax() {
        let check = |shell: &str, flag: &str, text: &str| {
            if let Ok(out) = std::process::Command::new(shell)
                .args([flag, "-c", text])
                .output()
            {
                assert!(
                    out.status.success(),
                    "{shell}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        };
        check("bash", "-n", &fill(BASHRC));
        check("zsh", "-n", &fill(ZSHENV));
        check("zsh", "-n", &fill(ZSHRC));
        check("fish", "--no-execute", FISH_INIT);
        check("fish", "--no-execute", FISH_KEEP_PATH_FIRST);
    }
}
