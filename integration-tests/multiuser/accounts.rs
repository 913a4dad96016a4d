//! The accounts `scripts/setup-multiuser` made, and running nixpy as one
//! of them against the daemon: `runuser -u USER -- env -i ...`.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::harness::*;

/// What `scripts/setup-multiuser` recorded (`NIXPY_MULTIUSER_ENV`).
#[derive(Debug)]
pub(crate) struct MultiUser {
    pub trusted: String,
    pub untrusted: String,
    pub outsider: String,
    /// A `file://` binary cache the daemon lists in trusted-substituters.
    pub admin_cache: String,
    pub admin_cache_secret_key: PathBuf,
    pub admin_cache_public_key: String,
    /// A world-readable folder holding the nixpy binary under test.
    pub bin: PathBuf,
}

/// The set-up, or `None` (a loud skip) when there is none; under CI a
/// missing set-up fails the test instead.
pub(crate) fn multi_user() -> Option<&'static MultiUser> {
    static SETUP: OnceLock<Option<MultiUser>> = OnceLock::new();
    let setup = SETUP.get_or_init(|| {
        let file = std::env::var_os("NIXPY_MULTIUSER_ENV")?;
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("read {}: {e}", Path::new(&file).display()));
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")))
                .map(|v| v.trim_matches('\'').to_owned())
                .unwrap_or_else(|| panic!("{name} is not in {}", Path::new(&file).display()))
        };
        Some(MultiUser {
            trusted: value("NIXPY_MU_TRUSTED"),
            untrusted: value("NIXPY_MU_UNTRUSTED"),
            outsider: value("NIXPY_MU_OUTSIDER"),
            admin_cache: value("NIXPY_MU_CACHE"),
            admin_cache_secret_key: value("NIXPY_MU_CACHE_SECRET_KEY").into(),
            admin_cache_public_key: value("NIXPY_MU_CACHE_PUBLIC_KEY"),
            bin: nixpy_for_everyone(),
        })
    });
    if setup.is_none() {
        let required = std::env::var_os("CI")
            .is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
            || std::env::var_os("NIXPY_REQUIRE_NIX").is_some();
        assert!(
            !required,
            "the multi-user tests need root and a daemon: run `scripts/setup-multiuser`, then set NIXPY_MULTIUSER_ENV=/run/nixpy-multiuser/env"
        );
        eprintln!(
            "SKIPPED: no multi-user set-up (NIXPY_MULTIUSER_ENV; see scripts/setup-multiuser)"
        );
    }
    setup.as_ref()
}

/// The first line of every test here.
macro_rules! needs_multi_user {
    () => {
        match $crate::accounts::multi_user() {
            Some(mu) => mu,
            None => return,
        }
    };
}
pub(crate) use needs_multi_user;

/// The nixpy binary in a folder every user may reach (the build's own may
/// sit under /root).
fn nixpy_for_everyone() -> PathBuf {
    let dir = temp_dir("nixpy-mu-bin-").keep();
    let binary = Path::new(NIXPY);
    if reachable_by_everyone(binary) {
        std::os::unix::fs::symlink(binary, dir.join("nixpy")).unwrap();
    } else {
        copy_for_everyone(binary, &dir);
    }
    dir
}

/// The client's Nix settings: offline, and nothing a daemon restricts to
/// trusted users (a current daemon warns about those for everyone else;
/// an empty `substituters` is a subset of any trusted list, so allowed).
pub(crate) const CLIENT_NIX_CONFIG: &str =
    "experimental-features = nix-command flakes\nsubstituters =\nflake-registry = /dev/null\n";

/// A project and a nixpy cache of one account's, under /tmp.
pub(crate) struct UserProject {
    pub user: String,
    pub project: Project,
    /// The folder holding the cache, removed with it.
    cache_parent: tempfile::TempDir,
}

impl UserProject {
    /// A project whose files are written by `setup`, then handed to `user`.
    pub(crate) fn new(user: &str, setup: impl FnOnce(&Project)) -> UserProject {
        let project = Project::new();
        setup(&project);
        chown_tree(project.root(), user);
        let cache_parent = temp_dir("nixpy-mu-cache-");
        chown_tree(cache_parent.path(), user);
        UserProject {
            user: user.to_owned(),
            project,
            cache_parent,
        }
    }

    /// The account's cache folder (made by nixpy on first use).
    pub(crate) fn cache(&self) -> PathBuf {
        self.cache_parent.path().join("cache")
    }

    pub(crate) fn root(&self) -> &Path {
        self.project.root()
    }

    /// `nixpy ARGS` as the account, in the project, through the daemon.
    pub(crate) fn nixpy<I, S>(&self, mu: &MultiUser, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.nixpy_in(mu, self.root(), &[], args)
    }

