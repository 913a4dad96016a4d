//! Entering the environment from a shell: `nixpy env` evaluated by real
//! shells, `nixpy shell` (commands on stdin, and interactively in tmux),
//! `use nixpy` under the real direnv, and `nixpy init`.
//!
//! zsh and fish are optional: a test skips just the shell that is missing,
//! with a note on stderr. direnv and tmux are skipped the same way, except
//! under CI or NIXPY_REQUIRE_NIX, where scripts/setup-system installs them
//! and a missing one is a failure.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use crate::harness::*;

/// Python printing its whole environment as one JSON object.
const PRINT_ENV: &str = "import json, os; print(json.dumps(dict(os.environ)))";

/// The `.envrc` that `nixpy init --direnv` writes.
const ENVRC: &str = "eval \"$(nixpy direnvrc)\"\nuse nixpy\n";

fn note_skip(what: &str) {
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {what}");
}

/// An optional shell: its path, or None after a note.
fn shell(name: &str) -> Option<PathBuf> {
    let found = which(name);
    if found.is_none() {
        note_skip(&format!("{name} is not installed (only the {name} part)"));
    }
    found
}

/// direnv or tmux: skipped when missing, unless the suite must not skip.
fn tool(name: &str) -> Option<PathBuf> {
    if let Some(path) = which(name) {
        return Some(path);
    }
    if under_ci() || std::env::var_os("NIXPY_REQUIRE_NIX").is_some() {
        panic!("{name} is not installed; scripts/setup-system installs it (CI or NIXPY_REQUIRE_NIX is set, so this is not skipped)");
    }
    note_skip(&format!("{name} is not installed"));
    None
}

/// A command for `program` with the environment nixpy gets in the tests.
fn command(program: impl AsRef<std::ffi::OsStr>, project: &Project) -> Command {
    let mut cmd = Command::new(program);
    with_nixpy_env(&mut cmd, project);
    cmd
}

/// Values a shell or Nix would otherwise interpret.
const TRICKY_ENV: &[(&str, &str)] = &[
    ("QUOTES", r#"it's "quoted" ''"#),
    ("DOLLARS", "$HOME $$ ${x} $(echo no) `echo no`"),
    ("BACKSLASHES", r"C:\path\ \n\\"),
    ("NEWLINES", "line one\nline two\n\n"),
    ("EMPTY", ""),
    ("GLOB", "* ? [a] ~"),
    ("UNICODE", "naïve — ✓"),
];

fn tricky_manifest() -> String {
    let mut manifest = String::from("packages = [\"ffmpeg\"]\n[env]\n");
    for (name, value) in TRICKY_ENV {
        manifest += &format!("{name} = {}\n", toml_string(value));
    }
    manifest
}

/// Writes `rel` and moves its mtime to a later second than before: direnv
/// compares whole seconds, and a test edits faster than that.
fn edit(project: &Project, rel: &str, text: &str) {
    let path = project.path(rel);
    let before = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::now());
    project.write(rel, text);
    let later = before.max(SystemTime::now()) + Duration::from_secs(2);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(later)
        .unwrap();
}

/// A folder of pure-Python wheels and a requirements.txt naming them,
/// installed without an index.
fn wheels_requirements(wheels: &Path, names: &[&str]) -> String {
    let mut text = format!("--no-index\n--find-links {}\n", wheels.display());
    for name in names {
        let module = name.replace('-', "_");
        make_wheel(
            wheels,
            name,
            "0.1.0",
            &[],
            &[(
                &format!("{module}/__init__.py"),
                &format!("def main():\n    print('hello from {name}')\n"),
            )],
            &[(name, &format!("{module}:main"))],
        );
        text += &format!("{name}==0.1.0\n");
    }
    text
}

// ---------------------------------------------------------------------------
// nixpy env
// ---------------------------------------------------------------------------

