//! `requires-python` of the project's pyproject.toml against the Nix
//! interpreter: a mismatch names the interpreter's version and the
//! `python = "python3XY"` value that would satisfy it; `nixpy init` picks
//! the interpreter from it.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::support::source_pos;

/// The minor version of nixpkgs' default `python3` (nixpkgs-unstable,
/// late 2026): what `nixpy init` prefers when `requires-python` allows it.
pub(crate) const NIXPKGS_DEFAULT_MINOR: u64 = 13;

/// The CPython 3 minor versions a nixpkgs may have as `python3XY`.
const MINORS: std::ops::RangeInclusive<u64> = 8..=15;

/// `requires-python` as written, with where it is.
#[derive(Debug, Clone)]
pub(crate) struct RequiresPython {
    pub file: PathBuf,
    pub text: String,
    pub spec: String,
    span: std::ops::Range<usize>,
    specifiers: VersionSpecifiers,
}

#[derive(Deserialize)]
struct Document {
    project: Option<ProjectTable>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ProjectTable {
    requires_python: Option<Spanned<String>>,
}

impl RequiresPython {
    /// `[project].requires-python` of the pyproject.toml at `path`, if it
    /// has one; an invalid specifier is an error at its place.
    pub(crate) fn read(path: &Path) -> Result<Option<RequiresPython>> {
        let Ok(text) = std::fs::read_to_string(path) else {
            return Ok(None);
        };
        // A pyproject.toml that does not parse is reported where it is read.
        let Ok(document) = toml::from_str::<Document>(&text) else {
            return Ok(None);
        };
        let Some(spanned) = document.project.and_then(|p| p.requires_python) else {
            return Ok(None);
        };
        let span = spanned.span();
        let spec = spanned.into_inner();
        let specifiers = VersionSpecifiers::from_str(&spec).map_err(|e| {
            Error::new(source_pos::render(
                path,
                &text,
                span.clone(),
                &format!("requires-python `{spec}` is not a version specifier: {e}"),
            ))
            .with_hint("write it as in PEP 440, such as \">=3.11\" or \">=3.10,<3.13\"")
        })?;
        Ok(Some(RequiresPython {
            file: path.to_path_buf(),
            text,
            spec,
            span,
            specifiers,
        }))
    }

    /// Whether the interpreter's version (`3.11.9`) satisfies it.
    pub(crate) fn allows(&self, version: &str) -> bool {
        Version::from_str(version).is_ok_and(|v| self.specifiers.contains(&v))
    }

    /// The `python3XY` attribute nearest to `minor` whose releases can
    /// satisfy it (the newer of two as near), if any.
    pub(crate) fn nearest_interpreter(&self, minor: u64) -> Option<String> {
        let mut fitting: Vec<u64> = MINORS.filter(|m| self.allows_minor(*m)).collect();
        fitting.sort_by_key(|m| (m.abs_diff(minor), std::cmp::Reverse(*m)));
        fitting.first().map(|m| format!("python3{m}"))
    }

    /// Some 3.`minor`.z release satisfies it.
    fn allows_minor(&self, minor: u64) -> bool {
        (0..=30).any(|micro| self.allows(&format!("3.{minor}.{micro}")))
    }

    /// The error for an interpreter it excludes: at its place in
    /// pyproject.toml, naming the version and the value that would fit.
    pub(crate) fn mismatch(&self, python_attr: &str, version: &str, manifest_label: &str) -> Error {
        let minor = version
            .split('.')
            .nth(1)
            .and_then(|m| m.parse().ok())
            .unwrap_or(NIXPKGS_DEFAULT_MINOR);
        let message = format!(
            "requires-python `{}` excludes the interpreter: {python_attr} is Python {version}",
            self.spec
        );
        let error = Error::new(source_pos::render(
            &self.file,
            &self.text,
            self.span.clone(),
            &message,
        ));
        match self.nearest_interpreter(minor) {
            Some(attr) => error.with_hint(format!(
                "set python = \"{attr}\" in {manifest_label} (a nixpkgs interpreter that satisfies it), or relax requires-python"
            )),
            None => error.with_hint("no CPython 3 release satisfies it; fix requires-python"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> RequiresPython {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("pyproject.toml");
        std::fs::write(
            &path,
            format!("[project]\nname = \"x\"\nrequires-python = \"{text}\"\n"),
        )
        .unwrap();
        RequiresPython::read(&path).unwrap().unwrap()
    }

    #[test]
    fn versions_are_checked_in_full() {
        let at_least = spec(">=3.11.4");
        assert!(at_least.allows("3.11.9"));
        assert!(!at_least.allows("3.11.2"));
        assert!(spec("~=3.12").allows("3.13.0"));
        assert!(!spec("<3.12").allows("3.12.1"));
    }

    #[test]
    fn the_nearest_interpreter_that_fits_is_named() {
        assert_eq!(
            spec(">=3.12").nearest_interpreter(11).as_deref(),
            Some("python312")
        );
        assert_eq!(
            spec("<3.12").nearest_interpreter(13).as_deref(),
            Some("python311")
        );
        assert_eq!(
            spec(">=3.10").nearest_interpreter(13).as_deref(),
            Some("python313")
        );
        assert_eq!(
            spec("==3.11.*").nearest_interpreter(13).as_deref(),
            Some("python311")
        );
        assert_eq!(
            spec(">=3.11.4,<3.12").nearest_interpreter(13).as_deref(),
            Some("python311")
        );
        assert_eq!(spec(">=4").nearest_interpreter(13), None);
    }

    #[test]
    fn a_mismatch_points_at_the_specifier_with_the_fix() {
        let err = spec(">=3.12").mismatch("python3", "3.11.9", "nixpy.toml");
        assert!(err.message.contains("pyproject.toml:3:19: requires-python `>=3.12` excludes the interpreter: python3 is Python 3.11.9"), "{}", err.message);
        assert_eq!(
            err.hint.as_deref(),
            Some("set python = \"python312\" in nixpy.toml (a nixpkgs interpreter that satisfies it), or relax requires-python")
        );
    }

    #[test]
    fn an_invalid_specifier_is_an_error_at_its_place() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("pyproject.toml");
        std::fs::write(&path, "[project]\nrequires-python = \"three\"\n").unwrap();
        let err = RequiresPython::read(&path).unwrap_err();
        assert!(
            err.message.contains(
                "pyproject.toml:2:19: requires-python `three` is not a version specifier"
            ),
            "{}",
            err.message
        );
    }
}
