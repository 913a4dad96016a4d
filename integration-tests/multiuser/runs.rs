//! Cold and warm runs and the pip layer, as daemon users.

use crate::accounts::*;
use crate::harness::*;

/// A cold run builds through the daemon (whose build users cannot read
/// /root) and leaves registered roots; the warm run prints nothing and
/// needs no daemon at all.
fn cold_warm_and_layer(mu: &MultiUser, user: &str) {
    let token = unique_name("nixpy-mu-run");
    let p = UserProject::new(user, own_project(&token));
    let cold = p.run(mu, import_probe(&token)).outcome();
    cold.success()
        .stdout_is("0.1.0\n")
        .stderr_has("building the Nix shell")
        .stderr_has("installing 1 of 1 pip package(s)");
    let shell_file = p.entry_str("/shell_file");
    let layer = p.entry_str("/layer/dir");
    assert!(
        is_store_path(&shell_file, "nixpy-shell.json"),
        "{shell_file}"
    );
    for path in [&shell_file, &layer] {
        assert_rooted(path);
    }
    p.assert_warm(mu, import_probe(&token), "0.1.0\n");
    // Warm runs never reach the daemon.
    let remote = format!(
        "NIX_REMOTE=unix://{TMP_ROOT}/{}/socket",
        unique_name("nixpy-mu-no-daemon")
    );
    let mut cmd = p.nixpy_in(mu, p.root(), &[remote], ["run", "--"]);
    cmd.args(import_probe(&token));
    let out = cmd.outcome();
    out.success().stdout_is("0.1.0\n");
    assert_eq!(out.stderr, "", "the warm run needed the daemon");
}

#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn a_trusted_user_runs_cold_warm_and_with_a_layer() {
    let mu = needs_multi_user!();
    cold_warm_and_layer(mu, &mu.trusted);
}

#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn an_untrusted_user_runs_cold_warm_and_with_a_layer() {
    let mu = needs_multi_user!();
    cold_warm_and_layer(mu, &mu.untrusted);
}

/// The same inputs give the same shell file whoever builds it (issue 14:
/// a content-addressed text file, no user or Nix in it).
#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn every_user_derives_the_same_shell_file() {
    let mu = needs_multi_user!();
    let token = unique_name("nixpy-mu-same");
    let files = |project: &Project| own_nix_files(project, &token);
    let mut files_seen = Vec::new();
    for user in [&mu.trusted, &mu.untrusted] {
        let p = UserProject::new(user, files);
        p.run(mu, ["true"]).outcome().success();
        files_seen.push(p.entry_str("/shell_file"));
    }
    let root = Project::new();
    files(&root);
    nixpy_run(&root, ["true"]).outcome().success();
    let entry = read_entry(root.cache_dir(), &root).unwrap();
    files_seen.push(entry["shell_file"].as_str().unwrap().to_owned());
    assert!(
        files_seen.windows(2).all(|w| w[0] == w[1]),
        "{files_seen:?}"
    );
}