#[test]
fn env_evaluated_by_each_shell_gives_what_run_gives() {
    needs_nix!();
    let project = Project::with_manifest(&tricky_manifest());
    let from_run = command(NIXPY, &project)
        .args(["run", "--", "python3", "-c", PRINT_ENV])
        .outcome()
        .success()
        .json();
    let changed = command(NIXPY, &project)
        .args(["env", "--format", "json", "--diff"])
        .outcome()
        .success()
        .json();
    let changed: Vec<&String> = changed.as_object().expect("an object").keys().collect();
    for name in ["PATH", "NIXPY_PROJECT"]
        .iter()
        .chain(TRICKY_ENV.iter().map(|(n, _)| n))
    {
        assert!(
            changed.iter().any(|c| c == name),
            "{name} is not in the --diff output: {changed:?}"
        );
    }
    assert_eq!(from_run["NIXPY_PROJECT"], project.root().to_str().unwrap());

    let posix = r#"eval "$("$IT_NIXPY" env $IT_FLAGS)" && exec python3 -c "$IT_PRINT""#;
    let fish = "$IT_NIXPY env --format fish $IT_FLAGS | source; and exec python3 -c $IT_PRINT";
    let cases: &[(&str, &[&str], &str)] = &[
        ("bash", &["--norc", "--noprofile", "-c", posix], ""),
        ("bash", &["--norc", "--noprofile", "-c", posix], "--diff"),
        ("sh", &["-c", posix], ""),
        ("zsh", &["-f", "-c", posix], ""),
        ("zsh", &["-f", "-c", posix], "--diff"),
        ("fish", &["--no-config", "-c", fish], ""),
        ("fish", &["--no-config", "-c", fish], "--diff"),
    ];
    for (name, args, flags) in cases {
        let Some(program) = shell(name) else { continue };
        let mut cmd = command(&program, &project);
        cmd.args(*args)
            .env("IT_NIXPY", NIXPY)
            .env("IT_PRINT", PRINT_ENV)
            .env("IT_FLAGS", flags);
        if flags.is_empty() {
            // Unset: fish would pass an empty variable as an empty argument.
            cmd.env_remove("IT_FLAGS");
        }
        let from_shell = cmd.outcome().success().json();
        for var in &changed {
            assert_eq!(
                from_shell[var.as_str()],
                from_run[var.as_str()],
                "{name} {flags}: {var}"
            );
        }
    }
}

/// Issue 13, item 14: `eval "$(nixpy env)"` never assigns a variable the
/// shell owns. In zsh as root, `export USERNAME=nobody` (or GID, EGID)
/// switches the shell's user or group: a caller whose environment carried
/// such values (sudo sets USERNAME) had its shell turned into nobody.
#[test]
fn env_never_assigns_variables_the_shell_owns() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let posix = r#"before="$(id -u):$(id -g)"; eval "$("$IT_NIXPY" env)" && [ "$(id -u):$(id -g)" = "$before" ] && hello"#;
    let fish = "set before (id -u):(id -g); $IT_NIXPY env --format fish | source; and test (id -u):(id -g) = $before; and hello";
    let cases: &[(&str, &[&str])] = &[
        ("zsh", &["-f", "-c", posix]),
        ("bash", &["--norc", "--noprofile", "-c", posix]),
        ("sh", &["-c", posix]),
        ("fish", &["--no-config", "-c", fish]),
    ];
    for (name, args) in cases {
        let Some(program) = shell(name) else { continue };
        let out = command(&program, &project)
            .args(*args)
            .env("IT_NIXPY", NIXPY)
            .env("USERNAME", "nobody")
            .env("GID", "65534")
            .env("EGID", "65534")
            .env("EUID", "65534")
            .outcome();
        assert!(
            out.status.success() && out.stdout == "hello version 2.12.1 (nixpy stand-in)\n",
            "{name}: the evaluated environment changed the shell's user or group, or failed:\n{}{}",
            out.stdout,
            out.stderr
        );
    }
}

