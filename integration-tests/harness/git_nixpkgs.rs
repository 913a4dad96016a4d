//! A copy of the offline stand-in that is a git repository: its pin has a
//! revision and a date, and a new commit is a newer nixpkgs (for upgrades
//! and for what is kept per revision).

use super::*;

/// A copy of the stand-in that is a git repository, so its pin has a
/// revision and a date, and a new commit is a newer nixpkgs.
pub(crate) struct GitNixpkgs {
    dir: tempfile::TempDir,
}

impl GitNixpkgs {
    pub(crate) fn new() -> GitNixpkgs {
        let dir = temp_dir("nixpy-it-git-nixpkgs-");
        for entry in std::fs::read_dir(&standin().dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
            }
        }
        let repo = GitNixpkgs { dir };
        repo.git(&["init", "-q"]);
        repo.commit("2026-01-15T12:00:00Z");
        repo
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
        let out = self.git_command(args).outcome();
        out.success();
        out.stdout
    }

    /// `git ARGS` in the repository, as a test identity.
    fn git_command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new("git");
        command
            .arg("-C")
            .arg(self.dir.path())
            .args([
                "-c",
                "user.name=nixpy tests",
                "-c",
                "user.email=tests@nixpy.invalid",
            ])
            .args(args);
        command
    }

    /// Commits the folder as it is, dated `date`; returns the revision.
    pub(crate) fn commit(&self, date: &str) -> String {
        self.git(&["add", "-A"]);
        self.git_command(&["commit", "-q", "--allow-empty", "-m", "nixpkgs"])
            .env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_DATE", date)
            .outcome()
            .success();
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// A newer nixpkgs: `hello` at another version.
    pub(crate) fn bump_hello(&self, version: &str, date: &str) -> String {
        let pkgs = self.dir.path().join("pkgs.nix");
        let text = std::fs::read_to_string(&pkgs).unwrap();
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("hello = tool "))
            .expect("the stand-in has hello")
            .to_owned();
        let bumped = format!("  hello = tool \"hello\" \"{version}\";");
        std::fs::write(&pkgs, text.replace(&line, &bumped)).unwrap();
        self.commit(date)
    }

    pub(crate) fn flake_ref(&self) -> String {
        format!("git+file://{}", self.dir.path().display())
    }
}
