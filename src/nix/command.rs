//! Running the `nix` CLI: locking the generated flake, building its shell,
//! rooting store paths. Flags are the ones Nix 2.8 and 2.3x both accept.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::access;
use super::build_plan;
use super::explain::{explain_failure, last_lines, NixFailure};
use super::literal::string_literal;
use super::store;
use crate::error::{Error, Result};
use crate::support::process;
use crate::ui;

/// Turns on the commands nixpy uses, for one call (no configuration needed).
pub(crate) const FEATURES: [&str; 2] = ["--extra-experimental-features", "nix-command flakes"];

pub(crate) struct Nix {
    pub program: PathBuf,
    nix_store: PathBuf,
    /// Options for every Nix call (extra substituters and their keys).
    options: Vec<OsString>,
    /// The substituters nixpy was asked to use (`--substituter`).
    pub(super) substituter_urls: Vec<String>,
}

/// Binary caches to use besides the configured ones (`--substituter`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Substituters {
    pub urls: Vec<String>,
    pub trusted_public_keys: Vec<String>,
}

impl Substituters {
    /// These and the project's own (`substituters`, `trusted-public-keys`).
    pub(crate) fn with_project(&self, urls: &[String], keys: &[String]) -> Substituters {
        let mut all = self.clone();
        for url in urls {
            if !all.urls.contains(url) {
                all.urls.push(url.clone());
            }
        }
        for key in keys {
            if !all.trusted_public_keys.contains(key) {
                all.trusted_public_keys.push(key.clone());
            }
        }
        all
    }

    fn options(&self) -> Vec<OsString> {
        let mut options = Vec::new();
        if !self.urls.is_empty() {
            options.extend(["--extra-substituters".into(), self.urls.join(" ").into()]);
        }
        if !self.trusted_public_keys.is_empty() {
            options.extend([
                "--extra-trusted-public-keys".into(),
                self.trusted_public_keys.join(" ").into(),
            ]);
        }
        options
    }
}

/// What identifies the Nix in use for the fingerprint, without running it:
/// its resolved path (a versioned store path on NixOS) and file stat.
pub(crate) fn identity() -> Option<String> {
    // Store folders on PATH come from a nixpy environment (`nixpy shell`,
    // direnv): a project listing `nix` must not make inside and outside
    // runs see two Nix binaries and rebuild each other's environment.
    let path = std::env::var_os("PATH")?;
    let outside: Vec<std::path::PathBuf> = std::env::split_paths(&path)
        .filter(|dir| !store::is_under_store(dir))
        .collect();
    let outside = std::env::join_paths(outside).ok()?;
    let program = which::which_in("nix", Some(outside), "/").ok()?;
    let real = program.canonicalize().unwrap_or(program);
    let stat = crate::support::fingerprint::Stat::of(&real)?;
    Some(format!(
        "{}:{}:{}",
        real.display(),
        stat.size,
        stat.mtime_ns
    ))
}

pub(crate) fn not_installed() -> Error {
    Error::new("Nix is not installed (no `nix` on PATH)").with_hint(
        "install it with your distribution's package (Debian/Ubuntu: `sudo apt-get install nix-bin`) \
         or the upstream installer from https://nixos.org/download, then open a new shell",
    )
}

/// A built shell: `print-dev-env --json`, and the binary caches Nix
/// ignored because the user is not trusted by the daemon.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub json: String,
    pub ignored_substituters: Vec<String>,
}

/// One name's status in a package set (the template's `names`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub(crate) struct NameStatus {
    /// `ok`, `unknown` or `removed`.
    pub status: String,
    /// How many steps of the path exist (for `removed`: the one that
    /// throws is the next).
    #[serde(default)]
    pub depth: usize,
    /// For a name that is not `ok`: the names beside it.
    #[serde(default)]
    pub siblings: Vec<String>,
}

/// Output of one Nix command.
pub(super) struct Captured {
    pub(super) stdout: String,
    pub(super) stderr: String,
}