#[test]
fn env_falls_back_to_the_last_good_environment() {
    needs_nix!();
    // Broken from the start: there is nothing to fall back to.
    let broken = Project::with_manifest("packages = [\"no-such-package\"]\n");
    nixpy(&broken)
        .arg("env")
        .outcome()
        .nixpy_error()
        .stderr_has("no-such-package");

    let project = Project::with_manifest("packages = [\"ffmpeg\"]\n");
    let good = nixpy(&project).args(["env", "--diff"]).outcome();
    good.success().stdout_has(&format!(
        "export NIXPY_PROJECT='{}'\n",
        project.root().display()
    ));
    assert!(
        !good.stdout.contains("NIXPY_DID_FALLBACK"),
        "{}",
        good.stdout
    );

    project.write(
        "nixpy.toml",
        "packages = [\"ffmpeg\", \"no-such-package\"]\n",
    );
    let fallback = nixpy(&project).args(["env", "--diff"]).outcome();
    fallback
        .success()
        .stdout_has("export NIXPY_DID_FALLBACK='1'\n")
        .stdout_has("-ffmpeg-6.1.1/bin")
        .stderr_has("no-such-package")
        .stderr_has("using the last good one");
    nixpy(&project)
        .args(["env", "--format", "fish"])
        .outcome()
        .success()
        .stdout_has("set -gx NIXPY_DID_FALLBACK '1'\n");
    let json = nixpy(&project)
        .args(["env", "--format", "json"])
        .outcome()
        .success()
        .json();
    assert_eq!(json["NIXPY_DID_FALLBACK"], "1");
    // A stale marker from an earlier eval is removed once the build works.
    project.write("nixpy.toml", "packages = [\"ffmpeg\"]\n");
    nixpy(&project)
        .args(["env", "--diff"])
        .env("NIXPY_DID_FALLBACK", "1")
        .outcome()
        .success()
        .stdout_has("unset NIXPY_DID_FALLBACK\n");
    // Under CI a stale environment must not pass as fresh.
    project.write("nixpy.toml", "packages = [\"no-such-package\"]\n");
    nixpy(&project)
        .arg("env")
        .env("CI", "true")
        .outcome()
        .nixpy_error();
}

#[test]
fn env_hook_and_watch_files() {
    needs_nix!();
    let project = Project::with_manifest(
        "nix-files = [\"tools.nix\"]\nshell-hook = \"export FROM_HOOK=\\\"it's $NIXPY_PROJECT\\\"\"\n",
    )
    .file("tools.nix", "{ pkgs }: [ pkgs.ffmpeg ]\n")
    .file("requirements.txt", "-r more.txt\n")
    .file("more.txt", "");
    let files = nixpy(&project).args(["env", "--watch-files"]).outcome();
    let listed: Vec<&str> = files.success().stdout.lines().collect();
    for rel in [
        "nixpy.toml",
        "nixpy.lock",
        "tools.nix",
        "requirements.txt",
        "more.txt",
        "pyproject.toml",
    ] {
        let path = project.path(rel);
        assert!(
            listed.contains(&path.to_str().unwrap()),
            "{rel} not in {listed:?}"
        );
    }
    assert!(
        !project.path("nixpy.lock").exists(),
        "--watch-files builds nothing"
    );

    let out = command("bash", &project)
        .args([
            "--norc",
            "-c",
            r#"eval "$("$IT_NIXPY" env --diff --hook)" && printf '%s\n' "$FROM_HOOK""#,
        ])
        .env("IT_NIXPY", NIXPY)
        .outcome();
    out.success()
        .stdout_is(&format!("it's {}\n", project.root().display()));
    nixpy(&project)
        .args(["env", "--format", "fish", "--hook"])
        .outcome()
        .nixpy_error()
        .stderr_has("--format sh");
}

// ---------------------------------------------------------------------------
// nixpy shell
// ---------------------------------------------------------------------------

const HOOKED_MANIFEST: &str = "packages = [\"ffmpeg\"]\nshell-hook = \"export FROM_HOOK=hooked\"\n";

