//! Garbage collection and GC roots for daemon users (issue 19.1, 19.4):
//! the daemon registers the roots, root collects.
//!
//! No real collection runs here (other tests share the store): "a GC by
//! root" is `nix-store --gc --print-dead`, which computes what would go
//! and drops every registration whose link is missing, then
//! `nix-store --delete` of the paths in question, which deletes only
//! what no root keeps.

use std::path::Path;

use crate::accounts::*;
use crate::harness::*;

#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn a_gc_by_root_keeps_a_users_environment_and_the_run_stays_warm() {
    let mu = needs_multi_user!();
    let token = unique_name("nixpy-mu-gc");
    let p = UserProject::new(&mu.untrusted, own_project(&token));
    p.run(mu, import_probe(&token)).outcome().success();
    root_nix_store(["--gc", "--print-dead"]).success();
    for pointer in ["/shell_file", "/layer/dir"] {
        assert_rooted(&p.entry_str(pointer));
    }
    p.assert_warm(mu, import_probe(&token), "0.1.0\n");
}

/// The case: the user's cache is away (home unmounted, folder
/// moved) while root collects; back, the environment looks fresh but is
/// no longer protected. show and doctor say so; the next run registers
/// the roots again (through the daemon) without building.
#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn roots_dropped_while_a_users_cache_was_away_are_registered_again() {
    let mu = needs_multi_user!();
    let token = unique_name("nixpy-mu-away");
    let p = UserProject::new(&mu.trusted, own_project(&token));
    p.run(mu, import_probe(&token)).outcome().success();
    let shell_file = p.entry_str("/shell_file");
    let layer = p.entry_str("/layer/dir");

    let away = p.cache().with_extension("away");
    std::fs::rename(p.cache(), &away).unwrap();
    root_nix_store(["--gc", "--print-dead"]).success();
    std::fs::rename(&away, p.cache()).unwrap();

    p.nixpy(mu, ["show"])
        .outcome()
        .success()
        .stdout_has("gc root:          missing");
    let doctor = p.nixpy(mu, ["doctor"]).outcome();
    assert!(
        doctor.stdout.contains("FAIL  gc roots"),
        "{}",
        doctor.stdout
    );

    let out = p.run(mu, import_probe(&token)).outcome();
    out.success()
        .stdout_is("0.1.0\n")
        .stderr_has("registering it again")
        .stderr_lacks("building the Nix shell")
        .stderr_lacks("installing");
    for path in [&shell_file, &layer] {
        assert_rooted(path);
    }
    p.assert_warm(mu, import_probe(&token), "0.1.0\n");
}

/// What root's collection deleted is noticed, rebuilt and rooted again.
#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn a_shell_deleted_by_root_is_rebuilt_and_rooted() {
    let mu = needs_multi_user!();
    let token = unique_name("nixpy-mu-del");
    let p = UserProject::new(&mu.trusted, own_project(&token));
    p.run(mu, import_probe(&token)).outcome().success();
    let shell_file = p.entry_str("/shell_file");
    // Its roots go (as if the cache were lost: the generations root it
    // too), then the path.
    let dir = project_cache_dir(&p.cache(), &p.project);
    std::fs::remove_file(dir.join("shell-file")).unwrap();
    std::fs::remove_dir_all(dir.join("generations")).unwrap();
    root_nix_store(["--gc", "--print-dead"]).success();
    root_nix_store(["--delete", &shell_file]).success();
    assert!(!Path::new(&shell_file).exists());
    let out = p.run(mu, import_probe(&token)).outcome();
    out.success()
        .stdout_is("0.1.0\n")
        .stderr_has("garbage collected");
    assert_rooted(&p.entry_str("/shell_file"));
}

/// `nixpy gc` as the user removes the entry and layer root of a deleted
/// project: the daemon then lets the paths go.
#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn nixpy_gc_as_a_user_lets_a_deleted_projects_paths_go() {
    let mu = needs_multi_user!();
    let token = unique_name("nixpy-mu-ugc");
    let p = UserProject::new(&mu.untrusted, own_project(&token));
    p.run(mu, import_probe(&token)).outcome().success();
    let shell_file = p.entry_str("/shell_file");
    let layer = p.entry_str("/layer/dir");
    for rel in ["nixpy.toml", "requirements.txt"] {
        std::fs::remove_file(p.project.path(rel)).unwrap();
    }
    let gc = p.nixpy(mu, ["gc"]).outcome();
    gc.success();
    assert!(
        !project_cache_dir(&p.cache(), &p.project).exists(),
        "{}",
        gc.stderr
    );
    for path in [&shell_file, &layer] {
        root_nix_store(["--delete", path]).success();
        assert!(!Path::new(path).exists(), "{path} is still kept alive");
    }
}

/// A collection between adding a path and rooting it (a `nix` that
/// deletes what it added, through the daemon as the user could): added
/// again, and rooted.
#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn a_gc_between_adding_and_rooting_adds_again_for_a_daemon_user() {
    let mu = needs_multi_user!();
    let token = unique_name("nixpy-mu-race");
    let p = UserProject::new(&mu.untrusted, own_project(&token));
    let wrapper = gc_race_wrapper();
    let path = format!(
        "PATH={}:{}:/usr/local/bin:/usr/bin:/bin",
        wrapper.path().display(),
        mu.bin.display()
    );
    let mut cmd = p.nixpy_in(mu, p.root(), &[path], ["run", "--"]);
    cmd.args(import_probe(&token));
    let out = cmd.outcome();
    out.success().stdout_is("0.1.0\n");
    for what in ["shell", "layer"] {
        assert!(
            wrapper.path().join(format!("raced-{what}")).exists(),
            "the {what} was never removed: the test tested nothing\n{}",
            out.stderr
        );
    }
    assert_eq!(
        out.stderr.matches("a garbage collection removed").count(),
        2,
        "{}",
        out.stderr
    );
    out.stderr_lacks("gcroots");
    for pointer in ["/shell_file", "/layer/dir"] {
        assert_rooted(&p.entry_str(pointer));
    }
}
