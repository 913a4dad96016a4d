//! Pushing to and fetching from binary caches as daemon users (issue
//! 19.2): a daemon ignores an untrusted user's own substituter (nixpy
//! says so, with the admin's fix, and builds), and serves one the admin
//! listed in trusted-substituters to everyone.

use std::path::Path;
use std::process::Command;

use crate::accounts::*;
use crate::harness::*;

/// A signing key pair owned by `user`.
struct Keys {
    _dir: tempfile::TempDir,
    secret: std::path::PathBuf,
    public: String,
}

fn keys_of(user: &str) -> Keys {
    let dir = temp_dir("nixpy-mu-keys-");
    let (secret, public) = (dir.path().join("sec"), dir.path().join("pub"));
    Command::new("nix-store")
        .arg("--generate-binary-cache-key")
        .arg("nixpy-mu-own")
        .arg(&secret)
        .arg(&public)
        .outcome()
        .success();
    chown_tree(dir.path(), user);
    let public = std::fs::read_to_string(&public).unwrap().trim().to_owned();
    Keys {
        _dir: dir,
        secret,
        public,
    }
}

/// The recorded paths leave the store (their roots went with the cache
/// that held them).
fn drop_from_store(paths: &[&str]) {
    for path in paths {
        let out = root_nix_store(["--delete", path]);
        assert!(
            out.status.success() && !Path::new(path).exists(),
            "cannot delete {path}:\n{}",
            out.stderr
        );
    }
}

#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn substituters_of_untrusted_and_trusted_users() {
    let mu = needs_multi_user!();
    let token = unique_name("nixpy-mu-push");
    let a = UserProject::new(&mu.trusted, own_project(&token));
    a.nixpy(mu, ["lock", "--record-paths"]).outcome().success();
    let lock = read_lock(&a.project);
    let shell = lock["store"]["shell"].as_str().unwrap().to_owned();
    let layer = lock["store"]["layer"].as_str().unwrap().to_owned();

    // The trusted user pushes to a cache of their own, and to the one the
    // admin lists in the daemon's trusted-substituters.
    let keys = keys_of(&mu.trusted);
    let own_dir = temp_dir("nixpy-mu-own-cache-");
    chown_tree(own_dir.path(), &mu.trusted);
    let own = format!("file://{}/cache", own_dir.path().display());
    for to in [
        format!("{own}?secret-key={}", keys.secret.display()),
        format!(
            "{}?secret-key={}",
            mu.admin_cache,
            mu.admin_cache_secret_key.display()
        ),
    ] {
        a.nixpy(mu, ["push", "--to", &to])
            .outcome()
            .success()
            .stdout_has(&format!("shell environment  {shell}"));
    }
    std::fs::remove_dir_all(a.cache()).unwrap();
    drop_from_store(&[&shell, &layer]);

    let checkout = |user: &str| {
        UserProject::new(user, |project| {
            for rel in [
                "nixpy.toml",
                "requirements.txt",
                "nixpy.lock",
                "nix/unique.nix",
            ] {
                project.write(rel, &a.project.read(rel));
            }
            let wheels = project.mkdir("wheels");
            for wheel in std::fs::read_dir(a.project.path("wheels"))
                .unwrap()
                .flatten()
            {
                std::fs::copy(wheel.path(), wheels.join(wheel.file_name())).unwrap();
            }
        })
    };
    let with_substituter = |p: &UserProject, url: &str, key: &str| {
        let mut cmd = p.nixpy(
            mu,
            [
                "--substituter",
                url,
                "--trusted-public-key",
                key,
                "run",
                "--",
            ],
        );
        cmd.args(import_probe(&token));
        cmd.outcome()
    };

    // Untrusted, own cache: ignored by the daemon; nixpy says why and how
    // an admin allows it, then builds.
    let b = checkout(&mu.untrusted);
    let out = with_substituter(&b, &own, &keys.public);
    out.success()
        .stdout_is("0.1.0\n")
        .stderr_has(&format!(
            "the nix-daemon ignored the substituter {own}: {} is not a trusted user",
            mu.untrusted
        ))
        .stderr_has(&format!("trusted-substituters = {own}"))
        .stderr_has("building the Nix shell")
        .stderr_lacks("not in the store or any substituter");
    std::fs::remove_dir_all(b.cache()).unwrap();
    drop_from_store(&[&shell, &layer]);

    // Untrusted, the admin's cache: fetched, nothing built.
    let c = checkout(&mu.untrusted);
    let out = with_substituter(&c, &mu.admin_cache, &mu.admin_cache_public_key);
    out.success()
        .stdout_is("0.1.0\n")
        .stderr_has(&format!("fetching the recorded Nix shell {shell}"))
        .stderr_has(&format!("fetching the recorded pip layer {layer}"))
        .stderr_lacks("building the Nix shell")
        .stderr_lacks("installing");
    assert_rooted(&shell);
    std::fs::remove_dir_all(c.cache()).unwrap();
    drop_from_store(&[&shell, &layer]);

    // Trusted, own cache: fetched.
    let d = checkout(&mu.trusted);
    let out = with_substituter(&d, &own, &keys.public);
    out.success()
        .stderr_has(&format!("fetching the recorded Nix shell {shell}"))
        .stderr_lacks("building the Nix shell");
    assert_rooted(&shell);
}