/// A home folder whose startup files set FROM_RC=1 and a recognisable prompt.
fn home_with_startup_files() -> tempfile::TempDir {
    let home = temp_dir("nixpy-it-home-");
    let write = |rel: &str, text: &str| {
        let path = home.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(".bashrc", "PS1='testprompt$ '\nexport FROM_RC=1\n");
    write(".zshrc", "PS1='testprompt%# '\nexport FROM_RC=1\n");
    write(".zshenv", "export FROM_ZSHENV=1\n");
    write(".config/fish/config.fish", "set -gx FROM_RC 1\nset -g fish_greeting\nfunction fish_prompt; printf 'testprompt> '; end\n");
    home
}

#[test]
fn shell_runs_commands_from_stdin_and_exits_with_their_status() {
    needs_nix!();
    let project = Project::with_manifest(HOOKED_MANIFEST);
    let home = home_with_startup_files();
    let script = project.root().join("commands.txt");
    // Valid in sh, zsh and fish alike; the last line shows nixpy's plumbing
    // variables are gone before the commands run.
    std::fs::write(
        &script,
        "echo $NIXPY_PROJECT $NIXPY_SHELL $FROM_HOOK\nffmpeg -version\necho \"[$BASH_ENV][$ZDOTDIR][$__NIXPY_SHELL_HOOK][$__NIXPY_ZDOTDIR]\"\nexit 3\n",
    )
    .unwrap();
    let expected = format!(
        "{} 1 hooked\n{}[][][][]\n",
        project.root().display(),
        standin_version("ffmpeg", "6.1.1")
    );
    // None: $SHELL is not a shell nixpy knows, so the environment's bash.
    for name in [
        None,
        Some("/bin/sh"),
        Some("bash"),
        Some("zsh"),
        Some("fish"),
    ] {
        let program = match name {
            Some(n) if !n.starts_with('/') => match shell(n) {
                Some(p) => Some(p),
                None => continue,
            },
            other => other.map(PathBuf::from),
        };
        let mut cmd = nixpy(&project);
        cmd.arg("shell")
            .env("HOME", home.path())
            .stdin(std::fs::File::open(&script).unwrap());
        match &program {
            Some(p) => cmd.env("SHELL", p),
            None => cmd.env_remove("SHELL"),
        };
        let out = cmd.outcome();
        if out.status.code() != Some(3) || out.stdout != expected {
            panic!(
                "SHELL={program:?}: expected exit 3 and {expected:?}\nstatus: {:?}\nstdout: {:?}\nstderr: {}",
                out.status, out.stdout, out.stderr
            );
        }
    }
}

/// A tmux server of its own (own socket, no config), killed on drop.
struct Tmux {
    dir: tempfile::TempDir,
    tmux: PathBuf,
}

impl Tmux {
    /// Runs `nixpy shell; echo status=$? > status` in a new detached
    /// session, with `shell` as $SHELL (None: unset).
    fn start(
        project: &Project,
        home: &Path,
        shell: Option<&Path>,
        extra_env: &[(&str, &str)],
    ) -> Option<Tmux> {
        let tmux = tool("tmux")?;
        let this = Tmux {
            dir: temp_dir("nixpy-it-tmux-"),
            tmux,
        };
        let shell_env = match shell {
            Some(s) => format!("env SHELL={}", s.display()),
            None => "env -u SHELL".to_owned(),
        };
        let script = format!(
            "{shell_env} {} shell; echo status=$? > {}",
            NIXPY,
            this.dir.path().join("status").display()
        );
        let mut cmd = command(&this.tmux, project);
        // The pane's own shell, running the script above, is sh.
        cmd.env("SHELL", "/bin/sh")
            .env("HOME", home)
            .env("TERM", "xterm");
        for (name, value) in extra_env {
            cmd.env(name, value);
        }
        cmd.arg("-S")
            .arg(this.socket())
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "40",
                &script,
            ])
            .outcome()
            .success();
        Some(this)
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("socket")
    }

    fn tmux(&self, args: &[&str]) -> Outcome {
        let mut cmd = Command::new(&self.tmux);
        cmd.arg("-S").arg(self.socket()).args(args);
        cmd.outcome()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"]).stdout
    }

    /// Waits until the screen shows `needle`; returns the screen.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("the tmux pane never showed {needle:?}; it shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn type_line(&self, line: &str) {
        self.tmux(&["send-keys", "-l", line]).success();
        self.tmux(&["send-keys", "Enter"]).success();
    }

    /// What `nixpy shell` exited with, once the session wrote it.
    fn status(&self) -> String {
        let path = self.dir.path().join("status");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                if text.ends_with('\n') {
                    return text.trim().to_owned();
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "nixpy shell did not end; the pane shows:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new(&self.tmux)
            .arg("-S")
            .arg(self.socket())
            .arg("kill-server")
            .output();
    }
}

