//! Sharing environments through a binary cache (issue 6): two machines on
//! one. Machine A builds, records the store paths in nixpy.lock and pushes
//! them to a `file://` cache; machine B has its own nixpy cache, none of the
//! store paths, no wheels and no permission to build, and fetches both
//! layers from the cache. Also `nixpy cache-key`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::*;

/// Machine A's project: system packages, Nix Python packages and a pip
/// layer from a local wheel. A nix-file adds a store file named after the
/// project folder, so this project's shell environment is a store path no
/// other test shares (and `nix-store --delete` can remove it); the wheel
/// carries the same token, so the layer is this test's own too.
struct MachineA {
    project: Project,
    /// A's nixpy cache, removed when machine B takes over.
    cache: tempfile::TempDir,
    token: String,
}

impl MachineA {
    fn new() -> MachineA {
        let project = Project::new();
        let token = project
            .root()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        project.write(
            "nixpy.toml",
            "packages = [\"hello\"]\npython-packages = [\"six\"]\nnix-files = [\"nix/unique.nix\"]\n",
        );
        project.write(
            "nix/unique.nix",
            &format!("[ (builtins.toFile \"nixpy-it-unique-{token}\" \"{token}\") ]\n"),
        );
        let wheels = project.mkdir("wheels");
        make_wheel(
            &wheels,
            "cached-pkg",
            "1.0",
            &["six"],
            &[("cached_pkg/__init__.py", &format!("TOKEN = {token:?}\n"))],
            &[],
        );
        project.write("requirements.txt", &local_requirements(&["cached-pkg"]));
        MachineA {
            project,
            cache: temp_dir("nixpy-it-cache-a-"),
            token,
        }
    }

    /// nixpy on machine A.
    fn nixpy(&self) -> Command {
        let mut cmd = nixpy(&self.project);
        cmd.env("NIXPY_CACHE_DIR", self.cache.path());
        cmd
    }

    /// `[store].dists` of the lock: the layer's distributions.
    fn recorded_dists(&self) -> Vec<String> {
        let lock = read_lock(&self.project);
        lock["store"]["dists"]
            .as_array()
            .unwrap_or_else(|| panic!("nixpy.lock has no [store].dists:\n{lock}"))
            .iter()
            .map(|d| d.as_str().unwrap().to_owned())
            .collect()
    }

    /// `nixpy lock --record-paths`; returns (shell, layer) from the lock.
    fn record_paths(&self) -> (String, String) {
        self.nixpy()
            .args(["lock", "--record-paths"])
            .outcome()
            .success();
        let lock = read_lock(&self.project);
        let store = &lock["store"];
        let path = |key: &str| {
            store
                .get(key)
                .and_then(|v| v.as_str())
                .unwrap_or_else(|| panic!("nixpy.lock has no [store].{key}:\n{lock}"))
                .to_owned()
        };
        let (shell_env, layer) = (path("shell"), path("layer"));
        assert!(
            is_store_path(&shell_env, "nixpy-shell.json"),
            "[store].shell = {shell_env:?}"
        );
        assert!(
            is_store_path(&layer, "nixpy-layer"),
            "[store].layer = {layer:?}"
        );
        (shell_env, layer)
    }

    /// `nixpy run -- true` with a nixpy cache of its own (no entry to reuse).
    fn run_with_a_fresh_cache(&self) -> Outcome {
        let fresh = temp_dir("nixpy-it-cache-c-");
        self.nixpy()
            .env("NIXPY_CACHE_DIR", fresh.path())
            .args(["run", "--", "true"])
            .outcome()
    }

    /// `nixpy push --to file://DIR?secret-key=KEY`.
    fn push(&self, cache: &Path, keys: &Keys) -> Outcome {
        let uri = format!(
            "file://{}?secret-key={}",
            cache.display(),
            keys.secret.display()
        );
        self.nixpy().args(["push", "--to", &uri]).outcome()
    }

    /// Machine B takes over: A's nixpy cache (its GC roots) is gone, the
    /// recorded store paths (and the layer's distributions) are deleted,
    /// and so are the wheels.
    fn hand_over(&self, paths: &[&str]) {
        let dists = self.recorded_dists();
        std::fs::remove_dir_all(self.cache.path()).unwrap();
        let mut paths: Vec<&str> = paths.to_vec();
        paths.extend(dists.iter().map(String::as_str));
        Command::new("nix-store")
            .arg("--delete")
            .args(&paths)
            .env("NIX_CONFIG", NIX_CONFIG)
            .outcome()
            .success();
        for path in paths {
            assert!(!Path::new(path).exists(), "{path} is still in the store");
        }
        std::fs::remove_dir_all(self.project.path("wheels")).unwrap();
    }
}

