//! Explaining a failed Nix command: the user's mistake in one error where
//! nixpy recognises it (the template's markers, a failed download, a package
//! that does not build, a name a nix-file uses that nixpkgs lacks), and
//! otherwise Nix's own message.

use std::path::{Path, PathBuf};

use super::access::{store_problem, trust_problem};
use super::names::{line_of_quoted, NameReport};
use super::output::{is_noise, strip_ansi};
use super::refusal::{self, Listed, Refusal};
use super::store::derivation_name;
use super::trace::{self, NixError};
use crate::error::Error;
use crate::flake::contract;

/// A Nix command that failed: what nixpy was doing, and what Nix printed.
#[derive(Debug, Clone)]
pub(crate) struct NixFailure {
    pub phase: String,
    pub stderr: String,
}

/// Where Nix stopped at a name it could not find: an undefined variable
/// (under `with pkgs;`) or a missing attribute (`pkgs.x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoppedAt {
    pub name: String,
    pub file: PathBuf,
    pub line: usize,
}

impl NixFailure {
    pub(crate) fn new(phase: &str, stderr: &str) -> NixFailure {
        NixFailure {
            phase: phase.to_owned(),
            stderr: stderr.to_owned(),
        }
    }

    fn error(&self) -> Option<NixError> {
        trace::parse(&self.stderr)
    }

    /// The template's report of unusable names in the manifest's lists,
    /// with their lines in the manifest (read from `project_root`).
    pub(crate) fn name_report(&self, project_root: Option<&Path>) -> Option<NameReport> {
        let error = self.error()?;
        let (json, note) = match error.message.strip_prefix(contract::MARKER_NAMES) {
            Some(json) => (json.lines().next().unwrap_or_default(), None),
            None => (
                error.context(contract::MARKER_NAMES.trim_end())?,
                Some(error.message.clone()),
            ),
        };
        let mut report: NameReport = serde_json::from_str(json.trim()).ok()?;
        report.note = note;
        if let Some(root) = project_root {
            for problem in &mut report.problems {
                if let Ok(text) = std::fs::read_to_string(root.join(&problem.source)) {
                    problem.line = line_of_quoted(&text, &problem.attr);
                }
            }
        }
        Some(report)
    }

    /// The name Nix stopped at in a file, when that is why it failed.
    pub(crate) fn stopped_at_name(&self) -> Option<StoppedAt> {
        let error = self.error()?;
        let first = error.message.lines().next()?;
        let name = if let Some(rest) = first.strip_prefix("undefined variable '") {
            rest.strip_suffix('\'')?
        } else {
            first
                .strip_prefix("attribute '")?
                .strip_suffix("' missing")?
        };
        let (file, line) = error.message.lines().find_map(position)?;
        Some(StoppedAt {
            name: name.to_owned(),
            file,
            line,
        })
    }

    /// A nix-file entry threw (most likely a name nixpkgs removed): nixpkgs'
    /// text, when that is why it failed.
    pub(crate) fn nix_file_entry_threw(&self) -> Option<String> {
        let error = self.error()?;
        let listed = Listed::from_json(error.context(contract::MARKER_LISTED.trim_end())?)?;
        let is_marker = [
            contract::MARKER_REFUSED,
            contract::MARKER_NAMES,
            contract::MARKER_NIX_FILE_SHAPE,
        ]
        .iter()
        .any(|m| error.message.starts_with(m));
        (listed.list == "nix-files" && listed.name.is_none() && !is_marker).then_some(error.message)
    }

