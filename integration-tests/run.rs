//! `nixpy run`: what a user sees when they run a command in the environment.
//!
//! Every test builds its own project and cache (unless sharing is the
//! point), runs the real binary against the offline nixpkgs stand-in, and
//! checks only what is visible from outside: exit status, the two streams,
//! the files left behind.

use std::os::unix::fs::symlink;
use std::path::Path;

use serde_json::json;

use crate::harness::*;

/// A Python one-liner printing sys.argv[1:] as JSON.
const PRINT_ARGV: &str = "import sys, json; print(json.dumps(sys.argv[1:]))";

/// `python3 -c ...` printing the named variables as a JSON object (null when
/// unset). Python, not a shell, so nothing is expanded on the way out.
fn print_env(names: &[&str]) -> Vec<String> {
    let list = names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        "python3".into(),
        "-c".into(),
        format!("import json, os; print(json.dumps({{n: os.environ.get(n) for n in [{list}]}}))"),
    ]
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("test paths are UTF-8").to_owned()
}

/// Quoted for the shell, for paths put into shell-hook text.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

// ---------------------------------------------------------------------------
// What the environment contains
// ---------------------------------------------------------------------------

#[test]
fn system_packages_are_on_path() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"ffmpeg\", \"tesseract\"]\n");
    // Exactly the tool's line: nixpy's own status output must not reach stdout.
    nixpy_run(&project, ["ffmpeg", "-version"])
        .outcome()
        .success()
        .stdout_is(&standin_version("ffmpeg", "6.1.1"));
}

#[test]
fn dotted_attribute_paths_resolve() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"llvmPackages.clang\"]\n");
    nixpy_run(&project, ["clang", "--version"])
        .outcome()
        .success()
        .stdout_is(&standin_version("clang", "19.1.7"));
}

#[test]
fn python_packages_are_importable_from_the_nix_store() {
    needs_nix!();
    let project = Project::with_manifest("python-packages = [\"six\", \"numpy\"]\n");
    let script = "import json, shutil, six, numpy; print(json.dumps([six.__file__, numpy.__version__, shutil.which('python')]))";
    let out = nixpy_run(&project, ["python", "-c", script]).outcome();
    let v = out.success().json();
    let six_file = v[0].as_str().unwrap();
    assert!(
        six_file.starts_with("/nix/store/") && six_file.ends_with("six.py"),
        "six imported from {six_file}\n{}",
        out.stderr
    );
    assert_eq!(v[1], "1.26.4", "numpy is the stand-in's");
    // `python` itself is the project interpreter on the Nix one, not
    // whatever the caller had.
    let python = v[2].as_str().unwrap();
    assert!(
        python.starts_with(&project.cache_dir().display().to_string())
            && python.ends_with("/bin/python"),
        "python on PATH is {python}"
    );
    let real = std::fs::canonicalize(python).unwrap();
    assert_eq!(
        real,
        std::fs::canonicalize(host_python()).unwrap(),
        "the stand-in's interpreter"
    );
}

#[test]
fn stdout_is_only_the_commands_output_even_when_verbose() {
    needs_nix!();
    // A cold cache, so nixpy has things to report; -v makes it report more.
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy(&project)
        .args(["-v", "run", "--", "printf", "%s", "only this"])
        .outcome()
        .success()
        .stdout_is("only this");
}

// ---------------------------------------------------------------------------
// [env] and shell-hook
// ---------------------------------------------------------------------------