/// A signing key pair for the binary cache.
struct Keys {
    _dir: tempfile::TempDir,
    secret: PathBuf,
    public: String,
}

fn generate_keys() -> Keys {
    let dir = temp_dir("nixpy-it-keys-");
    let (secret, public) = (dir.path().join("sec"), dir.path().join("pub"));
    Command::new("nix-store")
        .arg("--generate-binary-cache-key")
        .arg("nixpy-it-cache")
        .arg(&secret)
        .arg(&public)
        .outcome()
        .success();
    let public = std::fs::read_to_string(&public).unwrap().trim().to_owned();
    Keys {
        _dir: dir,
        secret,
        public,
    }
}

/// `<hash>.narinfo` of a store path, in a binary cache folder.
fn narinfo(cache: &Path, store_path: &str) -> PathBuf {
    let hash = &store_path["/nix/store/".len()..][..32];
    cache.join(format!("{hash}.narinfo"))
}

/// nixpy on machine B: a fresh nixpy cache, the binary cache as a
/// substituter, and builds forbidden.
fn machine_b(project: &Project, b_cache: &Path, binary_cache: &Path, keys: &Keys) -> Command {
    let mut cmd = nixpy(project);
    cmd.env("NIXPY_CACHE_DIR", b_cache)
        .env("NIX_CONFIG", format!("{NIX_CONFIG}max-jobs = 0\n"))
        .arg("--substituter")
        .arg(format!("file://{}", binary_cache.display()))
        .arg("--trusted-public-key")
        .arg(&keys.public);
    cmd
}

/// The NIXPY_* variables nixpy sets, VIRTUAL_ENV and PATH, from `env`
/// output, with the machine's nixpy cache folder (where the project
/// interpreter lives, different on each machine by design) as `<cache>`.
fn fingerprint_vars(env_output: &str, cache: &Path) -> BTreeMap<String, String> {
    let cache = cache.display().to_string();
    env_output
        .lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(name, _)| {
            (name.starts_with("NIXPY_") && *name != "NIXPY_CACHE_DIR")
                || *name == "PATH"
                || *name == "VIRTUAL_ENV"
        })
        .map(|(n, v)| (n.to_owned(), v.replace(&cache, "<cache>")))
        .collect()
}

#[test]
fn another_machine_fetches_both_layers_from_the_cache() {
    needs_nix!();
    let a = MachineA::new();
    let (shell_env, layer) = a.record_paths();
    let env_a = a.nixpy().args(["run", "--", "env"]).outcome();
    let env_a = fingerprint_vars(&env_a.success().stdout, a.cache.path());
    assert_eq!(env_a.get("NIXPY_LAYER"), Some(&layer), "{env_a:?}");
    let dists = a.recorded_dists();
    assert_eq!(dists.len(), 1, "{dists:?}");
    assert!(
        is_store_path(&dists[0], "nixpy-dist-cached-pkg-1.0"),
        "{dists:?}"
    );

    let keys = generate_keys();
    let binary_cache_dir = temp_dir("nixpy-it-binary-cache-");
    let binary_cache = binary_cache_dir.path().join("cache");
    let pushed = a.push(&binary_cache, &keys);
    pushed
        .success()
        .stdout_has(&format!("shell environment  {shell_env}"))
        .stdout_has(&format!("pip layer          {layer}"))
        .stdout_has(&format!("distribution     {}", dists[0]));
    assert!(binary_cache.join("nix-cache-info").is_file());
    for path in [&shell_env, &layer, &dists[0]] {
        assert!(
            narinfo(&binary_cache, path).is_file(),
            "the cache has no narinfo for {path}"
        );
    }

    a.hand_over(&[&shell_env, &layer]);
    let b_cache = temp_dir("nixpy-it-cache-b-");
    let code = "import json, os, cached_pkg, six; print(json.dumps([cached_pkg.TOKEN, os.environ['NIXPY_LAYER'], six.__version__]))";
    let out = machine_b(&a.project, b_cache.path(), &binary_cache, &keys)
        .args(["run", "--offline", "--", "python", "-c", code])
        .outcome();
    let v = out
        .success()
        .stderr_has(&format!("fetching the recorded Nix shell {shell_env}"))
        .stderr_has(&format!("fetching the recorded pip layer {layer}"))
        .stderr_lacks("building the Nix shell")
        .stderr_lacks("installing")
        .stderr_lacks("resolving")
        .json();
    assert_eq!(v, serde_json::json!([a.token, layer, "1.16.0"]));
    assert!(Path::new(&shell_env).exists() && Path::new(&layer).exists());
    assert!(
        Path::new(&dists[0]).exists(),
        "the distribution was fetched too"
    );

    // The same environment as on machine A.
    let env_b = machine_b(&a.project, b_cache.path(), &binary_cache, &keys)
        .args(["run", "--offline", "--", "env"])
        .outcome();
    assert_eq!(
        fingerprint_vars(&env_b.success().stdout, b_cache.path()),
        env_a
    );
}