/// The interactive round: prompt marker, a command, `exit 5`. (tmux drops
/// trailing blanks, so `prompt` has none.)
fn interactive_round(shell_name: Option<&str>, prompt: &str) {
    needs_nix!();
    let program = match shell_name {
        Some(name) => match shell(name) {
            Some(p) => Some(p),
            None => return,
        },
        None => None,
    };
    let project = Project::with_manifest(HOOKED_MANIFEST);
    // Built here, so the session only reads the cache.
    nixpy(&project).args(["env"]).outcome().success();
    let home = home_with_startup_files();
    let Some(tmux) = Tmux::start(&project, home.path(), program.as_deref(), &[]) else {
        return;
    };
    tmux.wait_for(&format!("(nixpy) {prompt}"));
    tmux.type_line(
        "echo \"project=$NIXPY_PROJECT rc=$FROM_RC hook=$FROM_HOOK shell=$NIXPY_SHELL\"",
    );
    tmux.wait_for(&format!(
        "project={} rc=1 hook=hooked shell=1",
        project.root().display()
    ));
    tmux.type_line("exit 5");
    assert_eq!(tmux.status(), "status=5");
}

#[test]
fn shell_in_tmux_with_the_environments_bash() {
    interactive_round(None, "testprompt$");
}

#[test]
fn shell_in_tmux_with_the_users_bash() {
    interactive_round(Some("bash"), "testprompt$");
}

#[test]
fn shell_in_tmux_with_zsh() {
    interactive_round(Some("zsh"), "testprompt#");
}

#[test]
fn shell_in_tmux_with_fish() {
    interactive_round(Some("fish"), "testprompt>");
}

#[test]
fn shell_prompt_marker_can_be_turned_off() {
    needs_nix!();
    let project = Project::with_manifest(HOOKED_MANIFEST);
    nixpy(&project).args(["env"]).outcome().success();
    let home = home_with_startup_files();
    let Some(tmux) = Tmux::start(&project, home.path(), None, &[("NIXPY_NO_PROMPT", "1")]) else {
        return;
    };
    tmux.type_line("echo marker=$NIXPY_SHELL");
    let screen = tmux.wait_for("marker=1");
    assert!(
        screen.contains("testprompt$") && !screen.contains("(nixpy)"),
        "{screen}"
    );
    tmux.type_line("exit");
    assert_eq!(tmux.status(), "status=0");
}

// ---------------------------------------------------------------------------
// direnv
// ---------------------------------------------------------------------------

/// direnv with a home, config and allow-list of its own.
struct Direnv {
    home: tempfile::TempDir,
    direnv: PathBuf,
}

impl Direnv {
    fn new() -> Option<Direnv> {
        Some(Direnv {
            direnv: tool("direnv")?,
            home: temp_dir("nixpy-it-direnv-home-"),
        })
    }

    /// `direnv ARGS` in the project folder with nixpy's test environment
    /// (which direnv passes on to nixpy).
    fn cmd(&self, project: &Project) -> Command {
        let mut cmd = command(&self.direnv, project);
        let home = self.home.path();
        cmd.env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_STATE_HOME", home.join(".local/state"));
        cmd
    }

    fn allow(&self, project: &Project, dir: &Path) {
        self.cmd(project).arg("allow").arg(dir).outcome().success();
    }

    /// `direnv exec DIR sh -c SCRIPT`, run from `cwd`.
    fn exec(&self, project: &Project, dir: &Path, cwd: &Path, script: &str) -> Outcome {
        self.cmd(project)
            .current_dir(cwd)
            .arg("exec")
            .arg(dir)
            .args(["sh", "-c", script])
            .outcome()
    }

