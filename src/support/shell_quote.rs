//! Writing variables as shell code that a user's shell evals (`nixpy env`,
//! direnv): every value single-quoted, so nothing in it is ever expanded.
//! Pure; works on bytes because environment values need not be UTF-8.

/// A name every shell accepts in an assignment: `[A-Za-z_][A-Za-z0-9_]*`.
/// Others (`foo-bar`, `1X`, names with `=` or spaces) can live in an
/// environment, but `export` would reject or misread them.
pub(super) fn is_identifier(name: &[u8]) -> bool {
    match name.split_first() {
        Some((first, rest)) => {
            (first.is_ascii_alphabetic() || *first == b'_')
                && rest.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        }
        None => false,
    }
}

/// The shells a format is evaluated by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShellFamily {
    /// `export NAME='value'`: bash, zsh, dash, ksh (whichever evals it).
    Posix,
    Fish,
}

/// Variables a POSIX-family shell owns: assigning them is an error
/// (read-only in bash or zsh), wrong (the evaluating shell's own PWD,
/// SHLVL) or an action: in zsh, assigning `USERNAME`, `UID`, `EUID`, `GID`
/// or `EGID` as root changes the shell's user or group. Never written as
/// assignments, whatever the caller's environment holds.
const POSIX_OWNED: &[&str] = &[
    "_",
    "PWD",
    "OLDPWD",
    "SHLVL",
    "PPID",
    // bash
    "UID",
    "EUID",
    "GROUPS",
    "SHELLOPTS",
    "BASHOPTS",
    "BASHPID",
    "BASH_VERSINFO",
    "BASH_ARGV0",
    "BASH_SUBSHELL",
    "BASH_COMMAND",
    "FUNCNAME",
    "HISTCMD",
    "LINENO",
    "RANDOM",
    "SRANDOM",
    "SECONDS",
    "EPOCHREALTIME",
    "EPOCHSECONDS",
    "OPTIND",
    // zsh
    "USERNAME",
    "GID",
    "EGID",
    "ARGC",
    "ERRNO",
    "TTYIDLE",
    "ZSH_SUBSHELL",
    "ZSH_EVAL_CONTEXT",
    "ZSH_ARGZERO",
    "status",
    "pipestatus",
    "signals",
];

/// Variables fish owns (read-only, or the shell's own state).
const FISH_OWNED: &[&str] = &[
    "_",
    "PWD",
    "SHLVL",
    "FISH_VERSION",
    "fish_pid",
    "hostname",
    "status",
    "pipestatus",
    "status_generation",
    "version",
    "history",
    "CMD_DURATION",
    "fish_kill_signal",
    "last_pid",
    "argv",
    "umask",
];

/// True when `name` may be written as an assignment for `shell`.
pub(crate) fn assignable(name: &[u8], shell: ShellFamily) -> bool {
    let owned = match shell {
        ShellFamily::Posix => POSIX_OWNED,
        ShellFamily::Fish => FISH_OWNED,
    };
    is_identifier(name) && !owned.iter().any(|o| o.as_bytes() == name)
}

/// `value` as one POSIX single-quoted word: `it's` → `'it'\''s'`. Inside
/// single quotes sh, bash and zsh take every byte literally, newlines
/// included; only `'` itself needs closing, escaping and reopening.
pub(crate) fn sh_single(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 2);
    out.push(b'\'');
    for &b in value {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    out
}

/// `value` as one fish single-quoted word: fish honours `\'` and `\\`
/// inside single quotes, so both are escaped (every other byte is literal).
pub(super) fn fish_single(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 2);
    out.push(b'\'');
    for &b in value {
        if b == b'\'' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'\'');
    out
}

/// `export NAME='value'` followed by a newline.
pub(crate) fn sh_export(name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut line = b"export ".to_vec();
    line.extend_from_slice(name);
    line.push(b'=');
    line.extend_from_slice(&sh_single(value));
    line.push(b'\n');
    line
}