    /// One error about the user's mistake where nixpy can tell what it is,
    /// and otherwise Nix's message.
    pub(crate) fn explain(&self, project_root: Option<&Path>) -> Error {
        if let Some(report) = self.name_report(project_root) {
            return report.explain();
        }
        let error = self.error();
        if let Some(error) = &error {
            if let Some(refusal) = Refusal::parse(&error.message, contract::MARKER_REFUSED) {
                let listed = error
                    .context(contract::MARKER_LISTED.trim_end())
                    .and_then(Listed::from_json);
                return refusal::explain(&refusal, listed.as_ref());
            }
            if let Some(json) = error.message.strip_prefix(contract::MARKER_NOT_PYTHON) {
                let value: serde_json::Value =
                    serde_json::from_str(json.trim()).unwrap_or_default();
                let field = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
                let (attr, source) = (field("attr"), field("source"));
                return Error::new(format!(
                    "`{attr}` is not a Python interpreter (python = \"{attr}\" in {source})"
                ))
                .with_hint(format!(
                    "set python to an interpreter of nixpkgs, such as \"python3\" or \"python312\", in {source}; list other Nix packages under packages"
                ));
            }
            if let Some(json) = error.message.strip_prefix(contract::MARKER_NIX_FILE_SHAPE) {
                let shape: serde_json::Value =
                    serde_json::from_str(json.trim()).unwrap_or_default();
                let field = |key: &str| shape[key].as_str().unwrap_or_default().to_owned();
                return Error::new(format!("{}: {}", field("file"), field("reason")))
                    .with_hint("a nix-file must give a list of packages, a function returning one, or a module setting home.packages or environment.systemPackages");
            }
        }
        let phase = &self.phase;
        if let Some(url) = self.stderr.lines().rev().find_map(|l| {
            let rest = l.split_once("unable to download '")?.1;
            Some(rest[..rest.find('\'')?].to_owned())
        }) {
            return Error::new(format!("Nix could not download {url} while {phase}"))
                .with_hint("check the network; offline, point nixpy at a local nixpkgs checkout or mirror with --nixpkgs path:/srv/nixpkgs (or NIXPY_NIXPKGS), or use a binary cache (docs/ci.md)");
        }
        let plain = strip_ansi(&self.stderr);
        if let Some(problem) = store_problem(&plain) {
            return Error::new(format!(
                "Nix cannot reach the store while {phase}: {}",
                problem.message()
            ))
            .with_hint(problem.fix());
        }
        if let Some(drv) = failed_derivation(&plain) {
            let name = derivation_name(drv);
            let tail = tail(&self.stderr, before_trace(&self.stderr));
            return Error::new(format!("Nix failed to build `{name}` while {phase}:\n{tail}"))
                .with_hint(format!("the package `{name}` does not build with this nixpkgs; fix or remove it, or pin another nixpkgs"));
        }
        // A substituter the daemon ignored is why a build was needed at
        // all: lead with it, not with "unable to start any build".
        let could_not_build = ["unable to start any build", "don't know how to build"]
            .iter()
            .any(|m| plain.contains(m));
        if let Some(problem) = trust_problem(&plain).filter(|_| could_not_build) {
            let tail = tail(&self.stderr, &self.stderr);
            return Error::new(format!(
                "Nix failed while {phase}: {}, so it had to build, and could not:\n{tail}",
                problem.message()
            ))
            .with_hint(problem.fix());
        }
        let hint = "run with -v for the Nix command and its whole output; `nixpy doctor` checks the Nix set-up";
        let Some(error) = error else {
            let tail = tail(&self.stderr, &self.stderr);
            return Error::new(format!("Nix failed while {phase}:\n{tail}")).with_hint(hint);
        };
        // -v promises Nix's whole output (the command was printed as it ran).
        let error = if crate::ui::verbosity() >= 2 {
            NixError {
                message: format!(
                    "{}\n\nNix's whole output:\n{}",
                    error.message,
                    last_lines(&self.stderr, usize::MAX)
                ),
                ..error
            }
        } else {
            error
        };
        let message = indent(&error.message);
        let listed = error
            .context(contract::MARKER_LISTED.trim_end())
            .and_then(Listed::from_json);
        let module = error
            .context(contract::MARKER_MODULE.trim_end())
            .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
            .and_then(|v| v["file"].as_str().map(str::to_owned));
        match (listed, module) {
            (Some(listed), _) => Error::new(format!(
                "Nix could not evaluate {} while {phase}:\n{message}",
                listed.describe()
            ))
            .with_hint(hint),
            (None, Some(file)) => {
                Error::new(format!("Nix could not evaluate {file} while {phase}:\n{message}"))
                    .with_hint("fix the module; nixpy passes it config, lib, pkgs, osConfig and inputs (empty sets where it has none)")
            }
            (None, None) => {
                Error::new(format!("Nix failed while {phase}:\n{message}")).with_hint(hint)
            }
        }
    }
}

/// Turns Nix's stderr into one error (for commands that have no project).
pub(super) fn explain_failure(phase: &str, stderr: &str) -> Error {
    NixFailure::new(phase, stderr).explain(None)
}