    /// The environment an interactive shell with direnv's hook starts with.
    fn base_env(&self, project: &Project) -> BTreeMap<String, String> {
        let cmd = self.cmd(project);
        let mut env: BTreeMap<String, String> = std::env::vars().collect();
        for (name, value) in cmd.get_envs() {
            let name = name.to_str().unwrap().to_owned();
            match value {
                Some(v) => env.insert(name, v.to_str().unwrap().to_owned()),
                None => env.remove(&name),
            };
        }
        env
    }

    /// What the shell hook does at a prompt: `direnv export json` in the
    /// project folder, applied to `env`. Returns the outcome (empty stdout:
    /// nothing to reload).
    fn prompt(&self, project: &Project, env: &mut BTreeMap<String, String>) -> Outcome {
        let out = self
            .cmd(project)
            .env_clear()
            .envs(env.iter())
            .args(["export", "json"])
            .outcome();
        out.success();
        if !out.stdout.trim().is_empty() {
            let changes: BTreeMap<String, Option<String>> =
                serde_json::from_str(&out.stdout).unwrap();
            for (name, value) in changes {
                match value {
                    Some(v) => env.insert(name, v),
                    None => env.remove(&name),
                };
            }
        }
        out
    }
}

/// `sh -c SCRIPT` with exactly `env`, as a command typed at the prompt.
fn in_env(env: &BTreeMap<String, String>, cwd: &Path, script: &str) -> Outcome {
    Command::new("/bin/sh")
        .env_clear()
        .envs(env.iter())
        .current_dir(cwd)
        .args(["-c", script])
        .outcome()
}

#[test]
fn direnv_loads_packages_and_the_pip_layer_inside_the_folder_only() {
    needs_nix!();
    let Some(direnv) = Direnv::new() else { return };
    let wheels = temp_dir("nixpy-it-wheels-");
    // The hook is written for a plain bash: an unset variable, a failing
    // command. direnv's strict mode (errexit, nounset) must not stop it.
    let project = Project::with_manifest(
        "packages = [\"ffmpeg\"]\nshell-hook = \"false\\nexport FROM_HOOK=hooked${NOT_SET}\"\n",
    )
    .file(
        "requirements.txt",
        &wheels_requirements(wheels.path(), &["nixpy-greet"]),
    )
    .file(".envrc", &format!("strict_env\n{ENVRC}"));
    let sub = project.mkdir("src/deep");
    direnv.allow(&project, project.root());
    direnv
        .exec(
            &project,
            project.root(),
            project.root(),
            "ffmpeg -version && nixpy-greet && python3 -c 'import nixpy_greet'",
        )
        .success()
        .stdout_is(&format!(
            "{}hello from nixpy-greet\n",
            standin_version("ffmpeg", "6.1.1")
        ));
    direnv
        .exec(
            &project,
            &sub,
            &sub,
            "echo \"$NIXPY_PROJECT ${NIXPY_DID_FALLBACK:-no-fallback} $FROM_HOOK\"",
        )
        .success()
        .stdout_is(&format!(
            "{} no-fallback hooked\n",
            project.root().display()
        ));
    // Another folder: direnv loads nothing there.
    let outside = temp_dir("nixpy-it-outside-");
    direnv
        .exec(
            &project,
            outside.path(),
            outside.path(),
            "echo \"${NIXPY_PROJECT:-none}\"; command -v ffmpeg || echo no-ffmpeg",
        )
        .success()
        .stdout_is("none\nno-ffmpeg\n");
}

