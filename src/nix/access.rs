//! Reaching the store: what Nix's stderr says when a user cannot reach the
//! nix-daemon, or when the daemon ignores what an untrusted user asked for
//! (a substituter, a key), each with the fix that really applies. Shared
//! by `explain_failure`, fetching recorded paths and `nixpy doctor`.

use std::ffi::OsString;
use std::path::Path;

use super::explain::{is_noise, strip_ansi};
use super::Nix;

/// The daemon's socket, where every client looks for it (the path is
/// compiled into Nix; `NIX_DAEMON_SOCKET_PATH` overrides it).
pub(crate) fn daemon_socket() -> String {
    std::env::var("NIX_DAEMON_SOCKET_PATH")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| {
            let state = std::env::var("NIX_STATE_DIR").unwrap_or_else(|_| "/nix/var/nix".into());
            format!("{state}/daemon-socket/socket")
        })
}

/// Why the store cannot be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreProblem {
    /// The daemon runs, but this user may not open its socket (on Debian
    /// and Ubuntu the socket's folder is for the group `nix-users`).
    SocketForbidden { socket: String },
    /// Nothing answers on the socket (stopped, or a socket left behind),
    /// and the store is not this user's to open directly.
    NoDaemon { socket: String },
}

impl StoreProblem {
    pub(crate) fn message(&self) -> String {
        match self {
            StoreProblem::SocketForbidden { socket } => {
                let folder = Path::new(socket).parent().unwrap_or(Path::new(socket));
                let group = owning_group(folder)
                    .map(|g| format!(" (only the group `{g}` may use it)"))
                    .unwrap_or_default();
                format!(
                    "{} may not connect to the nix-daemon: permission denied on {socket}{group}",
                    user_name()
                )
            }
            StoreProblem::NoDaemon { socket } => {
                format!("no nix-daemon is running (nothing answers on {socket})")
            }
        }
    }

    pub(crate) fn fix(&self) -> String {
        match self {
            StoreProblem::SocketForbidden { socket } => {
                let folder = Path::new(socket).parent().unwrap_or(Path::new(socket));
                let group = owning_group(folder).unwrap_or_else(|| "nix-users".into());
                format!(
                    "ask an admin to add you to `{group}` (`sudo usermod -aG {group} {}`), then log in again: group membership applies to new logins",
                    user_name()
                )
            }
            StoreProblem::NoDaemon { .. } => "start it: `sudo systemctl start nix-daemon` (without systemd: `sudo nix-daemon --daemon &`)".into(),
        }
    }
}

/// The store problem Nix's stderr reports, if any.
pub(crate) fn store_problem(stderr: &str) -> Option<StoreProblem> {
    let stderr = strip_ansi(stderr);
    let socket_problem = stderr
        .lines()
        .filter(|l| l.contains("daemon-socket") || l.contains("cannot connect to socket"))
        .find_map(|line| {
            let socket = quoted_or_path(line).unwrap_or_else(daemon_socket);
            if line.contains("Permission denied") {
                Some(StoreProblem::SocketForbidden { socket })
            } else if line.contains("Connection refused")
                || line.contains("No such file or directory")
            {
                Some(StoreProblem::NoDaemon { socket })
            } else {
                None
            }
        });
    if socket_problem.is_some() {
        return socket_problem;
    }
    // No daemon answering, so Nix opened the store itself, which only its
    // owner may (Nix 2.8 fails on the per-user profiles first).
    let local_refused = stderr.lines().any(|l| {
        l.starts_with("error:")
            && l.contains("/nix/var/nix")
            && (l.contains("Permission denied") || l.contains("Operation not permitted"))
    });
    (local_refused && !Path::new(&daemon_socket()).exists()).then(|| StoreProblem::NoDaemon {
        socket: daemon_socket(),
    })
}

/// What the nix-daemon ignored because this user is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TrustProblem {
    /// `--substituter U` (or `extra-substituters`): not in the admin's
    /// `trusted-substituters`.
    Substituter(String),
    /// `--trusted-public-key` (a restricted setting; Nix 2.8 drops it
    /// silently, later versions warn).
    PublicKey,
    /// A substitute is signed by no key the daemon trusts.
    Unsigned { path: String, substituter: String },
}

