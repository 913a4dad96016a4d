//! Explaining a failed Nix command: the user's mistake in one line where
//! nixpy recognises it (the template's markers, a failed download, a package
//! that does not build), and otherwise Nix's last lines.

use crate::error::Error;
use crate::flake::contract;

/// Turns Nix's stderr into one error about the user's mistake where we can
/// recognise it, and otherwise Nix's last lines.
pub(super) fn explain_failure(phase: &str, stderr: &str) -> Error {
    if let Some(names) = find_json_marker(stderr, contract::MARKER_NAMES) {
        let first = &names["problems"][0];
        let field = |key: &str| first[key].as_str().unwrap_or_default().to_owned();
        let (attr, set, source) = (field("attr"), field("set"), field("source"));
        return Error::new(format!("`{attr}` is not in {set} (listed in {source})")).with_hint(format!(
            "check the name (search.nixos.org), then fix `{attr}` in {source}; `nixpy add` suggests close matches"
        ));
    }
    if let Some(reason) = find_marker(stderr, contract::MARKER_REFUSED) {
        let message: Vec<&str> = stderr
            .lines()
            .skip_while(|l| !l.contains(contract::MARKER_REFUSED))
            .skip(1)
            .take_while(|l| !l.trim_start().starts_with('…'))
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        return Error::new(format!(
            "nixpkgs refuses a package ({reason}):\n  {}",
            message.join("\n  ")
        ))
        .with_hint("allow it in the nixpkgs settings of the project, or remove it");
    }
    if let Some(shape) = find_json_marker(stderr, contract::MARKER_NIX_FILE_SHAPE) {
        let field = |key: &str| shape[key].as_str().unwrap_or_default().to_owned();
        return Error::new(format!("{}: {}", field("file"), field("reason")))
            .with_hint("a nix-file must give a list of packages, a function returning one, or a module setting home.packages");
    }
    let failed_build = stderr.lines().find_map(|line| {
        let start = line.find("builder for '")? + "builder for '".len();
        let drv = &line[start..start + line[start..].find('\'')?];
        Some(drv_name(drv).to_owned())
    });
    if let Some(url) = stderr.lines().rev().find_map(|l| {
        let rest = l.split_once("unable to download '")?.1;
        Some(rest[..rest.find('\'')?].to_owned())
    }) {
        return Error::new(format!("Nix could not download {url} while {phase}"))
            .with_hint("check the network; offline, point nixpy at a local nixpkgs checkout or mirror with --nixpkgs path:/srv/nixpkgs (or NIXPY_NIXPKGS), or use a binary cache (docs/ci.md)");
    }
    let tail = last_lines(stderr, 25);
    match failed_build {
        Some(name) => Error::new(format!("Nix failed to build `{name}` while {phase}:\n{tail}"))
            .with_hint(format!("the package `{name}` does not build with this nixpkgs; fix or remove it, or pin another nixpkgs")),
        None => Error::new(format!("Nix failed while {phase}:\n{tail}"))
            .with_hint("run with -v for the full Nix command; `nixpy doctor` checks the Nix set-up"),
    }
}

fn find_marker<'a>(stderr: &'a str, marker: &str) -> Option<&'a str> {
    stderr
        .lines()
        .find_map(|line| line.split_once(marker).map(|(_, rest)| rest.trim()))
}

/// The one-line JSON a template marker carries.
fn find_json_marker(stderr: &str, marker: &str) -> Option<serde_json::Value> {
    serde_json::from_str(find_marker(stderr, marker)?).ok()
}

/// `/nix/store/<hash>-broken-1.0.drv` -> `broken-1.0`.
fn drv_name(drv: &str) -> &str {
    let file = drv.rsplit('/').next().unwrap_or(drv);
    let file = file.strip_suffix(".drv").unwrap_or(file);
    file.split_once('-').map_or(file, |(_, name)| name)
}

pub(super) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("experimental and its interface"))
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

    #[test]
    fn unknown_attributes_become_one_line() {
        let stderr = "error: nixpy-names: {\"problems\":[{\"at\":\"\",\"attr\":\"nosuchpkg\",\"list\":\"packages\",\"set\":\"nixpkgs\",\"source\":\"nixpy.toml\",\"status\":\"unknown\"}],\"quoted\":null,\"total\":1}\n\n       … while evaluating\n";
        let err = explain_failure("building", stderr);
        assert_eq!(
            err.message,
            "`nosuchpkg` is not in nixpkgs (listed in nixpy.toml)"
        );
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
        let err = explain_failure("building the Nix shell", stderr);
        assert!(
            err.message.starts_with("Nix failed to build `broken-1.0`"),
            "{}",
            err.message
        );
        assert!(err.message.contains("fails on purpose"));
    }
}