/// `at /path/file.nix:12:5:` -> the file and line.
fn position(line: &str) -> Option<(PathBuf, usize)> {
    let rest = line.trim().strip_prefix("at ")?.strip_suffix(':')?;
    let mut parts = rest.rsplitn(3, ':');
    let _column: usize = parts.next()?.parse().ok()?;
    let line: usize = parts.next()?.parse().ok()?;
    let file = parts.next()?;
    file.starts_with('/').then(|| (PathBuf::from(file), line))
}

/// The part of Nix's output before the trace of an evaluation error.
fn before_trace(stderr: &str) -> &str {
    match stderr.find("\n       … ") {
        Some(i) => &stderr[..i],
        None => stderr,
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The derivation whose builder failed, in the wording of Nix 2.8 to 2.2x
/// (`builder for '<drv>' failed with exit code 1`) or of later versions
/// (`Cannot build '<drv>'.` then `Reason: builder failed ...`). A
/// derivation that failed only because a dependency did (`Reason: 1
/// dependency failed.`) is not the one to name.
fn failed_derivation(stderr: &str) -> Option<&str> {
    let mut pending: Option<&str> = None;
    for line in stderr.lines() {
        if let Some(drv) = quoted_after(line, "builder for '") {
            return Some(drv);
        }
        if let Some(drv) = quoted_after(line, "Cannot build '") {
            pending = Some(drv);
        } else if let (Some(drv), Some((_, reason))) = (pending, line.split_once("Reason: ")) {
            if reason.starts_with("builder failed") {
                return Some(drv);
            }
            pending = None;
        }
    }
    None
}

/// The text after `opening` up to the next quote.
fn quoted_after<'a>(line: &'a str, opening: &str) -> Option<&'a str> {
    let start = line.find(opening)? + opening.len();
    let len = line[start..].find('\'')?;
    Some(&line[start..start + len])
}

/// What of Nix's output an error shows: the last lines of `shown`, or with
/// -v (which promises it) all of `whole`.
fn tail(whole: &str, shown: &str) -> String {
    if crate::ui::verbosity() >= 2 {
        last_lines(whole, usize::MAX)
    } else {
        last_lines(shown, 25)
    }
}