impl Nix {
    pub(crate) fn locate(substituters: &Substituters) -> Result<Nix> {
        let program = which::which("nix").map_err(|_| not_installed())?;
        // nix-store sits beside nix; `nix-store` flags are stable across versions.
        let beside = program.with_file_name("nix-store");
        let nix_store = if beside.exists() {
            beside
        } else {
            PathBuf::from("nix-store")
        };
        Ok(Nix {
            program,
            nix_store,
            options: substituters.options(),
            substituter_urls: substituters.urls.clone(),
        })
    }

    pub(super) fn run(
        &self,
        what: &str,
        args: &[OsString],
    ) -> Result<std::result::Result<Captured, Captured>> {
        self.run_program(&self.program, what, &self.nix_args(args))
    }

    /// `args` of a `nix` call, after the features and options every call has.
    fn nix_args(&self, args: &[OsString]) -> Vec<OsString> {
        let mut full: Vec<OsString> = FEATURES.iter().map(OsString::from).collect();
        full.extend(self.options.iter().cloned());
        full.extend(args.iter().cloned());
        full
    }

    pub(super) fn run_store(
        &self,
        what: &str,
        args: &[OsString],
    ) -> Result<std::result::Result<Captured, Captured>> {
        let mut full: Vec<OsString> = args.to_vec();
        full.extend(self.options.iter().cloned());
        self.run_program(&self.nix_store, what, &full)
    }