/// The project's own `substituters` and `trusted-public-keys` (the
/// manifest): an untrusted user's daemon ignores them, and nixpy names the
/// cache and the admin's line, at the fetch and after the build; a trusted
/// user fetches from them.
#[test]
#[ignore = "multi-user: scripts/test runs it as root after scripts/setup-multiuser"]
fn manifest_substituters_for_untrusted_and_trusted_users() {
    let mu = needs_multi_user!();
    let token = unique_name("nixpy-mu-manifest");
    let keys = keys_of(&mu.trusted);
    // Made before any Nix call lists it: the daemon (root) would create
    // a substituter's folders that do not exist yet, and the user could
    // not push into them.
    let own_dir = temp_dir("nixpy-mu-own-cache-");
    std::fs::create_dir_all(own_dir.path().join("cache/nar")).unwrap();
    std::fs::write(
        own_dir.path().join("cache/nix-cache-info"),
        "StoreDir: /nix/store\n",
    )
    .unwrap();
    chown_tree(own_dir.path(), &mu.trusted);
    let own = format!("file://{}/cache", own_dir.path().display());
    let manifest = format!(
        "packages = [\"hello\"]\nnix-files = [\"nix/unique.nix\"]\nsubstituters = [\"{own}\"]\ntrusted-public-keys = [\"{}\"]\n",
        keys.public
    );
    let files = |project: &Project| {
        own_project(&token)(project);
        project.write("nixpy.toml", &manifest);
    };
    let a = UserProject::new(&mu.trusted, files);
    a.nixpy(mu, ["lock", "--record-paths"]).outcome().success();
    let lock = read_lock(&a.project);
    let shell = lock["store"]["shell"].as_str().unwrap().to_owned();
    let layer = lock["store"]["layer"].as_str().unwrap().to_owned();
    a.nixpy(
        mu,
        [
            "push",
            "--to",
            &format!("{own}?secret-key={}", keys.secret.display()),
        ],
    )
    .outcome()
    .success();
    std::fs::remove_dir_all(a.cache()).unwrap();
    drop_from_store(&[&shell, &layer]);

    let checkout = |user: &str| {
        UserProject::new(user, |project| {
            files(project);
            project.write("nixpy.lock", &a.project.read("nixpy.lock"));
        })
    };
    let b = checkout(&mu.untrusted);
    let out = b.run(mu, import_probe(&token)).outcome();
    out.success()
        .stdout_is("0.1.0\n")
        .stderr_has(&format!(
            "the nix-daemon ignored the substituter {own}: {} is not a trusted user",
            mu.untrusted
        ))
        .stderr_has(&format!(
            "the nix-daemon ignored the binary cache(s) {own} because {} is not a trusted user",
            mu.untrusted
        ))
        .stderr_has(&format!("trusted-substituters = {own}"));
    std::fs::remove_dir_all(b.cache()).unwrap();
    drop_from_store(&[&shell, &layer]);

    let c = checkout(&mu.trusted);
    let out = c.run(mu, import_probe(&token)).outcome();
    out.success()
        .stdout_is("0.1.0\n")
        .stderr_has(&format!("fetching the recorded Nix shell {shell}"))
        .stderr_lacks("building the Nix shell")
        .stderr_lacks("ignored");
}