impl TrustProblem {
    pub(crate) fn message(&self) -> String {
        match self {
            TrustProblem::Substituter(url) => format!(
                "the nix-daemon ignored the substituter {url}: {} is not a trusted user",
                user_name()
            ),
            TrustProblem::PublicKey => format!(
                "the nix-daemon ignored --trusted-public-key: {} is not a trusted user",
                user_name()
            ),
            TrustProblem::Unsigned { path, substituter } => {
                format!("{substituter} has {path}, but it is signed by no key the Nix store trusts")
            }
        }
    }

    pub(crate) fn fix(&self) -> String {
        match self {
            TrustProblem::Substituter(url) => format!(
                "an admin allows it for every user in /etc/nix/nix.conf: `trusted-substituters = {url}` and the cache's key in `trusted-public-keys`, then restarts nix-daemon (`sudo systemctl restart nix-daemon`)"
            ),
            TrustProblem::PublicKey | TrustProblem::Unsigned { .. } => "an admin adds the cache's key to `trusted-public-keys` in /etc/nix/nix.conf and restarts nix-daemon (`sudo systemctl restart nix-daemon`); a trusted user may pass it with --trusted-public-key".into(),
        }
    }
}

/// The first trust problem Nix's stderr reports, if any.
pub(crate) fn trust_problem(stderr: &str) -> Option<TrustProblem> {
    trust_problems(stderr).into_iter().next()
}

/// Every trust problem Nix's stderr reports, in order.
fn trust_problems(stderr: &str) -> Vec<TrustProblem> {
    let stderr = strip_ansi(stderr);
    let mut problems: Vec<TrustProblem> = stderr
        .lines()
        .filter_map(|line| {
            if let Some(rest) = line.split_once("ignoring untrusted substituter ") {
                return Some(TrustProblem::Substituter(quoted(rest.1)?.to_owned()));
            }
            if line.contains("ignoring the client-specified setting 'trusted-public-keys'")
                || line
                    .contains("ignoring the client-specified setting 'extra-trusted-public-keys'")
            {
                return Some(TrustProblem::PublicKey);
            }
            if line.contains("is not signed by any of the keys") {
                let mut quotes = line.split('\'').skip(1).step_by(2);
                let path = quotes.next()?.to_owned();
                let substituter = quotes.next()?.to_owned();
                return Some(TrustProblem::Unsigned { path, substituter });
            }
            None
        })
        .collect();
    problems.dedup();
    problems
}

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

/// Why `nix-store --realise` could not fetch `store_path`: a message and
/// its fix.
pub(crate) fn why_not_fetched(store_path: &str, stderr: &str) -> (String, Option<String>) {
    if let Some(problem) = store_problem(stderr) {
        return (problem.message(), Some(problem.fix()));
    }
    if let Some(problem) = trust_problem(stderr) {
        return (
            format!("cannot fetch {store_path}: {}", problem.message()),
            Some(problem.fix()),
        );
    }
    (
        format!("{store_path} is not in the store or any substituter"),
        None,
    )
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

/// The text between the first pair of single quotes.
fn quoted(text: &str) -> Option<&str> {
    let start = text.find('\'')? + 1;
    let len = text[start..].find('\'')?;
    Some(&text[start..start + len])
}

/// The socket path a line names: quoted (`'...'`), or after `of ` (Nix
/// 2.8's "getting status of /nix/var/...: Permission denied").
fn quoted_or_path(line: &str) -> Option<String> {
    if let Some(q) = quoted(line).filter(|q| q.starts_with('/')) {
        return Some(q.to_owned());
    }
    let start = line.find(" /")? + 1;
    let path = &line[start..];
    Some(path[..path.find(':').unwrap_or(path.len())].to_owned())
}

/// This user's name, for messages an admin will act on.
pub(crate) fn user_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("uid {}", crate::support::user::current_uid()))
}

