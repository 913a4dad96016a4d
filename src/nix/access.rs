//! Reaching the store: what Nix's stderr says when a user cannot reach the
//! nix-daemon, or when the daemon ignores what an untrusted user asked for
//! (a substituter, a key), each with the fix that really applies. Shared
//! by `explain_failure`, fetching recorded paths and `nixpy doctor`.

use std::path::Path;

use super::output::strip_ansi;

/// The daemon's socket, where every client looks for it (the path is
/// compiled into Nix; `NIX_DAEMON_SOCKET_PATH` overrides it).
pub(crate) fn daemon_socket() -> String {
    std::env::var("NIX_DAEMON_SOCKET_PATH")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| {
            super::store::state_dir()
                .join("daemon-socket/socket")
                .display()
                .to_string()
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
            TrustProblem::Substituter(url) => substituters_fix(std::slice::from_ref(url)),
            TrustProblem::PublicKey | TrustProblem::Unsigned { .. } => "an admin adds the cache's key to `trusted-public-keys` in /etc/nix/nix.conf and restarts nix-daemon (`sudo systemctl restart nix-daemon`); a trusted user may pass it with --trusted-public-key".into(),
        }
    }
}

/// The first trust problem Nix's stderr reports, if any.
pub(crate) fn trust_problem(stderr: &str) -> Option<TrustProblem> {
    trust_problems(stderr).into_iter().next()
}

/// Every trust problem Nix's stderr reports, in order.
pub(super) fn trust_problems(stderr: &str) -> Vec<TrustProblem> {
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

/// The substituters the daemon ignored because this user is not trusted.
pub(crate) fn ignored_substituters(stderr: &str) -> Vec<String> {
    trust_problems(stderr)
        .into_iter()
        .filter_map(|p| match p {
            TrustProblem::Substituter(url) => Some(url),
            _ => None,
        })
        .collect()
}

/// What an admin does so the daemon uses `urls` for every user.
pub(crate) fn substituters_fix(urls: &[String]) -> String {
    format!(
        "an admin allows them for every user in /etc/nix/nix.conf: `trusted-substituters = {}` and each cache's key in `trusted-public-keys`, then restarts nix-daemon (`sudo systemctl restart nix-daemon`)",
        urls.join(" ")
    )
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

/// The text between the first pair of single quotes.
pub(super) fn quoted(text: &str) -> Option<&str> {
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
        assert_eq!(
            ignored_substituters(both),
            ["https://cache.nixos.org/", "file:///srv/cache"]
        );
        let fix = TrustProblem::Substituter("file:///srv/cache".into()).fix();
        assert!(
            fix.contains("trusted-substituters = file:///srv/cache"),
            "{fix}"
        );
        assert!(fix.contains("restart"), "{fix}");
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