#[test]
fn env_values_arrive_verbatim() {
    needs_nix!();
    // Each value is something a shell or Nix would otherwise interpret.
    let values: &[(&str, &str)] = &[
        ("QUOTES", r#"it's "quoted""#),
        ("TWO_SINGLE_QUOTES", "''"),
        ("DOLLAR_BRACE", "${HOME} ${builtins.abort \"x\"}"),
        ("DOLLARS", "$HOME $$ $1 $"),
        ("BACKSLASHES", r"C:\path\to\ \n\t\\"),
        ("NEWLINES", "line one\nline two\n"),
        ("EQUALS", "a=b=c"),
        ("SPACES", "  padded  "),
        ("EMPTY", ""),
        ("UNICODE", "naïve — ✓"),
    ];
    let mut manifest = String::from("[env]\n");
    for (name, value) in values {
        manifest += &format!("{name} = {}\n", toml_string(value));
    }
    let project = Project::with_manifest(&manifest);
    let names: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
    let expected: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .map(|(n, v)| (n.to_string(), json!(v)))
        .collect();
    let out = nixpy_run(&project, print_env(&names)).outcome();
    assert_eq!(
        out.success().json(),
        serde_json::Value::Object(expected),
        "stderr:\n{}",
        out.stderr
    );
}

#[test]
fn env_values_are_never_executed() {
    needs_nix!();
    let marks = temp_dir("nixpy-it-marks-");
    let mark = |n: &str| path_str(&marks.path().join(n));
    let values = [
        ("CMD_SUBST", format!("$(touch {})", mark("cmd-subst"))),
        ("BACKTICKS", format!("`touch {}`", mark("backticks"))),
        (
            "DQ_BREAK",
            format!("\"; touch {}; echo \"", mark("dq-break")),
        ),
        ("SQ_BREAK", format!("'; touch {}; echo '", mark("sq-break"))),
        ("NEWLINE_CMD", format!("x\ntouch {}\n", mark("newline"))),
    ];
    let mut env_table = String::from("[env]\n");
    for (name, value) in &values {
        env_table += &format!("{name} = {}\n", toml_string(value));
    }
    let names: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
    let expected: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .map(|(n, v)| (n.to_string(), json!(v)))
        .collect();
    // With a shell-hook the environment passes through bash, which is where
    // an unquoted value would be expanded; check both paths.
    for hook in ["", "shell-hook = \"true\"\n"] {
        let project = Project::with_manifest(&format!("{hook}{env_table}"));
        let out = nixpy_run(&project, print_env(&names)).outcome();
        assert_eq!(
            out.success().json(),
            serde_json::Value::Object(expected.clone()),
            "hook {hook:?}; stderr:\n{}",
            out.stderr
        );
        let made: Vec<_> = walk(marks.path());
        assert!(
            made.is_empty(),
            "an [env] value was executed (hook {hook:?}): {made:?}\nstderr:\n{}",
            out.stderr
        );
    }
}

#[test]
fn shell_hook_runs_once_before_the_command() {
    needs_nix!();
    let logs = temp_dir("nixpy-it-hook-");
    let log = logs.path().join("hook.log");
    let hook = format!(
        "echo ran >> {}\nexport HOOK_VALUE=\"set by the hook\"\n",
        sh_quote(&path_str(&log))
    );
    let project = Project::with_manifest(&format!("shell-hook = {}\n", toml_string(&hook)));
    // The command sees what the hook exported, so the hook ran first.
    nixpy_run(&project, print_env(&["HOOK_VALUE"]))
        .outcome()
        .success()
        .stdout_is("{\"HOOK_VALUE\": \"set by the hook\"}\n");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "ran\n",
        "the hook must run exactly once per command"
    );
    // And once again for the next command, not zero times (a cached env
    // must not swallow the hook) and not twice.
    nixpy_run(&project, ["true"]).outcome().success();
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "ran\nran\n");
}

/// Issue 13, item 10: a command the shell hook puts on PATH is found (it
/// was looked up before the hook ran: "not found", exit 127), cold and
/// warm; a command that is nowhere still gets nixpy's message and 127.
#[test]
fn a_command_the_shell_hook_puts_on_path_is_found() {
    needs_nix!();
    let project = Project::with_manifest(
        "packages = [\"hello\"]\nshell-hook = \"export PATH=\\\"$NIXPY_PROJECT/tools:$PATH\\\"\"\n",
    )
    .file(
        "tools/project-tool",
        "#!/bin/sh\necho \"project tool $1\"\n",
    );
    set_mode(&project.path("tools/project-tool"), 0o755);
    for round in ["cold", "warm"] {
        let out = nixpy_run(&project, ["project-tool", "ok"]).outcome();
        assert!(out.status.success(), "{round}: {}", out.stderr);
        out.stdout_is("project tool ok\n");
    }
    nixpy_run(&project, ["no-such-tool-anywhere"])
        .outcome()
        .code(127)
        .stdout_is("")
        .stderr_has("error: command not found: `no-such-tool-anywhere`")
        .stderr_has("hint:");
}

// ---------------------------------------------------------------------------
// nix-files
// ---------------------------------------------------------------------------

/// A project whose only packages come from `nix/extra.nix`.
fn nix_file_project(nix_text: &str) -> Project {
    Project::with_manifest("nix-files = [\"nix/extra.nix\"]\n").file("nix/extra.nix", nix_text)
}