/// `set -gx NAME 'value'` followed by a newline.
pub(crate) fn fish_export(name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut line = b"set -gx ".to_vec();
    line.extend_from_slice(name);
    line.push(b' ');
    line.extend_from_slice(&fish_single(value));
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::process::Command;

    #[test]
    fn identifiers_are_what_export_accepts() {
        for good in ["PATH", "_x", "a1", "NIXPY_PROJECT", "x"] {
            assert!(is_identifier(good.as_bytes()), "{good}");
        }
        for bad in ["", "1A", "foo-bar", "a b", "A=B", "é", "a.b", "%%"] {
            assert!(!is_identifier(bad.as_bytes()), "{bad}");
        }
        assert!(!assignable(b"PWD", ShellFamily::Posix));
        assert!(!assignable(b"SHELLOPTS", ShellFamily::Posix));
        assert!(assignable(b"PATH", ShellFamily::Posix));
        assert!(!assignable(b"version", ShellFamily::Fish));
        assert!(assignable(b"PATH", ShellFamily::Fish));
    }

    #[test]
    fn sh_quoting_examples() {
        assert_eq!(sh_single(b""), b"''");
        assert_eq!(sh_single(b"plain"), b"'plain'");
        assert_eq!(sh_single(b"it's"), b"'it'\\''s'");
        assert_eq!(sh_single(b"$HOME `x` \\n"), b"'$HOME `x` \\n'");
        assert_eq!(sh_export(b"A", b"a\nb"), b"export A='a\nb'\n");
    }

    #[test]
    fn fish_quoting_examples() {
        assert_eq!(fish_single(b""), b"''");
        assert_eq!(fish_single(b"it's"), b"'it\\'s'");
        assert_eq!(fish_single(br"C:\dir\"), br"'C:\\dir\\'");
        assert_eq!(fish_single(b"$HOME (x)"), b"'$HOME (x)'");
        assert_eq!(fish_export(b"A", b"v"), b"set -gx A 'v'\n");
    }

    /// What a shell prints for `$NAME` after evaluating `code` (read from
    /// stdin, as `eval "$(nixpy env)"` would); None when it is not installed.
    fn eval_in(shell: &str, code: &[u8], name: &str) -> Option<Vec<u8>> {
        let script = match shell {
            "fish" => format!("eval (cat | string collect); printf %s \"${name}\""),
            _ => format!("eval \"$(cat)\"; printf %s \"${name}\""),
        };
        let mut child = Command::new(shell)
            .args(["-c", &script])
            .env_clear()
            .env("HOME", "/nonexistent")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), code).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{shell} failed on {:?}",
            String::from_utf8_lossy(code)
        );
        Some(out.stdout)
    }

    const AWKWARD: &[&[u8]] = &[
        b"",
        b"'",
        b"''",
        b"'\\''",
        b"a\nb\n\n",
        b"\\",
        b"\\'",
        b"$(echo pwned) `echo pwned` ${HOME} (echo pwned)",
        b"\t tab and trailing space ",
        b"-n",
    ];

    #[test]
    fn shells_read_back_awkward_values() {
        for shell in ["bash", "zsh", "sh"] {
            for value in AWKWARD.iter().chain(
                [
                    b"\xff\xfe not utf-8".as_slice(),
                    "na\u{ef}ve \u{2014} \u{2713}".as_bytes(),
                ]
                .iter(),
            ) {
                let Some(got) = eval_in(shell, &sh_export(b"V", value), "V") else {
                    break; // not installed
                };
                assert_eq!(&got, value, "{shell}: {:?}", String::from_utf8_lossy(value));
            }
        }
        for value in AWKWARD {
            let Some(got) = eval_in("fish", &fish_export(b"V", value), "V") else {
                break;
            };
            assert_eq!(&got, value, "fish: {:?}", String::from_utf8_lossy(value));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The round trip the whole module exists for: bash evals the
        /// output and gets back exactly the value.
        #[test]
        fn bash_round_trip(value in "[^\u{0}]{0,40}") {
            if let Some(got) = eval_in("bash", &sh_export(b"NAME", value.as_bytes()), "NAME") {
                prop_assert_eq!(String::from_utf8(got).unwrap(), value);
            }
        }

        /// The same for fish, whose single quotes treat `\\` specially.
        #[test]
        fn fish_round_trip(value in "[^\u{0}]{0,40}") {
            if let Some(got) = eval_in("fish", &fish_export(b"NAME", value.as_bytes()), "NAME") {
                prop_assert_eq!(String::from_utf8(got).unwrap(), value);
            }
        }

        /// Mostly quotes, backslashes and newlines: where escaping goes wrong.
        #[test]
        fn bash_round_trip_of_quote_soup(value in "['\\\\\n$` a]{0,24}") {
            if let Some(got) = eval_in("bash", &sh_export(b"NAME", value.as_bytes()), "NAME") {
                prop_assert_eq!(String::from_utf8(got).unwrap(), value);
            }
        }
    }
}
