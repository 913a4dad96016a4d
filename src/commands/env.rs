//! `nixpy env`: the environment `nixpy run` gives a command, as code for the
//! user's shell to eval (`eval "$(nixpy env)"`, `nixpy env --format fish |
//! source`) or as JSON. This is what direnv's `use nixpy` loads, so a failed
//! rebuild keeps the last good environment (with `NIXPY_DID_FALLBACK=1`)
//! rather than leaving the shell with none.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::build::{self, Context};
use crate::cli::{EnvArgs, Format};
use crate::entry::ProjectCache;
use crate::error::{Error, Result};
use crate::run;
use crate::support::shell_quote::{self, ShellFamily};
use crate::ui;

pub(super) fn run(ctx: &Context, args: EnvArgs) -> Result<i32> {
    if args.watch_files {
        return print(&watch_files(ctx)?);
    }
    if args.hook && args.format != Format::Sh {
        return Err(Error::new("--hook needs --format sh: the shell hook is bash code")
            .with_hint("fish and JSON consumers get the variables only; `nixpy shell` runs the hook for any shell"));
    }
    let (entry, fell_back) = build::prepare_or_last_good(ctx, args.build.into())?;
    let current: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let target = run::target_env(current.clone(), &entry.env, fell_back);
    let changes = changes(&current, &target, args.diff);
    let mut out = render(args.format, &changes, &current.into_iter().collect());
    if args.hook && !entry.env.shell_hook.is_empty() {
        out.extend_from_slice(&run::hook::inline(&entry.env.shell_hook));
    }
    print(&out)
}

/// One line of output: set a variable (`Some`) or remove it (`None`).
pub(super) type Change = (OsString, Option<OsString>);

/// Everything in `target` (or only what differs from `current`), then the
/// variables of `current` that `target` lacks, as removals.
pub(super) fn changes(
    current: &[(OsString, OsString)],
    target: &BTreeMap<OsString, OsString>,
    diff_only: bool,
) -> Vec<Change> {
    let current: BTreeMap<&OsString, &OsString> = current.iter().map(|(k, v)| (k, v)).collect();
    let mut out: Vec<Change> = target
        .iter()
        .filter(|(name, value)| !diff_only || current.get(name) != Some(value))
        .map(|(name, value)| (name.clone(), Some(value.clone())))
        .collect();
    out.extend(
        current
            .keys()
            .filter(|name| !target.contains_key(**name))
            .map(|name| ((*name).clone(), None)),
    );
    out
}

/// The changes as code (or JSON). A variable that cannot be written in the
/// format is left out, with a note when leaving it out loses a change.
pub(super) fn render(
    format: Format,
    changes: &[Change],
    current: &BTreeMap<OsString, OsString>,
) -> Vec<u8> {
    let mut skipped = Vec::new();
    let mut out = Vec::new();
    let mut json = serde_json::Map::new();
    for (name, value) in changes {
        let bytes = name.as_bytes();
        let writable = match format {
            Format::Sh => shell_quote::assignable(bytes, ShellFamily::Posix),
            Format::Fish => shell_quote::assignable(bytes, ShellFamily::Fish),
            Format::Json => {
                name.to_str().is_some() && value.as_ref().is_none_or(|v| v.to_str().is_some())
            }
        };
        if !writable {
            // An unchanged variable needs no line: the evaluating shell has it.
            if current.get(name) != value.as_ref() {
                skipped.push(name.to_string_lossy().into_owned());
            }
            continue;
        }
        match (format, value) {
            (Format::Sh, Some(v)) => out.extend(shell_quote::sh_export(bytes, v.as_bytes())),
            (Format::Sh, None) => out.extend([b"unset ", bytes, b"\n"].concat()),
            (Format::Fish, Some(v)) => out.extend(shell_quote::fish_export(bytes, v.as_bytes())),
            (Format::Fish, None) => out.extend([b"set -e ", bytes, b"\n"].concat()),
            (Format::Json, v) => {
                let v = v
                    .as_ref()
                    .and_then(|v| v.to_str())
                    .map(|v| serde_json::Value::String(v.to_owned()));
                json.insert(
                    name.to_string_lossy().into_owned(),
                    v.unwrap_or(serde_json::Value::Null),
                );
            }
        }
    }
    if format == Format::Json {
        out = serde_json::to_vec_pretty(&json).expect("strings serialise");
        out.push(b'\n');
    }
    if !skipped.is_empty() {
        let why = match format {
            Format::Json => "not UTF-8",
            _ => "not assignable in a shell",
        };
        ui::note(&format!(
            "left out variables whose names or values are {why}: {}",
            skipped.join(", ")
        ));
    }
    out
}

