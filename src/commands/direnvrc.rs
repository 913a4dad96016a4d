//! `nixpy direnvrc`: prints `use_nixpy`, the direnv function behind
//! `use nixpy` in an `.envrc`:
//!
//! ```sh
//! eval "$(nixpy direnvrc)"
//! use nixpy
//! ```
//!
//! direnv runs the .envrc in bash and diffs the environment before and
//! after, so `use_nixpy` evals `nixpy env --diff` and watches every input of
//! the cache fingerprint: editing one reloads the environment.

use std::io::Write;

use crate::error::{Error, Result};
use crate::support::shell_quote;

pub(super) const ENVRC: &str = "eval \"$(nixpy direnvrc)\"\nuse nixpy\n";

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `@NIXPY@` is nixpy's own path, `@VERSION@` its version, both quoted.
const TEMPLATE: &str = r#"# use_nixpy for direnv, printed by `nixpy direnvrc` (nixpy @VERSION_TEXT@).
# In .envrc:
#   eval "$(nixpy direnvrc)"
#   use nixpy
# `use nixpy ARGS...` passes ARGS to `nixpy env` (--offline, --locked, -C DIR).
# Saved to a file instead, it checks that the nixpy it runs is the version
# that printed it; print it again after upgrading nixpy.
__nixpy_direnvrc_version=@VERSION@

use_nixpy() {
  # The nixpy that printed this function, else the one on PATH.
  local nixpy=@NIXPY@
  if [[ ! -x $nixpy ]]; then
    nixpy=$(command -v nixpy) || {
      log_error "nixpy: the nixpy that printed use_nixpy is gone, and none is on PATH"
      return 1
    }
  fi
  local version
  version=$("$nixpy" --version 2>/dev/null) || version=
  if [[ $version != "nixpy $__nixpy_direnvrc_version" ]]; then
    log_error "nixpy: use_nixpy comes from nixpy $__nixpy_direnvrc_version, but $nixpy is ${version:-unknown}; print it again with \`nixpy direnvrc\`"
  fi

  # Build (or reuse) first: that may write nixpy.lock, which is watched
  # below with its new time. On a failed rebuild nixpy prints the last good
  # environment, a warning and NIXPY_DID_FALLBACK=1.
  local code status=0
  code=$("$nixpy" env --format sh --diff --hook "$@") || status=$?
  local files=() file
  while IFS= read -r file; do
    files+=("$file")
  done < <("$nixpy" env --watch-files "$@" 2>/dev/null || true)
  if (( ${#files[@]} )); then
    watch_file "${files[@]}"
  fi
  if (( status != 0 )); then
    log_error "nixpy: no environment loaded (exit status $status); fix the error above and the environment reloads"
    return "$status"
  fi
  # The hook runs as under `nixpy run`: without direnv's errexit and
  # nounset, which a hook written for a plain bash need not survive.
  local options
  options=$(set +o)
  set +o errexit +o nounset
  eval "$code"
  eval "$options"
}
"#;

pub(super) fn run() -> Result<i32> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&script())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::new(format!("cannot write to stdout: {e}")))?;
    Ok(0)
}

/// The script, with this binary's path baked in (or `nixpy`, to be found
/// on PATH, when the path is unknown).
pub(super) fn script() -> Vec<u8> {
    let nixpy = std::env::current_exe().ok().filter(|p| p.is_absolute());
    let nixpy = match &nixpy {
        Some(path) => std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec(),
        None => b"nixpy".to_vec(),
    };
    fill(&nixpy)
}

fn fill(nixpy: &[u8]) -> Vec<u8> {
    let text = TEMPLATE.replace("@VERSION_TEXT@", VERSION);
    let version = shell_quote::sh_single(VERSION.as_bytes());
    let text = text.replace(
        "@VERSION@",
        std::str::from_utf8(&version).expect("the version is UTF-8"),
    );
    let (before, after) = text
        .split_once("@NIXPY@")
        .expect("the template names nixpy");
    [
        before.as_bytes(),
        &shell_quote::sh_single(nixpy),
        after.as_bytes(),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_and_the_script_is_valid_bash() {
        let script = fill(b"/opt/it's here/nixpy");
        let text = String::from_utf8(script.clone()).unwrap();
        assert!(
            text.contains(r"local nixpy='/opt/it'\''s here/nixpy'"),
            "{text}"
        );
        assert!(text.contains(&format!("nixpy {VERSION}")));
        if let Ok(out) = std::process::Command::new("bash")
            .arg("-n")
            .arg("-c")
            .arg(std::ffi::OsStr::new(&text))
            .output()
        {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
