//! Reaching the daemon (issue 19.3): what doctor reports for each kind of
//! account, and what a run says when the store is out of reach.

use crate::accounts::*;
use crate::harness::*;

fn doctor(mu: &MultiUser, user: &str, env: &[String]) -> Outcome {
    let p = UserProject::new(user, |project| {
        project.write("nixpy.toml", "packages = [\"hello\"]\n");
    });
    p.nixpy_in(mu, p.root(), env, ["doctor"]).outcome()
}

/// `<status>  nix store     <what>` line of doctor's output.
#[track_caller]
fn store_line(out: &Outcome) -> String {
    out.stdout
        .lines()
        .find(|l| l[6.min(l.len())..].starts_with("nix store"))
        .unwrap_or_else(|| panic!("no `nix store` check:\n{}", out.stdout))
        .to_owned()
}

#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn doctor_tells_trusted_from_untrusted_users() {
    let mu = needs_multi_user!();
    let trusted = doctor(mu, &mu.trusted, &[]);
    let line = store_line(&trusted);
    assert!(
        line.starts_with("ok ")
            && line.contains("nix-daemon")
            && line.contains(&format!("{} is a trusted user", mu.trusted)),
        "{}",
        trusted.stdout
    );
    let untrusted = doctor(mu, &mu.untrusted, &[]);
    let line = store_line(&untrusted);
    assert!(
        line.starts_with("ok ")
            && line.contains(&format!("{} is not a trusted user", mu.untrusted))
            && line.contains("trusted-substituters"),
        "{}",
        untrusted.stdout
    );
}

/// Outside `nix-users`, the daemon runs but its socket is closed to the
/// user: doctor and a run both say so, with the admin's fix (not "no
/// nix-daemon is running").
#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn a_user_outside_nix_users_is_told_to_join_it() {
    let mu = needs_multi_user!();
    let out = doctor(mu, &mu.outsider, &[]);
    let line = store_line(&out);
    assert!(
        line.starts_with("FAIL")
            && line.contains(&format!(
                "{} may not connect to the nix-daemon",
                mu.outsider
            ))
            && line.contains("nix-users"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("usermod -aG nix-users {}", mu.outsider)),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("no nix-daemon"), "{}", out.stdout);
    let p = UserProject::new(&mu.outsider, |project| {
        project.write("nixpy.toml", "packages = [\"hello\"]\n");
    });
    // With NIX_REMOTE=daemon, and without (Nix then tries the local store
    // after seeing the socket it may not reach).
    for remote in [Some("daemon"), None] {
        let mut cmd = as_user_with_remote(mu, &mu.outsider, p.root(), remote);
        cmd.arg(format!("NIXPY_CACHE_DIR={}", p.cache().display()))
            .arg(mu.bin.join("nixpy"))
            .args(["run", "--", "true"]);
        cmd.outcome()
            .nixpy_error()
            .stderr_has(&format!(
                "{} may not connect to the nix-daemon",
                mu.outsider
            ))
            .stderr_has("usermod -aG nix-users");
    }
}

/// A daemon that does not answer (simulated with a socket path nobody
/// listens on, leaving the shared daemon alone).
#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn an_unreachable_daemon_is_named_for_a_user() {
    let mu = needs_multi_user!();
    let socket = format!("{TMP_ROOT}/{}/socket", unique_name("nixpy-mu-no-daemon"));
    let remote = format!("NIX_REMOTE=unix://{socket}");
    let out = doctor(mu, &mu.trusted, &[remote]);
    let line = store_line(&out);
    assert!(
        line.starts_with("FAIL")
            && line.contains(&format!(
                "no nix-daemon is running (nothing answers on {socket})"
            )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("systemctl start nix-daemon"),
        "{}",
        out.stdout
    );
}

/// Root uses the local store even while a daemon runs; doctor says both.
#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn root_beside_a_daemon_uses_the_local_store() {
    let _mu = needs_multi_user!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let out = nixpy(&project).arg("doctor").outcome();
    let line = store_line(&out);
    assert!(
        line.starts_with("ok ")
            && line.contains("local store")
            && line.contains("a nix-daemon also runs"),
        "{}",
        out.stdout
    );
}