    fn run_program(
        &self,
        program: &Path,
        what: &str,
        full: &[OsString],
    ) -> Result<std::result::Result<Captured, Captured>> {
        show_command(program, full);
        let output = process::capture(duct::cmd(program, full))
            .map_err(|e| Error::new(format!("cannot run {} to {what}: {e}", program.display())))?;
        let captured = Captured {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        Ok(if output.status.success() {
            Ok(captured)
        } else {
            Err(captured)
        })
    }

    /// Locks the flake in `dir` (writing its flake.lock) and returns the
    /// `nixpkgs` lock node.
    pub(crate) fn lock_flake(&self, dir: &Path) -> Result<serde_json::Value> {
        let flake_ref = path_ref(dir);
        let args = vec!["flake".into(), "lock".into(), flake_ref];
        if let Err(out) = self.run("lock nixpkgs", &args)? {
            return Err(explain_failure("resolving the nixpkgs input", &out.stderr));
        }
        let lock_path = dir.join("flake.lock");
        let text =
            std::fs::read_to_string(&lock_path).map_err(|e| Error::io("read", &lock_path, e))?;
        let lock: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::new(format!(
                "Nix wrote an unreadable {}: {e}",
                lock_path.display()
            ))
        })?;
        lock.pointer("/nodes/nixpkgs")
            .cloned()
            .ok_or_else(|| Error::new(format!("{} has no nixpkgs node", lock_path.display())))
    }

    /// Builds the shell and returns `print-dev-env --json`. `profile` becomes
    /// a GC root for the environment (Nix registers profiles as roots). A
    /// failure is returned for the caller to explain: it knows the project.
    pub(crate) fn print_dev_env(
        &self,
        dir: &Path,
        fragment: &str,
        profile: &Path,
    ) -> Result<std::result::Result<Built, NixFailure>> {
        let args: Vec<OsString> = vec![
            "print-dev-env".into(),
            "--json".into(),
            // nix-files are imported by absolute path; nixpy fingerprints them.
            "--impure".into(),
            // nixpy's markers for a listed package travel as error context,
            // which Nix prints only with a trace.
            "--show-trace".into(),
            "--no-write-lock-file".into(),
            "--profile".into(),
            profile.into(),
            installable(dir, fragment),
        ];
        let mut attempt = 1;
        loop {
            match self.run("build the shell", &args)? {
                Ok(out) => {
                    return Ok(Ok(Built {
                        ignored_substituters: access::ignored_substituters(&out.stderr),
                        json: out.stdout,
                    }))
                }
                // A builder killed from outside (seen with concurrent
                // daemon-less Nix processes, and with the OOM killer) is
                // worth another try; a build that failed by itself is not.
                Err(out) if attempt < MAX_ATTEMPTS && was_killed(&out.stderr) => {
                    ui::status(&format!(
                        "a Nix builder was killed from outside; trying again ({attempt}/{})",
                        MAX_ATTEMPTS - 1
                    ));
                    attempt += 1;
                }
                Err(out) => return Ok(Err(NixFailure::new("building the Nix shell", &out.stderr))),
            }
        }
    }

    /// The derivations building `fragment` of the flake in `dir` would
    /// build (what no substituter has), without building anything. Empty
    /// when Nix cannot tell (the build will say why).
    pub(crate) fn would_build(&self, dir: &Path, fragment: &str) -> Result<Vec<String>> {
        let args: Vec<OsString> = vec![
            "build".into(),
            "--dry-run".into(),
            "--impure".into(),
            "--no-link".into(),
            "--no-write-lock-file".into(),
            installable(dir, fragment),
        ];
        Ok(match self.run("plan the build", &args)? {
            Ok(out) => build_plan::derivations_to_build(&out.stderr)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            Err(_) => Vec::new(),
        })
    }

    /// The status of each attribute path in the generated flake's package
    /// set (`set` is "nixpkgs" or "python"), through the template's own
    /// step-by-step lookup.
    pub(crate) fn names(
        &self,
        dir: &Path,
        set: &str,
        paths: &[Vec<String>],
    ) -> Result<Vec<NameStatus>> {
        let expr = format!(
            "(builtins.getFlake {flake}).{output} {set} (builtins.fromJSON {paths})",
            flake = string_literal(&path_ref(dir).to_string_lossy()),
            output = crate::flake::NAMES_OUTPUT,
            set = string_literal(set),
            paths = string_literal(&serde_json::to_string(paths).expect("json")),
        );
        let value = self.eval_json("look names up", &expr)?;
        serde_json::from_value(value).map_err(|e| {
            Error::new(format!(
                "unexpected answer of the template's name lookup: {e}"
            ))
        })
    }

    /// The store path of the flake's nixpkgs input (already fetched).
    pub(crate) fn nixpkgs_source(&self, dir: &Path) -> Result<Option<String>> {
        let args = vec![
            "flake".into(),
            "archive".into(),
            "--json".into(),
            "--dry-run".into(),
            path_ref(dir),
        ];
        let Ok(out) = self.run("find the nixpkgs source", &args)? else {
            return Ok(None);
        };
        let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
        Ok(json
            .pointer("/inputs/nixpkgs/path")
            .and_then(|p| p.as_str())
            .map(str::to_owned))
    }

    /// Writes `text` into the store as a text file named `name` that
    /// references `references` (store paths that are here), and returns its
    /// store path: content-addressed (`text:sha256`), the same for every
    /// user and Nix version. Not rooted yet: see [`Nix::add_rooted`].
    pub(crate) fn write_text_file(
        &self,
        name: &str,
        text: &str,
        references: &[&str],
    ) -> Result<String> {
        // `builtins.storePath` gives the string a context naming the path
        // (refused unless it is valid); an empty substring of it carries
        // that context into the file as references, adding no text.
        let refs: Vec<String> = references.iter().map(|r| string_literal(r)).collect();
        let expr = format!(
            "builtins.toFile {} ({} + builtins.substring 0 0 (toString (map builtins.storePath [ {} ])))",
            string_literal(name),
            string_literal(text),
            refs.join(" ")
        );
        let args: Vec<OsString> = vec![
            "eval".into(),
            "--raw".into(),
            "--impure".into(),
            "--expr".into(),
            expr.into(),
        ];
        match self.run("write the shell file", &args)? {
            Ok(out) if super::is_store_path(out.stdout.trim()) => Ok(out.stdout.trim().to_owned()),
            Ok(out) => Err(Error::new(format!(
                "unexpected output of `nix eval` while writing {name} to the store: {:?}",
                out.stdout
            ))),
            Err(out) => Err(explain_failure(
                &format!("writing {name} to the store"),
                &out.stderr,
            )),
        }
    }

    /// The store paths `store_path` references.
    pub(crate) fn references(&self, store_path: &str) -> Result<Vec<String>> {
        let args: Vec<OsString> = vec!["--query".into(), "--references".into(), store_path.into()];
        match self.run_store("list references", &args)? {
            Ok(out) => Ok(out.stdout.lines().map(str::to_owned).collect()),
            Err(out) => Err(explain_failure(
                &format!("listing the references of {store_path}"),
                &out.stderr,
            )),
        }
    }

    /// The version of this Nix (`2.18.1`), from `nix --version`.
    pub(crate) fn version(&self) -> Option<String> {
        let args: Vec<OsString> = vec!["--version".into()];
        let out = self
            .run_program(&self.program, "ask its version", &args)
            .ok()?
            .ok()?;
        out.stdout.split_whitespace().last().map(str::to_owned)
    }

    /// Adds finished folders to the store, content-addressed, read-only,
    /// each named after its folder, in one call (`nix-store --add`, stable
    /// and many paths at once in every Nix version). Returns their store
    /// paths in the order given.
    pub(crate) fn add_folders(&self, dirs: &[&Path]) -> Result<Vec<String>> {
        let mut args: Vec<OsString> = vec!["--add".into()];
        args.extend(dirs.iter().map(|d| d.as_os_str().to_owned()));
        let out = match self.run_store("add to the store", &args)? {
            Ok(out) => out,
            Err(out) => {
                return Err(Error::new(format!(
                    "Nix could not add {} folder(s) to the store:\n{}",
                    dirs.len(),
                    last_lines(&out.stderr, 10)
                ))
                .with_hint("check that the Nix store is writable (`nixpy doctor`)"))
            }
        };
        let paths: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
        if paths.len() != dirs.len() {
            return Err(Error::new(format!(
                "nix-store --add printed {} path(s) for {} folder(s)",
                paths.len(),
                dirs.len()
            )));
        }
        Ok(paths)
    }

    /// Those of `paths` that are not valid in the store.
    pub(crate) fn invalid_paths(&self, paths: &[String]) -> Result<Vec<String>> {
        let mut args: Vec<OsString> = vec!["--check-validity".into(), "--print-invalid".into()];
        args.extend(paths.iter().map(OsString::from));
        match self.run_store("check store paths", &args)? {
            Ok(out) => Ok(out.stdout.lines().map(str::to_owned).collect()),
            Err(out) => Err(Error::new(format!(
                "nix-store --check-validity failed:\n{}",
                last_lines(&out.stderr, 5)
            ))),
        }
    }

    /// Deletes those of `paths` that nothing keeps alive any more (no GC
    /// root, no referrer); the others stay. Returns the deleted ones.
    /// Never a garbage collection: only the paths named.
    pub(crate) fn delete_unused(&self, paths: &[String]) -> Vec<String> {
        let mut left: Vec<String> = paths.to_vec();
        // Nix refuses the whole call when one path is still alive, naming
        // it: leave that one out and try again.
        while !left.is_empty() {
            let mut args: Vec<OsString> = vec!["--delete".into()];
            args.extend(left.iter().map(OsString::from));
            match self.run_store("delete store paths", &args) {
                Ok(Ok(_)) => return left,
                Ok(Err(out)) => {
                    let alive = left.iter().position(|p| {
                        out.stderr
                            .contains(&format!("'{p}' since it is still alive"))
                    });
                    match alive {
                        Some(i) => {
                            left.remove(i);
                        }
                        None => {
                            tracing::debug!("nix-store --delete: {}", out.stderr.trim());
                            return Vec::new();
                        }
                    }
                }
                Err(_) => return Vec::new(),
            }
        }
        left
    }

    /// Evaluates a Nix expression (impure: it reads the generated flake by
    /// path) and returns its JSON value.
    pub(crate) fn eval_json(&self, what: &str, expr: &str) -> Result<serde_json::Value> {
        let args = eval_args(expr);
        match self.run(what, &args)? {
            Ok(out) => parse_eval_json(what, out.stdout.as_bytes()),
            Err(out) => Err(explain_failure(what, &out.stderr)),
        }
    }

    /// [`Nix::eval_json`] for a long evaluation: each line Nix writes to
    /// stderr meanwhile (`builtins.trace` output) goes to `on_line` as it
    /// comes, for progress.
    pub(crate) fn eval_json_reporting(
        &self,
        what: &str,
        expr: &str,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<serde_json::Value> {
        use std::io::{BufRead, Read};
        let full = self.nix_args(&eval_args(expr));
        show_command(&self.program, &full);
        let cannot_run = |e: std::io::Error| {
            Error::new(format!(
                "cannot run {} to {what}: {e}",
                self.program.display()
            ))
        };
        let mut child = std::process::Command::new(&self.program)
            .args(&full)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(cannot_run)?;
        let mut stdout = child.stdout.take().expect("piped");
        let reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            bytes
        });
        let mut stderr = String::new();
        for line in std::io::BufReader::new(child.stderr.take().expect("piped")).lines() {
            let Ok(line) = line else { break };
            on_line(&line);
            stderr.push_str(&line);
            stderr.push('\n');
        }
        let status = child.wait().map_err(cannot_run)?;
        let stdout = reader.join().unwrap_or_default();
        if !status.success() {
            return Err(explain_failure(what, &stderr));
        }
        parse_eval_json(what, &stdout)
    }

    /// The message evaluating `expr` fails with (nixpkgs' own text for a
    /// removed name), or None when it evaluates.
    pub(crate) fn evaluation_error(&self, expr: &str) -> Result<Option<String>> {
        let args = eval_args(expr);
        Ok(match self.run("evaluate", &args)? {
            Ok(_) => None,
            Err(out) => super::trace::parse(&out.stderr).map(|e| e.message),
        })
    }

    /// Copies `paths` and their closures to a store URI (binary cache).
    pub(crate) fn copy_to(&self, uri: &str, paths: &[String]) -> Result<()> {
        let mut args: Vec<OsString> = vec!["copy".into(), "--to".into(), uri.into()];
        args.extend(paths.iter().map(OsString::from));
        match self.run("copy to the binary cache", &args)? {
            Ok(_) => Ok(()),
            Err(out) => Err(Error::new(format!(
                "`nix copy --to {uri}` failed:\n{}",
                last_lines(&out.stderr, 15)
            ))
            .with_hint("check the store URI and its credentials; sign with ?secret-key=PATH")),
        }
    }

    /// Every store path in the closure of `paths`.
    pub(crate) fn closure_size(&self, paths: &[String]) -> usize {
        let mut args: Vec<OsString> = vec!["--query".into(), "--requisites".into()];
        args.extend(paths.iter().map(OsString::from));
        match self.run_store("list a closure", &args) {
            Ok(Ok(out)) => out.stdout.lines().count(),
            _ => 0,
        }
    }
}

