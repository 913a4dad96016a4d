//! Asking the store what it is (for `nixpy doctor`), and why a path could
//! not be fetched, in the words of the substituters nixpy was asked to use.

use std::ffi::OsString;

use super::access::{store_problem, trust_problem, trust_problems, why_not_fetched, TrustProblem};
use super::output::{is_noise, strip_ansi};
use super::Nix;

impl Nix {
    /// [`why_not_fetched`], naming first a substituter nixpy was asked to
    /// use (`--substituter`) when the daemon ignored several.
    pub(crate) fn why_not_fetched(
        &self,
        store_path: &str,
        stderr: &str,
    ) -> (String, Option<String>) {
        let asked = trust_problems(stderr).into_iter().find(
            |p| matches!(p, TrustProblem::Substituter(url) if self.substituter_urls.contains(url)),
        );
        match asked {
            Some(problem) if store_problem(stderr).is_none() => (
                format!("cannot fetch {store_path}: {}", problem.message()),
                Some(problem.fix()),
            ),
            _ => why_not_fetched(store_path, stderr),
        }
    }
}

/// What the store nixpy's Nix commands use says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreInfo {
    /// `local`, `daemon`, `unix://...`, or another store URL.
    pub url: String,
    /// The version of the Nix serving it (the daemon's, for a daemon).
    pub version: Option<String>,
    /// Whether the daemon trusts this user; `None` when not known.
    pub trusted: Option<bool>,
}

impl StoreInfo {
    pub(crate) fn is_daemon(&self) -> bool {
        self.url == "daemon" || self.url.starts_with("unix://")
    }

    pub(crate) fn is_local(&self) -> bool {
        self.url == "local" || self.url.starts_with("local?") || self.url.starts_with('/')
    }
}

/// A probe substituter that exists nowhere: an untrusted client's daemon
/// says it ignores it, which is how Nix 2.8 (which reports no trust) tells.
const TRUST_PROBE: &str = "file:///nixpy-trust-probe";

impl Nix {
    /// Asks the store what it is: `nix store info --json` (Nix 2.19+),
    /// else `nix store ping --json` (2.14+), else `nix store ping`, whose
    /// answer Nix 2.8 prints on stderr and without trust (probed then with
    /// a substituter the daemon ignores from an untrusted user).
    /// `Err(stderr)` when the store cannot be reached.
    pub(crate) fn store_info(&self) -> crate::error::Result<Result<StoreInfo, String>> {
        let mut last = String::new();
        for args in [
            &["store", "info", "--json"][..],
            &["store", "ping", "--json"][..],
        ] {
            let args: Vec<OsString> = args.iter().map(OsString::from).collect();
            match self.run("ask the store about itself", &args)? {
                Ok(out) => {
                    if let Some(info) = parse_store_json(&out.stdout) {
                        return Ok(Ok(info));
                    }
                }
                Err(out) if is_unknown_usage(&out.stderr) => last = out.stderr,
                Err(out) => return Ok(Err(out.stderr)),
            }
        }
        tracing::debug!("no JSON store info: {}", last.trim());
        let args: Vec<OsString> = ["store", "ping", "--extra-substituters", TRUST_PROBE]
            .iter()
            .map(OsString::from)
            .collect();
        Ok(match self.run("ask the store about itself", &args)? {
            Ok(out) => {
                let text = format!("{}\n{}", out.stdout, out.stderr);
                Ok(parse_store_text(&text))
            }
            Err(out) => Err(out.stderr),
        })
    }
}

/// An unknown subcommand or flag (an older Nix): try the older form.
fn is_unknown_usage(stderr: &str) -> bool {
    let stderr = strip_ansi(stderr);
    stderr.contains("is not a recognised command")
        || stderr.contains("unrecognised flag")
        || stderr.contains("not a recognised")
}

/// `{"url": "daemon", "version": "2.18.1", "trusted": 1}` (the fields
/// Nix knows for this store; `trusted` is 0/1 or true/false).
fn parse_store_json(stdout: &str) -> Option<StoreInfo> {
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).ok()?;
    let trusted = match json.get("trusted") {
        Some(serde_json::Value::Bool(b)) => Some(*b),
        Some(serde_json::Value::Number(n)) => Some(n.as_u64() == Some(1)),
        _ => None,
    };
    Some(StoreInfo {
        url: json.get("url")?.as_str()?.to_owned(),
        version: json
            .get("version")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        trusted,
    })
}

/// `Store URL: daemon` / `Version: 2.8.0` / `Trusted: 1` lines, and the
/// trust probe's warning.
fn parse_store_text(text: &str) -> StoreInfo {
    let text = strip_ansi(text);
    let field = |name: &str| {
        text.lines()
            .filter(|l| !is_noise(l))
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()))
    };
    let url = field("Store URL:").unwrap_or_default();
    let trusted = match field("Trusted:") {
        Some(t) => Some(t == "1" || t == "true"),
        None if url == "daemon" || url.starts_with("unix://") => Some(!matches!(
            trust_problem(&text),
            Some(TrustProblem::Substituter(_))
        )),
        None => None,
    };
    StoreInfo {
        url,
        version: field("Version:"),
        trusted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_info_of_every_nix_version_is_read() {
        // Nix 2.8 (stderr, no trust; the probe's warning tells).
        let untrusted = "Store URL: daemon\nVersion: 2.8.0\nwarning: ignoring untrusted substituter 'file:///nixpy-trust-probe'\n";
        assert_eq!(
            parse_store_text(untrusted),
            StoreInfo {
                url: "daemon".into(),
                version: Some("2.8.0".into()),
                trusted: Some(false)
            }
        );
        assert_eq!(
            parse_store_text("Store URL: daemon\nVersion: 2.8.0\n").trusted,
            Some(true)
        );
        let local = parse_store_text("Store URL: local\n");
        assert!(local.is_local() && local.trusted.is_none());
        // Newer: JSON, trust as a number or a boolean.
        let json =
            parse_store_json("{\"trusted\":1,\"url\":\"daemon\",\"version\":\"2.18.1\"}").unwrap();
        assert!(json.is_daemon());
        assert_eq!(json.trusted, Some(true));
        let json =
            parse_store_json("{\"trusted\":false,\"url\":\"unix:///s\",\"version\":\"2.31.0\"}")
                .unwrap();
        assert_eq!(json.trusted, Some(false));
        assert!(is_unknown_usage(
            "error: 'info' is not a recognised command"
        ));
        assert!(is_unknown_usage("error: unrecognised flag '--json'"));
    }
}
