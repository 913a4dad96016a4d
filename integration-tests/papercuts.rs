//! Papercuts found by trying nixpy as a new user would (issue 18, item 7):
//! each test is the user's step and what they should see.

use crate::harness::*;

#[test]
fn a_misspelled_flag_before_the_command_names_the_flag_meant() {
    // Found while parsing: no Nix needed.
    let project = Project::with_manifest("");
    let out = nixpy(&project)
        .args(["run", "--refesh", "--", "true"])
        .outcome();
    out.nixpy_error()
        .stderr_has("error: unknown flag `--refesh`\n")
        .stderr_has("hint: did you mean `--refresh`?")
        .stderr_lacks("command not found");
    // The command's own flags are still its own.
    let out = nixpy(&project).args(["lock", "--chek"]).outcome();
    out.nixpy_error().stderr_has("did you mean `--check`?");
}

#[test]
fn add_pip_takes_every_requirement_after_it() {
    needs_nix!();
    let project =
        Project::with_manifest("").file("requirements.txt", "--no-index\n--find-links wheels\n");
    for name in ["nixpy-pc-a", "nixpy-pc-b"] {
        for version in ["1.0", "2.0"] {
            add_wheel(&project, name, version);
        }
    }
    nixpy(&project)
        .args(["add", "--pip", "nixpy-pc-a", "nixpy-pc-b<2"])
        .outcome()
        .success();
    assert_eq!(
        project.read("requirements.txt"),
        "--no-index\n--find-links wheels\nnixpy-pc-a\nnixpy-pc-b<2\n"
    );
    nixpy_python(
        &project,
        "import nixpy_pc_a, nixpy_pc_b; print(nixpy_pc_a.VERSION, nixpy_pc_b.VERSION)",
    )
    .outcome()
    .success()
    .stdout_is("2.0 1.0\n");
}

#[test]
fn init_direnv_in_an_existing_project_adds_just_the_envrc() {
    // init only writes files: no Nix needed.
    let project =
        Project::with_manifest("# mine\npackages = [\"hello\"]\n").file(".gitignore", "target/\n");
    nixpy(&project)
        .args(["init", "--direnv"])
        .outcome()
        .success()
        .stderr_has("direnv allow");
    assert_eq!(
        project.read("nixpy.toml"),
        "# mine\npackages = [\"hello\"]\n"
    );
    assert_eq!(
        project.read(".envrc"),
        "eval \"$(nixpy direnvrc)\"\nuse nixpy\n"
    );
    assert_eq!(project.read(".gitignore"), "target/\n.direnv/\n");
    // Again: nothing to do, nothing changed.
    nixpy(&project)
        .args(["init", "--direnv"])
        .outcome()
        .success()
        .stderr_has("already loads nixpy");

    let pyproject = Project::new().file("pyproject.toml", "[tool.nixpy]\npackages = []\n");
    nixpy(&pyproject)
        .args(["init", "--direnv"])
        .outcome()
        .success();
    assert!(pyproject.path(".envrc").is_file());
    assert!(!pyproject.path("nixpy.toml").exists());
    // Without --direnv an existing project is still refused, with the way out.
    nixpy(&project)
        .arg("init")
        .outcome()
        .nixpy_error()
        .stderr_has("`nixpy init --direnv` adds just an .envrc");
}

#[test]
fn a_package_named_as_the_interpreter_is_not_a_python_interpreter() {
    needs_nix!();
    let project = Project::with_manifest("python = \"hello\"\n");
    let out = nixpy_run(&project, ["true"]).outcome();
    out.nixpy_error()
        .stderr_has("error: `hello` is not a Python interpreter (python = \"hello\" in nixpy.toml)")
        .stderr_has("hint: set python to an interpreter of nixpkgs")
        .stderr_lacks("withPackages");
}

/// A nix-file whose evaluation fails with a message nixpy does not
/// recognise: the error shows Nix's message, and -v the command and Nix's
/// whole output (the trace included).
const FAILING_NIX_FILE: &str =
    "{ pkgs, ... }: [ (builtins.throw \"this module fails on purpose\") ]\n";

#[test]
fn run_with_v_shows_the_nix_command_and_its_whole_output() {
    needs_nix!();
    let project =
        Project::with_manifest("nix-files = [\"fail.nix\"]\n").file("fail.nix", FAILING_NIX_FILE);
    let out = nixpy_run(&project, ["true"]).outcome();
    out.nixpy_error()
        .stderr_has("this module fails on purpose")
        .stderr_lacks("while evaluating")
        .stderr_lacks("nixpy: $ ")
        .stderr_has("hint: run with -v for the Nix command and its whole output");
    let out = nixpy(&project).args(["-v", "run", "--", "true"]).outcome();
    out.nixpy_error()
        .stderr_has("this module fails on purpose")
        .stderr_has("Nix's whole output:")
        .stderr_has("while evaluating");
    let command = out
        .stderr
        .lines()
        .find(|l| l.starts_with("nixpy: $ ") && l.contains(" print-dev-env "))
        .unwrap_or_else(|| panic!("no Nix command line:\n{}", out.stderr));
    assert!(command.contains("--json"), "{command}");
}

#[test]
fn scripts_demo_says_what_it_does_before_compiling() {
    // A stub cargo that fails at once stands in for minutes of compiling.
    let stubs = temp_dir("nixpy-it-demo-stubs-");
    for (name, script) in [
        ("cargo", "#!/bin/sh\necho \"STUB CARGO $*\"\nexit 1\n"),
        (
            "rustc",
            "#!/bin/sh\necho 'host: x86_64-unknown-linux-gnu'\n",
        ),
    ] {
        let path = stubs.path().join(name);
        std::fs::write(&path, script).unwrap();
        set_mode(&path, 0o755);
    }
    let path = format!(
        "{}:{}",
        stubs.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo");
    let out = std::process::Command::new("bash")
        .args(["-c", "\"$0\" 2>&1"])
        .arg(&demo)
        .env("PATH", path)
        .stdin(std::process::Stdio::null())
        .outcome();
    let said = out
        .stdout
        .find("demo: building nixpy")
        .unwrap_or_else(|| panic!("the demo does not say it builds nixpy:\n{}", out.stdout));
    let cargo = out
        .stdout
        .find("STUB CARGO build --release")
        .unwrap_or_else(|| panic!("cargo did not run:\n{}", out.stdout));
    assert!(said < cargo, "said after compiling:\n{}", out.stdout);
    assert!(
        !out.stdout.contains("STUB CARGO build --release --quiet"),
        "cargo's progress is hidden:\n{}",
        out.stdout
    );
}
