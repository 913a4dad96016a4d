//! Users sharing a machine (issue 19.5): another user's project, a /tmp
//! folder another user made first, a cache folder two users point at.

use std::path::Path;

use crate::accounts::*;
use crate::harness::*;

/// A project the user may read but not write, whose lock is stale (its
/// owner changed the requirements): the run says so and what to do, and
/// `--frozen` uses the lock as it is.
#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn a_stale_lock_in_a_project_the_user_may_not_write() {
    let mu = needs_multi_user!();
    let token = unique_name("nixpy-mu-ro");
    let owner = UserProject::new(&mu.trusted, own_project(&token));
    owner.run(mu, ["true"]).outcome().success();
    // The owner adds a requirement and has not run nixpy since.
    let extra = format!("{}_extra", module_of(&token));
    add_wheel(&owner.project, &extra, "0.2.0");
    let module = module_of(&token);
    owner
        .project
        .write("requirements.txt", &local_requirements(&[&module, &extra]));
    chown_tree(owner.root(), &mu.trusted);

    let reader = UserProject::new(&mu.untrusted, |_| {});
    let run_there = |args: &[&str]| {
        let mut cmd = reader.nixpy_in(mu, owner.root(), &[], args);
        cmd.args(import_probe(&token)).outcome()
    };
    run_there(&["run", "--"])
        .nixpy_error()
        .stderr_has(&format!(
            "nixpy.lock is out of date, and {} may not write the project folder",
            mu.untrusted
        ))
        .stderr_has("--frozen")
        .stderr_lacks("cannot create a temporary file");
    run_there(&["run", "--frozen", "--"])
        .success()
        .stdout_is("0.1.0\n");
}

/// The fallback folder for generated flakes (used when the cache's path
/// has a space) was made first by another user: this one gets a private
/// folder of its own instead of an impossible "remove it".
#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn a_flakes_folder_another_user_made_first() {
    let mu = needs_multi_user!();
    let uid = uid_of(&mu.untrusted);
    let squatted = Path::new(TMP_ROOT).join(format!("nixpy-{uid}-flakes"));
    if squatted.exists() {
        std::fs::remove_dir_all(&squatted).unwrap();
    }
    std::fs::create_dir(&squatted).unwrap();
    chmod(&squatted, 0o700);
    chown_tree(&squatted, &mu.trusted);

    let token = unique_name("nixpy-mu-flakes");
    let p = UserProject::new(&mu.untrusted, own_project(&token));
    let spaced = p.cache().with_file_name("my cache");
    let cache = format!("NIXPY_CACHE_DIR={}", spaced.display());
    let mut cmd = p.nixpy_in(mu, p.root(), &[cache], ["run", "--"]);
    let out = cmd.args(import_probe(&token)).outcome();
    std::fs::remove_dir_all(&squatted).unwrap();
    out.success()
        .stdout_is("0.1.0\n")
        .stderr_lacks("not a private folder");
}

/// Two users pointing NIXPY_CACHE_DIR at one folder: the second is told
/// that each user needs their own cache, and a cache others may write is
/// refused even to its owner (it holds what nixpy execs).
#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn a_cache_folder_shared_between_users_is_refused() {
    let mu = needs_multi_user!();
    let token = unique_name("nixpy-mu-shared");
    let owner = UserProject::new(&mu.trusted, own_project(&token));
    owner.run(mu, ["true"]).outcome().success();

    let other = UserProject::new(&mu.untrusted, own_project(&token));
    let shared = format!("NIXPY_CACHE_DIR={}", owner.cache().display());
    other
        .nixpy_in(mu, other.root(), &[shared], ["run", "--", "true"])
        .outcome()
        .nixpy_error()
        .stderr_has(&format!("belongs to {}", mu.trusted))
        .stderr_has("each user needs their own cache");

    // "Fixing the permissions" makes it a cache anyone can write.
    std::process::Command::new("chmod")
        .args(["-R", "a+rwX", &owner.cache().display().to_string()])
        .outcome()
        .success();
    owner
        .run(mu, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("may be written by other users")
        .stderr_has("each user needs their own cache");
}