#[test]
fn nix_file_as_a_list_with_pkgs_in_scope() {
    needs_nix!();
    let project = nix_file_project("with pkgs; [ sox ]\n");
    nixpy_run(&project, ["sox", "--version"])
        .outcome()
        .success()
        .stdout_is(&standin_version("sox", "14.4.2"));
}

#[test]
fn nix_file_as_a_function_returning_a_list() {
    needs_nix!();
    let project = nix_file_project("{ pkgs, ... }: [ pkgs.jq ]\n");
    // The host may have its own jq; the stand-in's must come first.
    nixpy_run(&project, ["jq", "--version"])
        .outcome()
        .success()
        .stdout_is(&standin_version("jq", "1.7.1"));
}

#[test]
fn nix_file_as_a_home_manager_style_module() {
    needs_nix!();
    let project =
        nix_file_project("{ pkgs, ... }: {\n  home.packages = with pkgs; [ hello ];\n}\n");
    nixpy_run(&project, ["hello"])
        .outcome()
        .success()
        .stdout_is(&standin_version("hello", "2.12.1"));
}

#[test]
fn nix_file_syntax_error_names_file_line_and_column() {
    needs_nix!();
    let project = Project::with_manifest("nix-files = [\"nix/media.nix\"]\n").file(
        "nix/media.nix",
        "{ pkgs, ... }:\n{ home.packages = [ pkgs.jq ;\n}\n",
    );
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has_position("media.nix", 2);
}

// ---------------------------------------------------------------------------
// Finding the project
// ---------------------------------------------------------------------------

#[test]
fn pyproject_tool_nixpy_is_found_from_a_subfolder() {
    needs_nix!();
    let project = Project::new().file(
        "pyproject.toml",
        "[tool.black]\nline-length = 100\n\n[tool.nixpy]\npackages = [\"hello\"]\n",
    );
    let sub = project.mkdir("src/deep");
    // The command runs where the user is, with the project found above it.
    let expected = format!(
        "{}{}\n{}\n",
        standin_version("hello", "2.12.1"),
        path_str(&sub),
        path_str(project.root())
    );
    nixpy_run(
        &project,
        [
            "sh",
            "-c",
            "hello; pwd -P; printf '%s\\n' \"$NIXPY_PROJECT\"",
        ],
    )
    .current_dir(&sub)
    .outcome()
    .success()
    .stdout_is(&expected);
    assert!(
        !sub.join("nixpy.lock").exists(),
        "the lock belongs at the project root, not in the caller's folder"
    );
}

#[test]
fn nixpy_toml_wins_over_pyproject_and_says_so() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n")
        .file("pyproject.toml", "[tool.nixpy]\npackages = [\"sox\"]\n");
    let out = nixpy_run(
        &project,
        ["sh", "-c", "hello; command -v sox || echo 'no sox'"],
    )
    .outcome();
    out.success().stderr_has("pyproject.toml");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(standin_version("hello", "2.12.1").trim_end()),
        "{}",
        out.stdout
    );
    assert!(
        lines.get(1).is_some_and(|l| !l.contains("/nix/store/")),
        "sox from pyproject's [tool.nixpy] must not be in the shell:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn project_flag_selects_the_project_from_anywhere() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let elsewhere = temp_dir("nixpy-it-elsewhere-");
    let expected = format!(
        "{}{}\n",
        standin_version("hello", "2.12.1"),
        path_str(project.root())
    );
    for flag in ["-C", "--project"] {
        nixpy(&project)
            .current_dir(elsewhere.path())
            .arg(flag)
            .arg(project.root())
            .args([
                "run",
                "--",
                "sh",
                "-c",
                "hello; printf '%s\\n' \"$NIXPY_PROJECT\"",
            ])
            .outcome()
            .success()
            .stdout_is(&expected);
    }
    assert!(
        walk(elsewhere.path()).is_empty(),
        "nixpy wrote into the caller's folder: {:?}",
        walk(elsewhere.path())
    );
}