#[test]
fn direnv_reloads_on_edits_and_keeps_the_last_good_environment() {
    needs_nix!();
    let Some(direnv) = Direnv::new() else { return };
    let wheels = temp_dir("nixpy-it-wheels-");
    let project = Project::with_manifest("packages = [\"ffmpeg\"]\n")
        .file(
            "requirements.txt",
            &wheels_requirements(wheels.path(), &["nixpy-greet"]),
        )
        .file(".envrc", ENVRC);
    direnv.allow(&project, project.root());
    let root = project.root();

    // Entering the folder loads the environment; the next prompt reuses it.
    let mut env = direnv.base_env(&project);
    direnv
        .prompt(&project, &mut env)
        .stderr_has("direnv: loading");
    assert_eq!(env.get("NIXPY_PROJECT").map(String::as_str), root.to_str());
    let unchanged = direnv.prompt(&project, &mut env);
    assert_eq!(
        unchanged.stdout.trim(),
        "",
        "reloaded with nothing changed:\n{}",
        unchanged.stderr
    );

    // A new pip requirement: reloaded at the next prompt.
    let requirements = wheels_requirements(wheels.path(), &["nixpy-greet", "nixpy-extra"]);
    edit(&project, "requirements.txt", &requirements);
    direnv
        .prompt(&project, &mut env)
        .stderr_has("direnv: loading");
    in_env(&env, root, "nixpy-extra")
        .success()
        .stdout_is("hello from nixpy-extra\n");

    // A broken edit keeps the last good environment, and says so.
    edit(
        &project,
        "nixpy.toml",
        "packages = [\"ffmpeg\", \"no-such-package\"]\n",
    );
    direnv
        .prompt(&project, &mut env)
        .stderr_has("no-such-package")
        .stderr_has("using the last good one");
    assert_eq!(env.get("NIXPY_DID_FALLBACK").map(String::as_str), Some("1"));
    in_env(&env, root, "ffmpeg -version && nixpy-extra").success();
    direnv
        .exec(
            &project,
            root,
            root,
            "echo $NIXPY_DID_FALLBACK; ffmpeg -version",
        )
        .success()
        .stdout_is(&format!("1\n{}", standin_version("ffmpeg", "6.1.1")))
        .stderr_has("using the last good one");

    // Fixed: a fresh environment, the marker gone.
    edit(
        &project,
        "nixpy.toml",
        "packages = [\"ffmpeg\", \"tesseract\"]\n",
    );
    direnv.prompt(&project, &mut env).stderr_lacks("last good");
    assert_eq!(env.get("NIXPY_DID_FALLBACK"), None);
    in_env(&env, root, "tesseract --version")
        .success()
        .stdout_is(&standin_version("tesseract", "5.3.4"));
}

#[test]
fn direnv_reloads_when_a_nix_file_changes() {
    needs_nix!();
    let Some(direnv) = Direnv::new() else { return };
    let project = Project::with_manifest("nix-files = [\"tools.nix\"]\n")
        .file("tools.nix", "with pkgs; [ ffmpeg ]\n")
        .file(".envrc", ENVRC);
    direnv.allow(&project, project.root());
    let root = project.root();
    let mut env = direnv.base_env(&project);
    direnv
        .prompt(&project, &mut env)
        .stderr_has("direnv: loading");
    in_env(&env, root, "ffmpeg -version").success();

    edit(&project, "tools.nix", "with pkgs; [ ffmpeg tesseract ]\n");
    direnv
        .prompt(&project, &mut env)
        .stderr_has("direnv: loading");
    in_env(&env, root, "tesseract --version")
        .success()
        .stdout_is(&standin_version("tesseract", "5.3.4"));
    direnv
        .exec(&project, root, root, "tesseract --version")
        .success()
        .stdout_is(&standin_version("tesseract", "5.3.4"));
}

#[test]
fn direnvrc_bakes_in_the_binary_and_checks_its_version() {
    needs_nix!();
    let Some(direnv) = Direnv::new() else { return };
    let project = Project::with_manifest("packages = [\"ffmpeg\"]\n");
    let version = env!("CARGO_PKG_VERSION");
    let rc = nixpy(&project).arg("direnvrc").outcome();
    rc.success()
        .stdout_has(&format!("local nixpy='{NIXPY}'\n"))
        .stdout_has(&format!("__nixpy_direnvrc_version='{version}'\n"))
        .stdout_has(&format!("(nixpy {version})"));

    // Saved by an older nixpy, and the binary it named is gone: the nixpy
    // on PATH runs, with a note to print the function again.
    let old = rc
        .stdout
        .replace(&format!("'{version}'"), "'0.0.1'")
        .replace(&format!("'{NIXPY}'"), "'/nonexistent/nixpy'");
    project.write(".envrc", &format!("{old}use nixpy\n"));
    direnv.allow(&project, project.root());
    direnv
        .exec(&project, project.root(), project.root(), "ffmpeg -version")
        .success()
        .stdout_is(&standin_version("ffmpeg", "6.1.1"))
        .stderr_has("use_nixpy comes from nixpy 0.0.1")
        .stderr_has("nixpy direnvrc");
}