    /// `nixpy ARGS` as the account, in `dir`, with its cache and `env`
    /// (`NAME=value` words, which win over the usual ones).
    pub(crate) fn nixpy_in<I, S>(
        &self,
        mu: &MultiUser,
        dir: &Path,
        env: &[String],
        args: I,
    ) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = as_user(mu, &self.user, dir);
        cmd.arg(format!("NIXPY_CACHE_DIR={}", self.cache().display()))
            .args(env)
            .arg(mu.bin.join("nixpy"))
            .args(args);
        cmd
    }

    /// `nixpy run -- ARGS` as the account.
    pub(crate) fn run<I, S>(&self, mu: &MultiUser, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.nixpy(mu, ["run", "--"]);
        cmd.args(args);
        cmd
    }

    /// `nixpy run -- ARGS` as the account, which must be warm: the output
    /// `expected`, nothing on stderr.
    #[track_caller]
    pub(crate) fn assert_warm<I, S>(&self, mu: &MultiUser, args: I, expected: &str)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let warm = self.run(mu, args).outcome();
        warm.success().stdout_is(expected);
        assert_eq!(warm.stderr, "", "not a warm run");
    }

    /// The cache entry (read as root).
    pub(crate) fn entry(&self) -> serde_json::Value {
        let dir = project_cache_dir(&self.cache(), &self.project);
        let bytes = std::fs::read(dir.join("entry.json")).expect("entry.json");
        serde_json::from_slice(&bytes).unwrap()
    }

    pub(crate) fn entry_str(&self, pointer: &str) -> String {
        self.entry()
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("no {pointer} in the entry"))
            .to_owned()
    }
}

/// `runuser -u USER -- env -i <a login's variables> NIX_REMOTE=daemon`,
/// in `dir`; append more `NAME=value` words, then the program.
pub(crate) fn as_user(mu: &MultiUser, user: &str, dir: &Path) -> Command {
    as_user_with_remote(mu, user, dir, Some("daemon"))
}

/// [`as_user`] with another `NIX_REMOTE`, or none.
pub(crate) fn as_user_with_remote(
    mu: &MultiUser,
    user: &str,
    dir: &Path,
    nix_remote: Option<&str>,
) -> Command {
    let standin = standin();
    let mut cmd = Command::new("runuser");
    cmd.current_dir(dir)
        .args(["-u", user, "--", "env", "-i"])
        .arg(format!(
            "PATH={}:/usr/local/bin:/usr/bin:/bin",
            mu.bin.display()
        ))
        .arg(format!("HOME=/home/{user}"))
        .arg(format!("USER={user}"))
        .arg("LANG=C.UTF-8")
        .args(nix_remote.map(|r| format!("NIX_REMOTE={r}")))
        .arg(format!("NIX_CONFIG={CLIENT_NIX_CONFIG}"))
        .arg(format!("NIXPY_NIXPKGS={}", standin.flake_ref))
        .stdin(Stdio::null());
    cmd
}

/// `chown -R user: path`, and folders searchable by their owner only
/// where they were private already.
pub(crate) fn chown_tree(path: &Path, user: &str) {
    Command::new("chown")
        .args(["-R", &format!("{user}:"), &path.display().to_string()])
        .outcome()
        .success();
}

/// `chmod MODE path` (not recursive).
pub(crate) fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The uid of an account.
pub(crate) fn uid_of(user: &str) -> u32 {
    let out = Command::new("id").args(["-u", user]).outcome();
    out.success().stdout.trim().parse().unwrap()
}

/// `nix-store ARGS` as root, on the local store (the daemon's).
pub(crate) fn root_nix_store<I, S>(args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new("nix-store")
        .args(args)
        .env("NIX_CONFIG", NIX_CONFIG)
        .env_remove("NIX_REMOTE")
        .outcome()
}

/// Whether a garbage collection would keep `path`: `nix-store --delete`
/// refuses a live path (and deletes a dead one, which the caller then
/// reports as a failure).
#[track_caller]
pub(crate) fn assert_rooted(path: &str) {
    let out = root_nix_store(["--delete", path]);
    assert!(
        !out.status.success() && Path::new(path).exists(),
        "{path} was not protected from garbage collection:\n{}",
        out.stderr
    );
}

/// A project with a Nix package and a pip layer of its own (a unique
/// nix-file and wheel), so its store paths are shared with no other test.
pub(crate) fn own_project(token: &str) -> impl FnOnce(&Project) + '_ {
    move |project: &Project| {
        own_nix_files(project, token);
        let module = module_of(token);
        add_wheel(project, &module, "0.1.0");
        project.write("requirements.txt", &local_requirements(&[&module]));
    }
}

/// A manifest with a Nix package and a nix-file of its own (a store file
/// named after `token`), so the shell is shared with no other test.
pub(crate) fn own_nix_files(project: &Project, token: &str) {
    project.write(
        "nixpy.toml",
        "packages = [\"hello\"]\nnix-files = [\"nix/unique.nix\"]\n",
    );
    project.write(
        "nix/unique.nix",
        &format!("[ (builtins.toFile \"nixpy-mu-{token}\" \"{token}\") ]\n"),
    );
}

/// The Python module of [`own_project`]'s wheel.
pub(crate) fn module_of(token: &str) -> String {
    token.replace('-', "_")
}

/// `python -c "import M; print(M.VERSION)"`.
pub(crate) fn import_probe(token: &str) -> [String; 3] {
    let module = module_of(token);
    [
        "python".into(),
        "-c".into(),
        format!("import {module}; print({module}.VERSION)"),
    ]
}