#[test]
fn nixpy_project_is_the_canonical_project_root() {
    needs_nix!();
    let project = Project::with_manifest("");
    // Reach the project through a symlink, as a shell's logical cwd would.
    let links = temp_dir("nixpy-it-links-");
    let link = links.path().join("via-link");
    symlink(project.root(), &link).unwrap();
    let expected = format!("{{\"NIXPY_PROJECT\": \"{}\"}}\n", path_str(project.root()));
    nixpy_run(&project, print_env(&["NIXPY_PROJECT"]))
        .current_dir(&link)
        .env("PWD", &link)
        .outcome()
        .success()
        .stdout_is(&expected);
}

// ---------------------------------------------------------------------------
// The command: arguments, exit status, signals
// ---------------------------------------------------------------------------

/// Arguments a shell, Nix or an option parser could mangle.
const TRICKY_ARGS: &[&str] = &[
    "a b",
    "$HOME",
    "${x}",
    "it's",
    "\"double\"",
    "",
    "--flag",
    "-v",
    "--",
    "*",
    r"back\slash",
    "two\nlines",
    "`id`",
    "$(id)",
    "ünïcode",
];

/// A manifest without and one with a shell-hook: with a hook, the command
/// is started through bash, which is where quoting mistakes would show.
const WITH_AND_WITHOUT_HOOK: [&str; 2] = ["", "shell-hook = \"true\"\n"];

#[test]
fn argv_is_passed_verbatim() {
    needs_nix!();
    for manifest in WITH_AND_WITHOUT_HOOK {
        let project = Project::with_manifest(manifest);
        let out = nixpy_run(
            &project,
            ["python3", "-c", PRINT_ARGV].iter().chain(TRICKY_ARGS),
        )
        .outcome();
        assert_eq!(
            out.success().json(),
            json!(TRICKY_ARGS),
            "manifest {manifest:?}; stderr:\n{}",
            out.stderr
        );
        // And through a non-Python program.
        let expected: String = TRICKY_ARGS.iter().map(|a| format!("{a}\n")).collect();
        nixpy_run(&project, ["printf", "%s\\n"].iter().chain(TRICKY_ARGS))
            .outcome()
            .success()
            .stdout_is(&expected);
    }
}

#[test]
fn options_after_the_command_belong_to_the_command() {
    needs_nix!();
    let project = Project::with_manifest("");
    // No `--` before the command: everything after it is its argv, even
    // things that look like nixpy's own options, and even a later `--`.
    let args = [
        "--help",
        "-v",
        "-q",
        "--refresh",
        "-C",
        "/nonexistent",
        "--",
        "--version",
    ];
    let expected: String = args.iter().map(|a| format!("{a}\n")).collect();
    nixpy(&project)
        .args(["run", "printf", "%s\\n"])
        .args(args)
        .outcome()
        .success()
        .stdout_is(&expected);
}

#[test]
fn exit_status_is_passed_through() {
    needs_nix!();
    // One project and cache: the later runs also exercise the cached path.
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    for code in [0, 1, 7, 42, 255] {
        nixpy_run(&project, ["sh", "-c", &format!("exit {code}")])
            .outcome()
            .code(code)
            .stdout_is("");
    }
}

#[test]
fn death_by_signal_is_passed_through() {
    needs_nix!();
    // With a hook too: bash must hand over to the command, not outlive it
    // and turn the signal into exit status 128+N.
    for manifest in WITH_AND_WITHOUT_HOOK {
        let project = Project::with_manifest(manifest);
        for (name, number) in [("TERM", 15), ("KILL", 9)] {
            nixpy_run(&project, ["sh", "-c", &format!("kill -{name} $$")])
                .outcome()
                .signal(number);
        }
    }
}

#[test]
fn missing_command_exits_127_and_names_it() {
    needs_nix!();
    for manifest in WITH_AND_WITHOUT_HOOK {
        let project = Project::with_manifest(manifest);
        nixpy_run(&project, ["nixpy-test-no-such-command", "--arg"])
            .outcome()
            .code(127)
            .stdout_is("")
            .stderr_has("nixpy-test-no-such-command")
            .stderr_has_nocase("not found");
    }
}

// ---------------------------------------------------------------------------
// Manifest errors and injection attempts
// ---------------------------------------------------------------------------

#[test]
fn unknown_manifest_key_names_line_and_column() {
    needs_nix!();
    let project = Project::with_manifest("python = \"python3\"\npakages = [\"ffmpeg\"]\n");
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("nixpy.toml:2:1")
        .stderr_has("pakages");
}