const MAX_ATTEMPTS: u32 = 3;

/// The command, to the debug log, and to the user with `-v`.
fn show_command(program: &Path, args: &[OsString]) {
    tracing::debug!(?program, ?args, "running nix");
    if ui::verbosity() >= 2 {
        ui::status(&format!("$ {}", command_line(program, args)));
    }
}

/// The command as a shell would take it, for `-v`.
fn command_line(program: &Path, args: &[OsString]) -> String {
    std::iter::once(program.as_os_str())
        .chain(args.iter().map(OsString::as_os_str))
        .map(|word| {
            let bytes = word.as_encoded_bytes();
            let plain = !bytes.is_empty()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./:=+@,#".contains(b));
            if plain {
                word.to_string_lossy().into_owned()
            } else {
                String::from_utf8_lossy(&crate::support::shell_quote::sh_single(bytes)).into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn was_killed(stderr: &str) -> bool {
    stderr.contains("failed due to signal 9")
}

/// `nix eval` of an expression (impure: it reads the generated flake by path).
fn eval_args(expr: &str) -> Vec<OsString> {
    vec![
        "eval".into(),
        "--json".into(),
        "--impure".into(),
        "--expr".into(),
        expr.into(),
    ]
}

/// The JSON value `nix eval --json` printed while trying to `what`.
fn parse_eval_json(what: &str, stdout: &[u8]) -> Result<serde_json::Value> {
    serde_json::from_slice(stdout).map_err(|e| {
        Error::new(format!(
            "unexpected output of `nix eval` while trying to {what}: {e}"
        ))
    })
}

/// `path:DIR#FRAGMENT`.
fn installable(dir: &Path, fragment: &str) -> OsString {
    let mut installable = path_ref(dir);
    installable.push(format!("#{fragment}"));
    installable
}

/// `path:` references copy the folder as it is (a `git+file:` flake would
/// ignore untracked files).
fn path_ref(dir: &Path) -> OsString {
    let mut r = OsString::from("path:");
    r.push(dir);
    r
}