/// Machine A records and pushes; machine B runs `run --locked --offline`
/// in a checkout of the same files in another folder (as CI does).
/// Returns B's outcome and the recorded (shell, layer).
fn run_in_another_checkout() -> (Outcome, String, String) {
    let a = MachineA::new();
    let (shell_env, layer) = a.record_paths();
    let keys = generate_keys();
    let binary_cache_dir = temp_dir("nixpy-it-binary-cache-");
    let binary_cache = binary_cache_dir.path().join("cache");
    a.push(&binary_cache, &keys).success();
    a.hand_over(&[&shell_env, &layer]);

    let checkout = Project::new();
    for rel in [
        "nixpy.toml",
        "requirements.txt",
        "nixpy.lock",
        "nix/unique.nix",
    ] {
        checkout.write(rel, &a.project.read(rel));
    }
    let b_cache = temp_dir("nixpy-it-cache-b-");
    let code = "import os, cached_pkg; print(os.environ['NIXPY_LAYER'])";
    let out = machine_b(&checkout, b_cache.path(), &binary_cache, &keys)
        .args(["run", "--locked", "--offline", "--", "python", "-c", code])
        .outcome();
    (out, shell_env, layer)
}

#[test]
fn another_machine_with_the_project_in_another_folder_fetches_the_layer() {
    needs_nix!();
    let (out, _, layer) = run_in_another_checkout();
    out.success()
        .stdout_is(&format!("{layer}\n"))
        .stderr_has(&format!("fetching the recorded pip layer {layer}"))
        .stderr_lacks("resolving")
        .stderr_lacks("installing");
}

#[test]
fn another_machine_with_the_project_in_another_folder_fetches_the_shell() {
    needs_nix!();
    let (out, shell_env, _) = run_in_another_checkout();
    out.success()
        .stderr_has(&format!("fetching the recorded Nix shell {shell_env}"))
        .stderr_lacks("building the Nix shell");
}

#[test]
fn a_path_the_cache_lacks_is_named_when_it_cannot_be_built() {
    needs_nix!();
    let a = MachineA::new();
    let (shell_env, layer) = a.record_paths();
    let keys = generate_keys();
    let binary_cache_dir = temp_dir("nixpy-it-binary-cache-");
    let binary_cache = binary_cache_dir.path().join("cache");
    a.push(&binary_cache, &keys).success();
    // This cache lost the layer.
    std::fs::remove_file(narinfo(&binary_cache, &layer)).unwrap();

    a.hand_over(&[&shell_env, &layer]);
    let b_cache = temp_dir("nixpy-it-cache-b-");
    let out = machine_b(&a.project, b_cache.path(), &binary_cache, &keys)
        .args([
            "run",
            "--offline",
            "--",
            "python",
            "-c",
            "import cached_pkg",
        ])
        .outcome();
    // The layer is named; pip's own complaint (no wheels) follows.
    out.nixpy_error()
        .stderr_has(&format!("{layer} is not in the store or any substituter"))
        .stderr_has("failed to install the pip layer");
    assert!(!Path::new(&layer).exists());
}

#[test]
fn cache_key_follows_the_contents_of_the_inputs() {
    // Computed without Nix, so this runs everywhere.
    let project = Project::new().file("nixpy.toml", "packages = [\"hello\"]\n");
    project.write("requirements.txt", "--no-index\npkga==1.0\n");
    let key = || {
        let out = nixpy(&project).arg("cache-key").outcome();
        let key = out.success().stdout.trim().to_owned();
        assert!(
            !key.is_empty() && !key.contains(char::is_whitespace),
            "{key:?}"
        );
        key
    };
    let first = key();
    assert_eq!(key(), first, "the key is stable");

    // Touched, not changed: the same key.
    let file = std::fs::File::options()
        .append(true)
        .open(project.path("requirements.txt"))
        .unwrap();
    file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(3600))
        .unwrap();
    drop(file);
    assert_eq!(key(), first, "touching requirements.txt changed the key");

    project.write("requirements.txt", "--no-index\npkga==2.0\n");
    let changed = key();
    assert_ne!(changed, first, "a new requirement must change the key");

    // Back to the old contents: the old key.
    project.write("requirements.txt", "--no-index\npkga==1.0\n");
    assert_eq!(key(), first);

    // An included file counts too.
    project.write("requirements.txt", "--no-index\n-r more.txt\n");
    project.write("more.txt", "pkga==1.0\n");
    let with_include = key();
    project.write("more.txt", "pkga==2.0\n");
    assert_ne!(
        key(),
        with_include,
        "a changed included file must change the key"
    );

    // nixpkgs reads NIXPKGS_ALLOW_* itself: they are inputs too.
    let plain = key();
    let allowed = nixpy(&project)
        .arg("cache-key")
        .env("NIXPKGS_ALLOW_UNFREE", "1")
        .outcome();
    assert_ne!(allowed.success().stdout.trim(), plain);
}