#[test]
fn unknown_key_in_pyproject_points_into_pyproject() {
    needs_nix!();
    // Positions count from the top of pyproject.toml, not of [tool.nixpy].
    let project = Project::new().file(
        "pyproject.toml",
        "[project]\nname = \"demo\"\nversion = \"0.1.0\"\n\n[tool.nixpy]\npackages = [\"hello\"]\npakages = [\"ffmpeg\"]\n",
    );
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("pyproject.toml:7:1")
        .stderr_has("pakages");
}

#[test]
fn injection_through_manifest_values_is_rejected() {
    needs_nix!();
    let marks = temp_dir("nixpy-it-marks-");
    let mark = path_str(&marks.path().join("injected"));
    // Each would run a command or Nix code if pasted into a shell or a .nix
    // file. (`touch`, not the brief's `rm -rf /`: same shape, harmless if it
    // ever got through.)
    let cases = [
        format!(
            "packages = [{}]",
            toml_string(&format!("ffmpeg; touch {mark}"))
        ),
        format!(
            "packages = [{}]",
            toml_string(&format!("ffmpeg$(touch {mark})"))
        ),
        format!("packages = [{}]", toml_string("${builtins.abort \"x\"}")),
        format!(
            "packages = [{}]",
            toml_string("ffmpeg ] ++ [ (builtins.abort \"x\") ] ++ [ hello")
        ),
        format!(
            "python-packages = [{}]",
            toml_string(&format!("six`touch {mark}`"))
        ),
        format!("python = {}", toml_string("python3 (builtins.abort \"x\")")),
        format!(
            "libraries = [{}]",
            toml_string("zlib\n(builtins.abort \"x\")")
        ),
        format!(
            "nixpkgs = {}",
            toml_string("path:/x\"; y = builtins.abort \"x\"; z = \"")
        ),
    ];
    for case in &cases {
        let project = Project::with_manifest(&format!("{case}\n"));
        let mut cmd = nixpy_run(&project, ["true"]);
        if case.starts_with("nixpkgs") {
            // Without the override, so the manifest's reference is the one used.
            cmd.env_remove("NIXPY_NIXPKGS");
        }
        let out = cmd.outcome();
        // Refused while reading the manifest (so with its position), never
        // handed to Nix (which would say "evaluation aborted").
        out.nixpy_error()
            .stderr_has_position("nixpy.toml", 1)
            .stderr_lacks("aborted");
        assert!(
            !Path::new(&mark).exists(),
            "injected command ran for {case:?}\nstderr:\n{}",
            out.stderr
        );
    }
}

// ---------------------------------------------------------------------------
// Nix-side failures
// ---------------------------------------------------------------------------

#[test]
fn unknown_package_is_named() {
    needs_nix!();
    for (manifest, name) in [
        ("packages = [\"ffmpeg\", \"nosuchpkg\"]\n", "nosuchpkg"),
        (
            "packages = [\"llvmPackages.nosuchllvm\"]\n",
            "llvmPackages.nosuchllvm",
        ),
        ("python-packages = [\"nosuchpymod\"]\n", "nosuchpymod"),
    ] {
        let project = Project::with_manifest(manifest);
        nixpy_run(&project, ["true"])
            .outcome()
            .nixpy_error()
            .stderr_has(name);
    }
}

#[test]
fn build_failure_shows_the_builders_last_lines() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"broken\"]\n");
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("fails on purpose")
        .stderr_has("broken");
}

// ---------------------------------------------------------------------------
// The caller's environment
// ---------------------------------------------------------------------------

#[test]
fn users_home_term_and_tmpdir_are_kept() {
    needs_nix!();
    let project = Project::with_manifest("");
    let scratch = temp_dir("nixpy-it-userenv-");
    let home = scratch.path().join("home");
    let tmp = scratch.path().join("tmp");
    std::fs::create_dir(&home).unwrap();
    std::fs::create_dir(&tmp).unwrap();
    // Nix builds in TMPDIR as a nixbld user, so it must be traversable, like /tmp.
    set_mode(&tmp, 0o1777);
    let out = nixpy_run(&project, print_env(&["HOME", "TERM", "TMPDIR"]))
        .env("HOME", &home)
        .env("TERM", "nixpy-test-term")
        .env("TMPDIR", &tmp)
        .outcome();
    let expected =
        json!({"HOME": path_str(&home), "TERM": "nixpy-test-term", "TMPDIR": path_str(&tmp)});
    assert_eq!(out.success().json(), expected, "stderr:\n{}", out.stderr);
}