pub(super) fn last_lines(text: &str, n: usize) -> String {
    let text = strip_ansi(text);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !is_noise(l))
        .collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNKNOWN: &str = "error: nixpy-names: {\"problems\":[{\"at\":\"\",\"attr\":\"nosuchpkg\",\"list\":\"packages\",\"set\":\"nixpkgs\",\"source\":\"nixpy.toml\",\"status\":\"unknown\"}],\"quoted\":null,\"total\":1}\n\n       … while evaluating\n";

    #[test]
    fn unknown_attributes_become_one_line() {
        let err = explain_failure("building", UNKNOWN);
        assert_eq!(
            err.message,
            "`nosuchpkg` is not in nixpkgs (listed in nixpy.toml)"
        );
    }

    #[test]
    fn manifest_lines_are_added_from_the_project() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(
            root.path().join("nixpy.toml"),
            "packages = [\n  \"hello\",\n  \"nosuchpkg\",\n]\n",
        )
        .unwrap();
        let err = NixFailure::new("building", UNKNOWN).explain(Some(root.path()));
        assert_eq!(
            err.message,
            "`nosuchpkg` is not in nixpkgs (listed in nixpy.toml:3)"
        );
    }

    /// A removed name: nixpkgs' text is the message, the marker the context,
    /// in Nix 2.8's layout and in 2.18's.
    #[test]
    fn removed_names_quote_nixpkgs_in_both_layouts() {
        let marker = "nixpy-names: {\"problems\":[{\"at\":\"nodePackages\",\"attr\":\"nodePackages.pnpm\",\"list\":\"packages\",\"set\":\"nixpkgs\",\"source\":\"nixpy.toml\",\"status\":\"removed\"}],\"quoted\":\"nodePackages.pnpm\",\"total\":1}";
        let old = format!("error: nodePackages has been removed. Many packages are now available at the top level.\n\n       … while evaluating the attribute 'nodePackages'\n\n       at /nix/store/x-source/pkgs/top-level/aliases.nix:900:3:\n\n       … {marker}\n");
        let new = format!("error:\n       … {marker}\n\n       … while evaluating the attribute 'nodePackages'\n\n         at /nix/store/x-source/pkgs/top-level/aliases.nix:900:3:\n\n       error: nodePackages has been removed. Many packages are now available at the top level.\n");
        for stderr in [old, new] {
            let err = explain_failure("building", &stderr);
            assert_eq!(
                err.message,
                "`nodePackages.pnpm` (listed in nixpy.toml) is no longer usable (through `nodePackages`); nixpkgs says: nodePackages has been removed. Many packages are now available at the top level."
            );
        }
    }

    #[test]
    fn refusals_name_the_key_in_both_layouts() {
        let listed = "nixpy-listed: {\"attr\":\"torch\",\"list\":\"python-packages\",\"source\":\"nixpy.toml\"}";
        let old = format!("error: nixpy-refused: {{\"reason\":\"unfree\",\"manifest\":\"nixpy.toml\",\"cudaSupport\":true}}\n       Refusing to evaluate package 'cuda_cudart-12.4.127' in /nix/store/x/pkgs.nix:343 because it has an unfree license (‘CUDA EULA’)\n       a) To allow\n\n       … while evaluating the attribute 'drvPath'\n\n       … {listed}\n");
        let new = format!("error:\n       … {listed}\n\n       … while calling the 'throw' builtin\n\n       error: nixpy-refused: {{\"reason\":\"unfree\",\"manifest\":\"nixpy.toml\",\"cudaSupport\":true}}\n       Package ‘cuda_cudart-12.2.140’ in /nix/store/x/manifest.nix:371 has an unfree license (‘CUDA EULA’), refusing to evaluate.\n");
        for stderr in [old, new] {
            let err = explain_failure("building", &stderr);
            assert!(
                err.message.starts_with("nixpkgs refuses `cuda_cudart-12."),
                "{}",
                err.message
            );
            assert!(err.message.contains(", which `torch` (python-packages in nixpy.toml) needs: it has an unfree license (‘CUDA EULA’)"), "{}", err.message);
            assert!(err
                .hint
                .unwrap()
                .contains("allow-unfree = [\"cuda_cudart\"]"));
        }
    }

    #[test]
    fn names_a_nix_file_stops_at() {
        for (stderr, name) in [
            ("error: undefined variable 'nosuch'\n\n       at /p/modules/ml.nix:1:53:\n\n            1| [ nosuch ]\n\n       … while evaluating anonymous lambda\n", "nosuch"),
            ("error:\n       … while evaluating anonymous lambda\n\n       error: attribute 'nosuch' missing\n       at /p/modules/ml.nix:1:53:\n            1| [ pkgs.nosuch ]\n", "nosuch"),
        ] {
            let stopped = NixFailure::new("building", stderr).stopped_at_name().unwrap();
            assert_eq!(stopped, StoppedAt { name: name.into(), file: "/p/modules/ml.nix".into(), line: 1 });
        }
    }

    #[test]
    fn a_nix_file_entry_that_throws_is_recognised() {
        let stderr = "error: 'atom' has been removed because discontinued\n\n       … nixpy-listed: {\"attr\":null,\"list\":\"nix-files\",\"name\":null,\"source\":\"modules/media.nix\"}\n";
        let failure = NixFailure::new("building", stderr);
        assert_eq!(
            failure.nix_file_entry_threw().as_deref(),
            Some("'atom' has been removed because discontinued")
        );
    }

    #[test]
    fn other_evaluation_errors_keep_nixs_message_and_name_the_entry() {
        let stderr = "error: python3.12-foo-1.0 not supported for interpreter python3.12\n\n       … while evaluating\n\n       … nixpy-listed: {\"attr\":\"foo\",\"list\":\"python-packages\",\"source\":\"nixpy.toml\"}\n";
        let err = explain_failure("building the Nix shell", stderr);
        assert_eq!(
            err.message,
            "Nix could not evaluate `foo` (python-packages in nixpy.toml) while building the Nix shell:\n  python3.12-foo-1.0 not supported for interpreter python3.12"
        );
    }

    #[test]
    fn a_package_named_as_the_interpreter_is_called_what_it_is() {
        let stderr = "error: nixpy-not-python: {\"attr\":\"hello\",\"source\":\"nixpy.toml\"}\n";
        let err = explain_failure("building", stderr);
        assert_eq!(
            err.message,
            "`hello` is not a Python interpreter (python = \"hello\" in nixpy.toml)"
        );
        assert!(err.hint.unwrap().contains("python312"));
    }

    #[test]
    fn download_failures_say_what_could_not_be_fetched() {
        let stderr = "warning: error: unable to download 'https://api.github.com/x': Couldn't resolve host name (6); retrying in 341 ms\nerror: unable to download 'https://api.github.com/x': Couldn't resolve host name (6)\n";
        let err = explain_failure("resolving the nixpkgs input", stderr);
        assert_eq!(
            err.message,
            "Nix could not download https://api.github.com/x while resolving the nixpkgs input"
        );
        assert!(err.hint.unwrap().contains("--nixpkgs path:"));
    }

    #[test]
    fn build_failures_name_the_package_and_keep_the_log_tail() {
        let stderr = "building '/nix/store/abc-broken-1.0.drv'...\nbroken.c:3: error: fails on purpose\nerror: builder for '/nix/store/abc-broken-1.0.drv' failed with exit code 1\n";
        assert_names_the_broken_package(stderr);
    }

    #[track_caller]
    fn assert_names_the_broken_package(stderr: &str) -> Error {
        let err = explain_failure("building the Nix shell", stderr);
        assert!(
            err.message.starts_with("Nix failed to build `broken-1.0`"),
            "{}",
            err.message
        );
        assert!(err.message.contains("fails on purpose"));
        err
    }

    /// Nix 2.29's wording (DerivationBuildingGoal), coloured as on a
    /// terminal: the package whose builder failed is named, not the shell
    /// that failed because of it.
    #[test]
    fn build_failures_in_the_newer_wording_name_the_package() {
        let stderr = "\x1b[31;1merror:\x1b[0m Cannot build '\x1b[35;1m/nix/store/abc-broken-1.0.drv\x1b[0m'.\n       Reason: \x1b[31;1mbuilder failed with exit code 1\x1b[0m.\n       Output paths:\n         /nix/store/def-broken-1.0\n       Last 1 log lines:\n       > broken.c:3: error: fails on purpose\n       For full logs, run:\n         nix log /nix/store/abc-broken-1.0.drv\n\x1b[31;1merror:\x1b[0m Cannot build '/nix/store/ghi-nixpy-shell-env.drv'.\n       Reason: 1 dependency failed.\n       Output paths:\n         /nix/store/jkl-nixpy-shell-env\n";
        let err = assert_names_the_broken_package(stderr);
        assert!(
            !err.message.contains('\x1b'),
            "colour codes kept: {}",
            err.message
        );
    }

    #[test]
    fn a_dependency_failure_alone_names_no_package() {
        let stderr = "error: Cannot build '/nix/store/ghi-nixpy-shell-env.drv'.\n       Reason: 1 dependency failed.\n";
        let err = explain_failure("building the Nix shell", stderr);
        assert!(
            err.message.starts_with("Nix failed while building"),
            "{}",
            err.message
        );
    }

    #[test]
    fn deprecation_warnings_never_reach_the_user() {
        let stderr = "warning: 'ping' is a deprecated alias for 'info'\nwarning: Nix feature 'nix-command' is experimental and its interface may change\nerror: something else\n";
        let err = explain_failure("asking the store", stderr);
        assert!(!err.message.contains("deprecated"), "{}", err.message);
        assert!(err.message.contains("something else"), "{}", err.message);
    }

    #[test]
    fn an_unreachable_daemon_is_named_with_its_fix() {
        let stderr = "error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Connection refused\n";
        let err = explain_failure("resolving the nixpkgs input", stderr);
        assert!(
            err.message.contains("no nix-daemon is running"),
            "{}",
            err.message
        );
        assert!(err.hint.unwrap().contains("systemctl start nix-daemon"));
    }

    #[test]
    fn an_ignored_substituter_leads_a_failed_build() {
        let stderr = "warning: ignoring untrusted substituter 'file:///srv/cache'\nerror: unable to start any build; either increase '--max-jobs' or enable remote builds.\n";
        let err = explain_failure("building the Nix shell", stderr);
        assert!(
            err.message
                .contains("ignored the substituter file:///srv/cache"),
            "{}",
            err.message
        );
        assert!(err
            .hint
            .unwrap()
            .contains("trusted-substituters = file:///srv/cache"));
    }
}