/// Issue 14: a machine whose Nix derives another shell file for the same
/// inputs (simulated: the lock records a path nobody has) keeps the lock
/// as it is, builds its own, and says so naming both paths.
#[test]
fn a_machine_deriving_another_shell_keeps_the_record_and_says_so() {
    needs_nix!();
    let a = MachineA::new();
    let (shell, _) = a.record_paths();
    let elsewhere = "/nix/store/00000000000000000000000000000000-nixpy-shell.json";
    let lock = a.project.read("nixpy.lock").replace(&shell, elsewhere);
    a.project.write("nixpy.lock", &lock);
    let out = a.run_with_a_fresh_cache();
    out.success()
        .stderr_has(&format!("nixpy.lock records the shell {elsewhere}"))
        .stderr_has(&format!("this machine built {shell}"))
        .stderr_has("nixpy lock --record-paths");
    assert_eq!(a.project.read("nixpy.lock"), lock, "[store] was rewritten");
    // Its push says other machines will look for the recorded one.
    let keys = generate_keys();
    let binary_cache_dir = temp_dir("nixpy-it-binary-cache-");
    let pushed = a.push(&binary_cache_dir.path().join("cache"), &keys);
    pushed
        .success()
        .stderr_has(&format!("nixpy.lock records the shell {elsewhere}"));
    // Asked to, it records its own.
    a.nixpy()
        .args(["lock", "--record-paths"])
        .outcome()
        .success();
    assert!(a.project.read("nixpy.lock").contains(&shell));
}

/// `lock --check` compares [store] by its keys: exact on any machine.
#[test]
fn lock_check_fails_when_the_recorded_paths_are_for_other_inputs() {
    needs_nix!();
    let a = MachineA::new();
    a.record_paths();
    a.nixpy().args(["lock", "--check"]).outcome().success();
    // The inputs move on in a run that may not write the lock.
    a.project.write(
        "nixpy.toml",
        "packages = [\"hello\", \"jq\"]\npython-packages = [\"six\"]\nnix-files = [\"nix/unique.nix\"]\n",
    );
    let locked = a.nixpy().args(["run", "--locked", "--", "true"]).outcome();
    locked.success();
    let check = a.nixpy().args(["lock", "--check"]).outcome();
    check
        .nixpy_error()
        .stderr_has("nixpy.lock records the store paths of the shell for other inputs")
        .stderr_has("nixpy lock");
    // `nixpy lock` brings the record up to date (the environment is
    // cached, so nothing is built again), and then the check passes.
    let lock = a.nixpy().arg("lock").outcome();
    lock.success().stderr_lacks("building the Nix shell");
    a.nixpy().args(["lock", "--check"]).outcome().success();
}

/// A lock recorded by nixpy before lock format 2 (Nix's own environment
/// file, which differs between Nix versions) is recorded again.
#[test]
fn a_format_1_record_is_recorded_again() {
    needs_nix!();
    let a = MachineA::new();
    let (shell, _) = a.record_paths();
    // Format 1 had neither `shell` nor the layer's `dists`.
    let recorded = a.project.read("nixpy.lock");
    let dists_at = recorded.find("dists = [").expect("[store].dists");
    let dists_end = dists_at + recorded[dists_at..].find(']').unwrap() + 1;
    let old = format!("{}{}", &recorded[..dists_at], &recorded[dists_end..])
        .replace("version = 3", "version = 1")
        .replace(
            &format!("shell = \"{shell}\""),
            "shell-env = \"/nix/store/00000000000000000000000000000000-nixpy-shell-env\"",
        );
    a.project.write("nixpy.lock", &old);
    let check = a.nixpy().args(["lock", "--check"]).outcome();
    check.nixpy_error().stderr_has("lock format 1");
    let out = a.run_with_a_fresh_cache();
    out.success().stderr_has("before lock format 2");
    let lock = read_lock(&a.project);
    assert_eq!(lock["version"].as_integer(), Some(3), "{lock}");
    assert_eq!(lock["store"]["shell"].as_str(), Some(shell.as_str()));
    assert!(lock["store"].get("shell-env").is_none(), "{lock}");
}