#[test]
fn shell_path_comes_before_the_callers_path_which_is_kept() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"ffmpeg\"]\n");
    // The caller has their own ffmpeg and a tool only they have.
    let caller = temp_dir("nixpy-it-callerbin-");
    for (name, line) in [
        ("ffmpeg", "caller's ffmpeg"),
        ("caller-only-tool", "caller's tool"),
    ] {
        let path = caller.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\necho \"{line}\"\n")).unwrap();
        set_mode(&path, 0o755);
    }
    let caller_path = format!(
        "{}:{}",
        path_str(caller.path()),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = nixpy_run(
        &project,
        [
            "sh",
            "-c",
            "ffmpeg -version; caller-only-tool; printf '%s\\n' \"$PATH\"",
        ],
    )
    .env("PATH", &caller_path)
    .outcome();
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert_eq!(
        lines[0],
        standin_version("ffmpeg", "6.1.1").trim_end(),
        "the shell's ffmpeg must win"
    );
    assert_eq!(lines[1], "caller's tool");
    let path: Vec<&str> = lines[2].split(':').collect();
    // Every entry of the caller's PATH is still there, in its order, after the shell's.
    // (Repeated entries may be dropped: only the first occurrence counts.)
    let mut wanted: Vec<&str> = Vec::new();
    for entry in caller_path.split(':').filter(|e| !e.is_empty()) {
        if !wanted.contains(&entry) {
            wanted.push(entry);
        }
    }
    let mut rest = path.iter().skip_while(|p| !p.starts_with("/nix/store/"));
    for entry in wanted {
        assert!(
            rest.any(|p| p == &entry),
            "caller PATH entry {entry:?} missing or out of order in\n{}",
            lines[2]
        );
    }
}

#[test]
fn no_pip_layer_variables_without_requirements() {
    needs_nix!();
    // No requirements anywhere: there is no pip layer, so no NIXPY_LAYER.
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy_run(&project, print_env(&["NIXPY_LAYER"]))
        .outcome()
        .success()
        .stdout_is("{\"NIXPY_LAYER\": null}\n");
}

// ---------------------------------------------------------------------------
// Files nixpy writes
// ---------------------------------------------------------------------------