/// Every file whose change changes the environment: the cached entry's
/// fingerprint (what the environment in use was built from) and the inputs
/// as they read now (which may name files the entry does not, such as a
/// nix-file added by a broken edit), plus the manifest and lock themselves.
fn watch_files(ctx: &Context) -> Result<Vec<u8>> {
    let location = ctx.locate()?;
    let mut files: Vec<PathBuf> = vec![location.manifest.clone(), location.lock_path()];
    if let Some(entry) = ProjectCache::of(&location)
        .ok()
        .and_then(|pc| pc.read_entry())
    {
        files.extend(entry.fingerprint.files.into_iter().map(|f| f.path));
    }
    // `nixpy env` has just reported any problem with the inputs; don't
    // repeat its notes, and list what can be read.
    let verbosity = ui::verbosity();
    ui::set_verbosity(0);
    let now = crate::project::input_files(&location);
    ui::set_verbosity(verbosity);
    if let Ok(stamps) = now {
        files.extend(stamps.into_iter().map(|f| f.path));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut unlisted = 0;
    for file in files {
        let bytes = file.as_os_str().as_bytes();
        if !seen.insert(file.clone()) {
            continue;
        }
        // One path per line: a path with a newline cannot be listed.
        if bytes.contains(&b'\n') {
            unlisted += 1;
        } else {
            out.extend_from_slice(bytes);
            out.push(b'\n');
        }
    }
    if unlisted > 0 {
        ui::warn(&format!(
            "{unlisted} input file(s) have a newline in their path, which direnv's watch list cannot hold: direnv will not reload when they change\n  hint: move the project to a folder whose path has no newline"
        ));
    }
    Ok(out)
}

fn print(bytes: &[u8]) -> Result<i32> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::new(format!("cannot write to stdout: {e}")))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::EnvSpec;
    use std::ffi::OsStr;

    fn os(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    #[test]
    fn diff_keeps_only_what_changes_and_removes_a_stale_fallback_marker() {
        let spec = EnvSpec {
            set: [("NEW".to_owned(), "n".to_owned())].into(),
            project: vec![("NIXPY_PROJECT".into(), "/p".into())],
            ..EnvSpec::default()
        };
        let current = os(&[
            ("HOME", "/h"),
            ("NIXPY_DID_FALLBACK", "1"),
            ("NIXPY_PROJECT", "/p"),
        ]);
        let target = run::target_env(current.clone(), &spec, false);
        let diff = changes(&current, &target, true);
        assert_eq!(
            diff,
            vec![
                ("NEW".into(), Some("n".into())),
                ("NIXPY_DID_FALLBACK".into(), None)
            ]
        );
        let all = changes(&current, &target, false);
        assert_eq!(all.len(), 4, "{all:?}");

        let target = run::target_env(current.clone(), &spec, true);
        assert_eq!(
            target.get(OsStr::new("NIXPY_DID_FALLBACK")),
            Some(&OsString::from("1"))
        );
    }

    #[test]
    fn formats() {
        let changes: Vec<Change> = vec![
            ("A".into(), Some("it's".into())),
            ("bad-name".into(), Some("x".into())),
            ("GONE".into(), None),
        ];
        let current = BTreeMap::from([(OsString::from("GONE"), OsString::from("x"))]);
        assert_eq!(
            render(Format::Sh, &changes, &current),
            b"export A='it'\\''s'\nunset GONE\n"
        );
        assert_eq!(
            render(Format::Fish, &changes, &current),
            b"set -gx A 'it\\'s'\nset -e GONE\n"
        );
        let json: serde_json::Value =
            serde_json::from_slice(&render(Format::Json, &changes, &current)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"A": "it's", "bad-name": "x", "GONE": null})
        );
    }
}