/// The name of the group owning `path` (from /etc/group).
fn owning_group(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let gid = std::fs::metadata(path).ok()?.gid().to_string();
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == gid).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_errors_of_every_nix_version_are_recognised() {
        let forbidden = [
            "error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Permission denied",
            "error: getting status of /nix/var/nix/daemon-socket/socket: Permission denied",
            "error: getting status of '/nix/var/nix/daemon-socket/socket': Permission denied",
        ];
        for stderr in forbidden {
            assert_eq!(
                store_problem(stderr),
                Some(StoreProblem::SocketForbidden {
                    socket: "/nix/var/nix/daemon-socket/socket".into()
                }),
                "{stderr}"
            );
        }
        for stderr in [
            "error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Connection refused",
            "\x1b[31;1merror:\x1b[0m cannot connect to socket at '\x1b[35;1m/nix/var/nix/daemon-socket/socket\x1b[0m': No such file or directory",
        ] {
            assert_eq!(
                store_problem(stderr),
                Some(StoreProblem::NoDaemon {
                    socket: "/nix/var/nix/daemon-socket/socket".into()
                }),
                "{stderr}"
            );
        }
        assert_eq!(store_problem("error: builder for 'x' failed"), None);
        // Nix 2.8's `store ping` names the store before it fails.
        let ping = "Store URL: unix:///s/daemon-socket/socket\nerror: cannot connect to socket at '/s/daemon-socket/socket': Connection refused";
        assert_eq!(
            store_problem(ping),
            Some(StoreProblem::NoDaemon {
                socket: "/s/daemon-socket/socket".into()
            })
        );
    }

    #[test]
    fn the_fixes_are_the_admins() {
        let forbidden = StoreProblem::SocketForbidden {
            socket: "/nonexistent/daemon-socket/socket".into(),
        };
        assert!(forbidden.fix().contains("usermod -aG nix-users"));
        assert!(forbidden.fix().contains("log in again"));
        let none = StoreProblem::NoDaemon {
            socket: "/s".into(),
        };
        assert!(none.fix().contains("systemctl start nix-daemon"));
    }

    #[test]
    fn untrusted_substituters_and_keys_are_recognised() {
        let old = "warning: ignoring untrusted substituter 'file:///srv/cache'\ndon't know how to build these paths:\n  /nix/store/x\nerror: build of '/nix/store/x' failed";
        let new = "warning: ignoring untrusted substituter 'file:///srv/cache', you are not a trusted user.\nRun `man nix.conf` for more information on the `substituters` configuration option.";
        for stderr in [old, new] {
            assert_eq!(
                trust_problem(stderr),
                Some(TrustProblem::Substituter("file:///srv/cache".into()))
            );
        }
        let key = "warning: ignoring the client-specified setting 'trusted-public-keys', because it is a restricted setting and you are not a trusted user";
        assert_eq!(trust_problem(key), Some(TrustProblem::PublicKey));
        let unsigned = "warning: the substitute for '/nix/store/abc-x' from 'file:///srv/cache' is not signed by any of the keys in 'trusted-public-keys'";
        assert_eq!(
            trust_problem(unsigned),
            Some(TrustProblem::Unsigned {
                path: "/nix/store/abc-x".into(),
                substituter: "file:///srv/cache".into()
            })
        );
        let both = "warning: ignoring untrusted substituter 'https://cache.nixos.org/'\nwarning: ignoring untrusted substituter 'file:///srv/cache'\n";
        assert_eq!(trust_problems(both).len(), 2);
        let fix = TrustProblem::Substituter("file:///srv/cache".into()).fix();
        assert!(
            fix.contains("trusted-substituters = file:///srv/cache"),
            "{fix}"
        );
        assert!(fix.contains("restart"), "{fix}");
    }

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

    #[test]
    fn a_path_no_substituter_has_is_said_plainly() {
        let (message, hint) = why_not_fetched(
            "/nix/store/abc-x",
            "don't know how to build these paths:\n  /nix/store/abc-x\nerror: build of '/nix/store/abc-x' failed",
        );
        assert_eq!(
            message,
            "/nix/store/abc-x is not in the store or any substituter"
        );
        assert_eq!(hint, None);
    }
}