#[test]
fn lock_is_written_at_the_root_and_reused() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy_run(&project, ["hello"]).outcome().success();
    let lock = project.read("nixpy.lock");
    assert!(
        lock.lines()
            .any(|l| l.trim() == "[nixpkgs]" || l.trim().starts_with("[nixpkgs.")),
        "nixpy.lock has no [nixpkgs] section:\n{lock}"
    );
    let modified = std::fs::metadata(project.path("nixpy.lock"))
        .unwrap()
        .modified()
        .unwrap();
    // Again with the same cache, then with an empty one (so the environment
    // is rebuilt from the lock): the lock is neither changed nor rewritten.
    let fresh_cache = temp_dir("nixpy-it-cache-");
    for cache in [project.cache_dir(), fresh_cache.path()] {
        nixpy_run(&project, ["hello"])
            .env("NIXPY_CACHE_DIR", cache)
            .outcome()
            .success()
            .stdout_is(&standin_version("hello", "2.12.1"));
        assert_eq!(
            project.read("nixpy.lock"),
            lock,
            "the lock changed (cache {})",
            cache.display()
        );
        let now = std::fs::metadata(project.path("nixpy.lock"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(
            now,
            modified,
            "the lock was rewritten with the same text (cache {})",
            cache.display()
        );
    }
}

/// A copy of the files of `source` (the stand-in, or a copy), world-readable:
/// a mirror of it. (The stand-in's own folder also holds a shared cache,
/// which other tests write to.)
fn mirror_of(source: &Path) -> tempfile::TempDir {
    let mirror = temp_dir("nixpy-it-mirror-");
    for entry in std::fs::read_dir(source).unwrap().flatten() {
        if entry.file_type().unwrap().is_file() {
            let to = mirror.path().join(entry.file_name());
            std::fs::copy(entry.path(), &to).unwrap();
            set_mode(&to, 0o644);
        }
    }
    mirror
}

/// Issue 13, item 8: a mirror (`--nixpkgs`, NIXPY_NIXPKGS) serves the
/// pinned nixpkgs and never moves the pin, also under CI; one serving
/// something else is refused with the way out; only `lock --upgrade` pins
/// what a mirror serves. (One run with a mirror used to rewrite the lock,
/// and under CI a mirror could not be used with the committed lock.)
#[test]
fn a_mirror_serves_the_pinned_nixpkgs_and_only_lock_upgrade_moves_the_pin() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let origin = mirror_of(&standin().dir);
    nixpy_run(&project, ["hello"])
        .env("NIXPY_NIXPKGS", format!("path:{}", origin.path().display()))
        .outcome()
        .success();
    let lock = project.read("nixpy.lock");
    let mirror = mirror_of(origin.path());
    let mirror_ref = format!("path:{}", mirror.path().display());
    for ci in [false, true] {
        let mut cmd = nixpy(&project);
        cmd.args(["--nixpkgs", &mirror_ref, "run", "--refresh", "--", "hello"]);
        if ci {
            cmd.env("CI", "true");
        }
        cmd.outcome()
            .success()
            .stdout_is(&standin_version("hello", "2.12.1"));
        assert_eq!(
            project.read("nixpy.lock"),
            lock,
            "the mirror moved the pin (CI: {ci})"
        );
    }
    // The same through the variable.
    nixpy_run(&project, ["hello"])
        .env("NIXPY_NIXPKGS", &mirror_ref)
        .outcome()
        .success();
    assert_eq!(project.read("nixpy.lock"), lock);

    // The mirror moves on: refused, the lock untouched.
    let lib = mirror.path().join("lib.nix");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, format!("{text}# moved on\n")).unwrap();
    nixpy(&project)
        .args(["--nixpkgs", &mirror_ref, "run", "--refresh", "--", "hello"])
        .outcome()
        .nixpy_error()
        .stderr_has("serves another nixpkgs than nixpy.lock pins")
        .stderr_has("nixpy lock --upgrade");
    assert_eq!(project.read("nixpy.lock"), lock);

    // Only lock --upgrade pins what the mirror serves.
    nixpy(&project)
        .args(["--nixpkgs", &mirror_ref, "lock", "--upgrade"])
        .outcome()
        .success();
    assert_ne!(project.read("nixpy.lock"), lock);
    nixpy(&project)
        .args(["--nixpkgs", &mirror_ref, "run", "--refresh", "--", "hello"])
        .outcome()
        .success();
}

#[test]
fn generated_flake_lives_in_the_cache_not_the_project() {
    needs_nix!();
    let project =
        Project::with_manifest("packages = [\"hello\"]\n").file("script.py", "print('hi')\n");
    nixpy_run(&project, ["python3", "script.py"])
        .outcome()
        .success()
        .stdout_is("hi\n");
    let listing: Vec<String> = project.listing().into_iter().collect();
    assert_eq!(
        listing,
        [".venv", "nixpy.lock", "nixpy.toml", "script.py"],
        "only the user's files, the lock and the interpreter's link belong in the project"
    );
    let venv = std::fs::read_link(project.path(".venv")).unwrap();
    assert!(venv.starts_with(project.cache_dir()), "{}", venv.display());
    let flakes: Vec<_> = walk(project.cache_dir())
        .into_iter()
        .filter(|p| p.ends_with("flake.nix"))
        .collect();
    assert!(
        !flakes.is_empty(),
        "no generated flake.nix under the cache dir {}",
        project.cache_dir().display()
    );
}

// ---------------------------------------------------------------------------
// Without Nix
// ---------------------------------------------------------------------------

#[test]
fn missing_nix_is_reported_with_how_to_install_it() {
    // Needs no Nix: PATH holds only Python and uv, as on a machine without it.
    let host = host_tools();
    let bin = temp_dir("nixpy-it-nonix-");
    symlink(&host.python, bin.path().join("python3")).unwrap();
    if host.uv.is_file() {
        symlink(&host.uv, bin.path().join("uv")).unwrap();
    }
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let out = nixpy_run(&project, ["python3", "-c", "print('must not run')"])
        .env("PATH", bin.path())
        .outcome();
    out.nixpy_error()
        .stderr_has_nocase("nix")
        .stderr_has_nocase("not installed")
        .stderr_has("hint:");
    let hint = &out.stderr[out.stderr.find("hint:").unwrap()..];
    assert!(
        hint.to_lowercase().contains("install"),
        "the hint should say how to install Nix:\n{}",
        out.stderr
    );
}