// ---------------------------------------------------------------------------
// nixpy init
// ---------------------------------------------------------------------------

#[test]
fn init_writes_a_manifest_that_runs_and_never_overwrites_it() {
    needs_nix!();
    let wheels = temp_dir("nixpy-it-wheels-");
    let project = Project::new().file(
        "requirements.txt",
        &wheels_requirements(wheels.path(), &["nixpy-greet"]),
    );
    nixpy(&project)
        .arg("init")
        .outcome()
        .success()
        .stderr_has("requirements.txt");
    let written = project.read("nixpy.toml");
    assert!(written.contains("from requirements.txt"), "{written}");
    nixpy_run(&project, ["nixpy-greet"])
        .outcome()
        .success()
        .stdout_is("hello from nixpy-greet\n");

    project.write("nixpy.toml", "# mine\n");
    nixpy(&project)
        .arg("init")
        .outcome()
        .nixpy_error()
        .stderr_has("nixpy.toml already exists");
    assert_eq!(project.read("nixpy.toml"), "# mine\n");
    assert!(
        !project.listing().iter().any(|f| f.contains(".nixpy-tmp")),
        "{:?}",
        project.listing()
    );
}

#[test]
fn init_says_which_pip_source_it_found() {
    // No Nix needed: init only writes files.
    let project = Project::new().file(
        "pyproject.toml",
        "[project]\nname = \"x\"\ndependencies = [\"rich\"]\n",
    );
    nixpy(&project).arg("init").outcome().success();
    assert!(project
        .read("nixpy.toml")
        .contains("[project].dependencies of pyproject.toml"));

    let empty = Project::new();
    nixpy(&empty).arg("init").outcome().success();
    assert!(empty.read("nixpy.toml").contains("pip packages: none yet"));
    assert!(!empty.path(".envrc").exists(), "no .envrc without --direnv");
}

#[test]
fn init_refuses_a_pyproject_that_configures_nixpy() {
    let project = Project::new().file("pyproject.toml", "[tool.nixpy]\npackages = []\n");
    nixpy(&project)
        .arg("init")
        .outcome()
        .nixpy_error()
        .stderr_has("pyproject.toml already configures nixpy ([tool.nixpy])");
    assert!(!project.path("nixpy.toml").exists());
}

#[test]
fn init_direnv_writes_an_envrc_that_loads() {
    let project = Project::new().file(".gitignore", "target");
    nixpy(&project)
        .args(["init", "--direnv"])
        .outcome()
        .success()
        .stderr_has("direnv allow");
    assert_eq!(project.read(".envrc"), ENVRC);
    assert_eq!(project.read(".gitignore"), "target\n.direnv/\n");
    // An .envrc of the user's own is left alone, with the lines to add.
    let own = Project::new().file(".envrc", "use flake\n");
    nixpy(&own)
        .args(["init", "--direnv"])
        .outcome()
        .success()
        .stderr_has("use nixpy");
    assert_eq!(own.read(".envrc"), "use flake\n");

    needs_nix!();
    let Some(direnv) = Direnv::new() else { return };
    direnv.allow(&project, project.root());
    direnv
        .exec(
            &project,
            project.root(),
            project.root(),
            "echo $NIXPY_PROJECT && command -v python3",
        )
        .success()
        .stdout_has(&format!(
            "{}\n{}/",
            project.root().display(),
            project.cache_dir().display()
        ));
}
