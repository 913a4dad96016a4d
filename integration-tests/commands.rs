//! The everyday commands besides `run` (`add`, `remove`, `show`, `doctor`,
//! `cache-key`, `completions`, `man`), nixpy's progress output, and the one
//! format its error messages share.
//!
//! As in run.rs: the real binary, real Nix and the offline stand-in; every
//! test checks only what a user sees (exit status, the two streams, the
//! files left behind). Error messages are compared whole where that is
//! useful, with the temporary project folder replaced by `<project>`.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

/// `text` with the project folder written as `<project>`.
fn placeholders(project: &Project, text: &str) -> String {
    text.replace(&project.root().display().to_string(), "<project>")
}

/// stderr with the project folder replaced, compared whole.
#[track_caller]
fn assert_stderr_snapshot(project: &Project, out: &Outcome, expected: &str) {
    let got = placeholders(project, &out.stderr);
    assert_eq!(
        got, expected,
        "\n--- stderr (normalised) ---\n{got}--- expected ---\n{expected}--- command ---\n{}",
        out.command
    );
}

fn bytes(project: &Project, rel: &str) -> Vec<u8> {
    let path = project.path(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A folder whose only program is the host's Python (and uv): PATH for a
/// machine without Nix.
fn path_without_nix() -> tempfile::TempDir {
    let host = host_tools();
    let bin = temp_dir("nixpy-it-nonix-");
    symlink(&host.python, bin.path().join("python3")).unwrap();
    if host.uv.is_file() {
        symlink(&host.uv, bin.path().join("uv")).unwrap();
    }
    bin
}

/// The pure-Python wheel the pip tests install: `nixpy_cmds_demo.hi()`.
const DEMO_DIST: &str = "nixpy-cmds-demo";

fn demo_wheel(project: &Project) {
    let wheels = project.mkdir("wheels");
    make_wheel(
        &wheels,
        DEMO_DIST,
        "0.2.0",
        &[],
        &[(
            "nixpy_cmds_demo/__init__.py",
            "def hi():\n    return 'hi from the demo wheel'\n",
        )],
        &[],
    );
}

/// requirements.txt that installs only from the project's `wheels/` folder.
const LOCAL_WHEELS_ONLY: &str = "# local wheels only\n--no-index\n--find-links wheels\n";

// ---------------------------------------------------------------------------
// nixpy add
// ---------------------------------------------------------------------------

const DEMO_MANIFEST: &str = "\
# demo project: system tools from Nix
python = \"python3\"  # the interpreter
packages = [\"hello\"]  # system tools
python-packages = [\"numpy\"]

[env]
# where models live
MODEL_DIR = \"models\"
";

#[test]
fn add_edits_nixpy_toml_in_place_then_the_packages_run() {
    needs_nix!();
    let project = Project::with_manifest(DEMO_MANIFEST);
    nixpy(&project)
        .args(["add", "ffmpeg", "sox"])
        .outcome()
        .success()
        .stdout_is("")
        .stderr_has("nixpy: added ffmpeg to packages, sox to packages\n");
    // Only the packages line changed: comments, order, spacing kept.
    assert_eq!(
        project.read("nixpy.toml"),
        DEMO_MANIFEST.replace(
            "packages = [\"hello\"]  # system tools",
            "packages = [\"hello\", \"ffmpeg\", \"sox\"]  # system tools"
        )
    );
    assert!(
        project.path("nixpy.lock").is_file(),
        "add must write nixpy.lock"
    );
    nixpy_run(&project, ["sox"])
        .outcome()
        .success()
        .stdout_is(&standin_version("sox", "14.4.2"));
    // Adding what is already there changes nothing.
    let before = bytes(&project, "nixpy.toml");
    nixpy(&project)
        .args(["add", "sox"])
        .outcome()
        .success()
        .stderr_has("nothing (already there)");
    assert_eq!(bytes(&project, "nixpy.toml"), before);
}

#[test]
fn add_to_a_multiline_list_puts_each_new_item_on_its_own_line() {
    needs_nix!();
    let project =
        Project::with_manifest("packages = [\n  \"hello\", # greeting\n  \"jq\",    # json\n]\n");
    nixpy(&project)
        .args(["add", "ffmpeg", "sox"])
        .outcome()
        .success();
    // Today: `  "jq", "ffmpeg", "sox",    # json` -- "# json" now reads as sox's.
    assert_eq!(
        project.read("nixpy.toml"),
        "packages = [\n  \"hello\", # greeting\n  \"jq\",    # json\n  \"ffmpeg\",\n  \"sox\",\n]\n"
    );
}

#[test]
fn add_python_goes_to_python_packages() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy(&project)
        .args(["add", "--python", "six"])
        .outcome()
        .success()
        .stderr_has("nixpy: added six to python-packages\n");
    assert_eq!(
        project.read("nixpy.toml"),
        "packages = [\"hello\"]\npython-packages = [\"six\"]\n"
    );
    nixpy_run(
        &project,
        ["python", "-c", "import six; print(six.__version__)"],
    )
    .outcome()
    .success()
    .stdout_is("1.16.0\n");
}

#[test]
fn add_pip_appends_to_requirements_txt_and_remove_pip_takes_it_out() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n")
        .file("requirements.txt", LOCAL_WHEELS_ONLY);
    demo_wheel(&project);
    let manifest = bytes(&project, "nixpy.toml");
    nixpy(&project)
        .args(["add", "--pip", "nixpy-cmds-demo>=0.1"])
        .outcome()
        .success()
        .stderr_has("nixpy: added `nixpy-cmds-demo>=0.1` to requirements.txt\n");
    assert_eq!(
        project.read("requirements.txt"),
        format!("{LOCAL_WHEELS_ONLY}nixpy-cmds-demo>=0.1\n")
    );
    assert_eq!(
        bytes(&project, "nixpy.toml"),
        manifest,
        "nixpy.toml untouched"
    );
    let lock = project.read("nixpy.lock");
    assert!(
        lock.contains("nixpy-cmds-demo==0.2.0"),
        "not pinned:\n{lock}"
    );
    nixpy_run(
        &project,
        [
            "python",
            "-c",
            "import nixpy_cmds_demo; print(nixpy_cmds_demo.hi())",
        ],
    )
    .outcome()
    .success()
    .stdout_is("hi from the demo wheel\n");

    // Any spelling of the name finds the line.
    nixpy(&project)
        .args(["remove", "--pip", "Nixpy_Cmds.Demo"])
        .outcome()
        .success()
        .stderr_has("nixpy: removed nixpy-cmds-demo from requirements.txt\n");
    assert_eq!(project.read("requirements.txt"), LOCAL_WHEELS_ONLY);
    // Gone already: refused, naming it and the file.
    let out = nixpy(&project)
        .args(["remove", "--pip", DEMO_DIST])
        .outcome();
    out.nixpy_error();
    assert_stderr_snapshot(
        &project,
        &out,
        "error: none of nixpy-cmds-demo is in requirements.txt\n",
    );
    assert_eq!(project.read("requirements.txt"), LOCAL_WHEELS_ONLY);
}

/// Issue 13, item 20 (and issue 18): `remove --pip` of a pinned entry
/// with `--hash` continuation lines removes the lines together (it left
/// the `--hash` lines, which then broke the file), and `add --pip` replaces
/// the whole entry.
#[test]
fn pip_entries_with_hash_continuation_lines_are_edited_whole() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    demo_wheel(&project);
    let wheel = std::fs::read_dir(project.path("wheels"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let sha = Command::new("sha256sum").arg(&wheel).output().unwrap();
    let sha = String::from_utf8(sha.stdout).unwrap();
    let sha = sha.split_whitespace().next().unwrap();
    let pinned = format!(
        "{LOCAL_WHEELS_ONLY}nixpy-cmds-demo==0.2.0 \\\n    --hash=sha256:{sha} \\\n    --hash=sha256:{}\n",
        "0".repeat(64)
    );
    project.write("requirements.txt", &pinned);
    nixpy_run(&project, ["python", "-c", "import nixpy_cmds_demo"])
        .outcome()
        .success();
    nixpy(&project)
        .args(["add", "--pip", "nixpy-cmds-demo>=0.1"])
        .outcome()
        .success();
    assert_eq!(
        project.read("requirements.txt"),
        format!("{LOCAL_WHEELS_ONLY}nixpy-cmds-demo>=0.1\n")
    );
    project.write("requirements.txt", &pinned);
    nixpy(&project)
        .args(["remove", "--pip", "nixpy-cmds-demo"])
        .outcome()
        .success()
        .stderr_has("removed nixpy-cmds-demo from requirements.txt");
    assert_eq!(project.read("requirements.txt"), LOCAL_WHEELS_ONLY);
}

/// Issue 13, item 22: `add` edits an inline `[tool]` table (it said there
/// was no [tool.nixpy]), keeps CRLF line endings (they became LF), and
/// `remove` of a duplicated entry removes every copy (one stayed while
/// reported removed).
#[test]
fn add_and_remove_edit_inline_tables_crlf_files_and_duplicates() {
    needs_nix!();
    let project = Project::new().file(
        "pyproject.toml",
        "[project]\r\nname = \"x\"\r\nversion = \"0.1\"\r\n\r\n[tool]\r\nnixpy = { packages = [\"hello\", \"sox\", \"hello\"] }\r\n",
    );
    nixpy(&project).args(["add", "jq"]).outcome().success();
    let text = project.read("pyproject.toml");
    assert!(
        text.contains("nixpy = { packages = [\"hello\", \"sox\", \"hello\", \"jq\"] }\r\n"),
        "{text:?}"
    );
    assert_eq!(
        text.matches('\n').count(),
        text.matches("\r\n").count(),
        "{text:?}"
    );
    nixpy(&project)
        .args(["remove", "hello"])
        .outcome()
        .success()
        .stderr_has("removed hello from packages");
    let text = project.read("pyproject.toml");
    assert!(
        !text.contains("\"hello\""),
        "a copy of hello stayed: {text:?}"
    );
    nixpy_run(&project, ["jq", "--version"]).outcome().success();
}

/// Issue 13, item 22: a shell hook too large to hand to bash is one error
/// at build time naming the manifest's line (every command failed with
/// "Argument list too long"); an [env] value too large says what is wrong.
#[test]
fn a_hook_or_value_too_large_for_exec_is_explained() {
    needs_nix!();
    let padding = "# padding\n".repeat(14_000);
    let project = Project::with_manifest(&format!(
        "packages = [\"hello\"]\nshell-hook = \"\"\"\n{padding}export X=1\n\"\"\"\n"
    ));
    let out = nixpy_run(&project, ["hello"]).outcome();
    out.nixpy_error()
        .stderr_has("nixpy.toml:2: the shell hook is 136 KiB")
        .stderr_has("hint: move the bulk of shell-hook into a script");
    project.write(
        "nixpy.toml",
        &format!(
            "packages = [\"hello\"]\n[env]\nBIG = \"{}\"\n",
            "x".repeat(140_000)
        ),
    );
    nixpy_run(&project, ["hello"])
        .outcome()
        .nixpy_error()
        .stderr_has(
            "cannot start `hello`: its arguments and environment are larger than the system allows",
        )
        .stderr_has("hint:");
}

/// Issue 13, item 22: `nixpkgs = "path:./nixpkgs"` is the project's
/// folder (Nix took it relative to the generated flake in the cache).
#[test]
fn a_relative_nixpkgs_path_is_the_projects() {
    needs_nix!();
    let project =
        Project::with_manifest("nixpkgs = \"path:./vendor/nixpkgs\"\npackages = [\"hello\"]\n");
    let vendor = project.mkdir("vendor/nixpkgs");
    for entry in std::fs::read_dir(&standin().dir).unwrap().flatten() {
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), vendor.join(entry.file_name())).unwrap();
        }
    }
    nixpy_run(&project, ["hello"])
        .env_remove("NIXPY_NIXPKGS")
        .outcome()
        .success()
        .stdout_is(&standin_version("hello", "2.12.1"));
}

/// Issue 13, item 22: CI=False (any case) is not CI: the lock is written.
#[test]
fn ci_false_is_not_ci() {
    needs_nix!();
    for value in ["False", "false", "0", ""] {
        let project = Project::with_manifest("packages = [\"hello\"]\n");
        nixpy_run(&project, ["hello"])
            .env("CI", value)
            .outcome()
            .success();
        assert!(
            project.path("nixpy.lock").exists(),
            "CI={value:?} kept the lock from being written"
        );
    }
}

/// Issue 13, item 22: a project path with a newline: status lines stay one
/// line each, and direnv's watch list says what it cannot hold.
#[test]
fn a_newline_in_the_project_path_is_shown_escaped_and_explained() {
    needs_nix!();
    let parent = temp_dir("nixpy-it-newline-");
    let root = parent.path().join("new\nline");
    std::fs::create_dir(&root).unwrap();
    set_mode(&root, 0o755);
    std::fs::write(root.join("nixpy.toml"), "packages = [\"hello\"]\n").unwrap();
    let cache = temp_dir("nixpy-it-cache-");
    let nixpy_here = |args: &[&str]| nixpy_in(&root, cache.path()).args(args).outcome();
    let out = nixpy_here(&["run", "--", "hello"]);
    out.success();
    assert!(
        !out.stderr.contains("new\nline"),
        "a status line broke in two:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("new\\nline/nixpy.lock"),
        "{}",
        out.stderr
    );
    nixpy_here(&["env", "--watch-files"])
        .success()
        .stderr_has("have a newline in their path")
        .stderr_has("hint:");
}

/// Issue 13, item 15: the manifest, the lock and a requirements file that
/// are symlinks (a shared config folder) are edited through the link: the
/// target changes, atomically, and the link stays a link (it used to be
/// replaced by a plain file).
#[test]
fn edits_go_through_symlinks_to_their_targets() {
    needs_nix!();
    let project = Project::new()
        .file("shared/nixpy.toml", "packages = [\"hello\"]\n")
        .file("shared/requirements.txt", LOCAL_WHEELS_ONLY);
    demo_wheel(&project);
    std::fs::rename(project.path("wheels"), project.path("shared/wheels")).unwrap();
    for name in ["nixpy.toml", "requirements.txt", "nixpy.lock"] {
        std::os::unix::fs::symlink(format!("shared/{name}"), project.path(name)).unwrap();
    }
    let links_kept = |after: &str| {
        for name in ["nixpy.toml", "requirements.txt", "nixpy.lock"] {
            let meta = std::fs::symlink_metadata(project.path(name)).unwrap();
            assert!(
                meta.is_symlink(),
                "{name} is no longer a link after {after}"
            );
        }
    };
    nixpy(&project).args(["lock"]).outcome().success();
    links_kept("lock");
    assert!(project.read("shared/nixpy.lock").contains("[nixpkgs"));
    nixpy(&project).args(["add", "jq"]).outcome().success();
    links_kept("add");
    assert!(project.read("shared/nixpy.toml").contains("\"jq\""));
    nixpy(&project)
        .args(["add", "--pip", "nixpy-cmds-demo>=0.1"])
        .outcome()
        .success();
    links_kept("add --pip");
    assert!(project
        .read("shared/requirements.txt")
        .contains("nixpy-cmds-demo>=0.1"));
    assert!(project
        .read("shared/nixpy.lock")
        .contains("nixpy-cmds-demo"));
    nixpy(&project)
        .args(["remove", "--pip", "nixpy-cmds-demo"])
        .outcome()
        .success();
    links_kept("remove --pip");
    assert_eq!(project.read("shared/requirements.txt"), LOCAL_WHEELS_ONLY);
}

const DEMO_PYPROJECT: &str = "\
[project]
name = \"demo\"
version = \"0.1.0\"
dependencies = [\"six\"]  # six comes from Nix

[tool.nixpy]
# system tools
packages = [\"hello\"]  # tools
python-packages = [\"six\", \"attrs\"]
";

#[test]
fn add_in_a_pyproject_project_edits_tool_nixpy_and_project_dependencies() {
    needs_nix!();
    // No requirements.txt: [project].dependencies is the pip source. attrs
    // and six are Nix-provided, so the pip layer needs no index.
    let project = Project::new().file("pyproject.toml", DEMO_PYPROJECT);
    nixpy(&project)
        .args(["add", "jq"])
        .outcome()
        .success()
        .stderr_has("nixpy: added jq to packages\n");
    nixpy(&project)
        .args(["add", "--python", "numpy"])
        .outcome()
        .success();
    nixpy(&project)
        .args(["add", "--pip", "attrs>=20"])
        .outcome()
        .success()
        .stderr_has("nixpy: added `attrs>=20` to pyproject.toml\n");
    let expected = DEMO_PYPROJECT
        .replace(
            "dependencies = [\"six\"]",
            "dependencies = [\"six\", \"attrs>=20\"]",
        )
        .replace(
            "packages = [\"hello\"]  # tools",
            "packages = [\"hello\", \"jq\"]  # tools",
        )
        .replace(
            "python-packages = [\"six\", \"attrs\"]",
            "python-packages = [\"six\", \"attrs\", \"numpy\"]",
        );
    assert_eq!(project.read("pyproject.toml"), expected);
    let listing: Vec<String> = project.listing().into_iter().collect();
    assert_eq!(
        listing,
        [".venv", "nixpy.lock", "pyproject.toml"],
        "no nixpy.toml or requirements.txt may appear (.venv: the project interpreter's link)"
    );
    nixpy_run(&project, ["jq"])
        .outcome()
        .success()
        .stdout_is(&standin_version("jq", "1.7.1"));
    nixpy(&project)
        .args(["remove", "--pip", "attrs"])
        .outcome()
        .success();
    assert_eq!(
        project.read("pyproject.toml"),
        expected.replace("[\"six\", \"attrs>=20\"]", "[\"six\"]")
    );
}

/// Issue 13, item 16: a failed `add --pip` in a project without a
/// requirements file leaves none behind (it left an empty one), nor a
/// lock the edit wrote, and `add` of a Nix package with a pip
/// requirement rolls both files back together.
#[test]
fn a_failed_add_leaves_no_new_file_and_rolls_back_every_file() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\npython-packages = [\"six\"]\n");
    let manifest = bytes(&project, "nixpy.toml");
    // Nix provides six 1.16: the pip requirement conflicts and the edit fails.
    nixpy(&project)
        .args(["add", "--pip", "six<1.10"])
        .outcome()
        .nixpy_error()
        .stderr_has("left as it was");
    assert_eq!(
        project.listing().into_iter().collect::<Vec<_>>(),
        ["nixpy.toml"],
        "a failed edit left files behind"
    );
    nixpy(&project)
        .args(["add", "jq", "--pip", "six<1.10"])
        .outcome()
        .nixpy_error()
        .stderr_has("nixpy.toml and requirements.txt was left as it was");
    assert_eq!(bytes(&project, "nixpy.toml"), manifest);
    assert!(!project.path("requirements.txt").exists());
}

#[test]
fn add_refuses_names_not_in_the_pinned_nixpkgs_with_close_matches() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]  # tools\n");
    let manifest = bytes(&project, "nixpy.toml");
    for (args, tail) in [
        (
            &["add", "fmpeg"][..],
            "error: `fmpeg` is not in the pinned nixpkgs; nothing was changed\n  hint: did you mean `ffmpeg`?\n",
        ),
        (
            &["add", "llvmPackages.clangg"][..],
            "error: `llvmPackages.clangg` is not in the pinned nixpkgs; nothing was changed\n  hint: did you mean `llvmPackages.clang`?\n",
        ),
        (
            &["add", "--python", "sixx"][..],
            "error: `sixx` is not in the pinned python3.pkgs; nothing was changed\n  hint: did you mean `six`?\n",
        ),
        (
            &["add", "zzzzzz"][..],
            "error: `zzzzzz` is not in the pinned nixpkgs; nothing was changed\n  hint: check the name on search.nixos.org/packages\n",
        ),
    ] {
        let out = nixpy(&project).args(args).outcome();
        out.nixpy_error();
        assert!(
            out.stderr.ends_with(tail),
            "{args:?}: stderr should end with\n{tail}--- got ---\n{}",
            out.stderr
        );
        assert_eq!(bytes(&project, "nixpy.toml"), manifest, "{args:?} changed nixpy.toml");
        let listing: Vec<String> = project.listing().into_iter().collect();
        assert_eq!(listing, ["nixpy.toml"], "{args:?} left files behind");
    }
}

#[test]
fn add_of_a_package_that_fails_to_build_leaves_the_project_as_it_was() {
    needs_nix!();
    // With a lock already there: both files come back byte for byte.
    let project = Project::with_manifest("# tools\npackages = [\"hello\"]  # keep\n");
    nixpy_run(&project, ["true"]).outcome().success();
    let (manifest, lock) = (bytes(&project, "nixpy.toml"), bytes(&project, "nixpy.lock"));
    let out = nixpy(&project).args(["add", "broken"]).outcome();
    out.nixpy_error()
        .stderr_has("broken.c:3: error: this package fails on purpose")
        .stderr_has("error: the change did not build, so nixpy.toml was left as it was\n  hint: fix the cause above and run the command again\n");
    assert_eq!(bytes(&project, "nixpy.toml"), manifest);
    assert_eq!(bytes(&project, "nixpy.lock"), lock);
    // The environment still works as before.
    nixpy_run(&project, ["hello"])
        .outcome()
        .success()
        .stdout_is(&standin_version("hello", "2.12.1"));

    // Without a lock: none is left behind.
    let fresh = Project::with_manifest("packages = [\"hello\"]\n");
    let manifest = bytes(&fresh, "nixpy.toml");
    nixpy(&fresh)
        .args(["add", "broken"])
        .outcome()
        .nixpy_error()
        .stderr_has("fails on purpose")
        .stderr_has("left as it was");
    assert_eq!(bytes(&fresh, "nixpy.toml"), manifest);
    let listing: Vec<String> = fresh.listing().into_iter().collect();
    assert_eq!(listing, ["nixpy.toml"]);
}

// ---------------------------------------------------------------------------
// nixpy remove
// ---------------------------------------------------------------------------

#[test]
fn remove_takes_packages_and_python_packages_out() {
    needs_nix!();
    let project = Project::with_manifest(
        "packages = [\"hello\", \"sox\"]  # tools\npython-packages = [\"numpy\", \"six\"]\n",
    );
    nixpy(&project)
        .args(["remove", "sox"])
        .outcome()
        .success()
        .stderr_has("nixpy: removed sox from packages\n");
    nixpy(&project)
        .args(["remove", "--python", "six"])
        .outcome()
        .success()
        .stderr_has("nixpy: removed six from python-packages\n");
    let expected = "packages = [\"hello\"]  # tools\npython-packages = [\"numpy\"]\n";
    assert_eq!(project.read("nixpy.toml"), expected);
    // sox is no longer the shell's (the host may have its own).
    let out = nixpy_run(&project, ["sh", "-c", "command -v sox || true"]).outcome();
    out.success();
    assert!(
        !out.stdout.contains("/nix/store/"),
        "sox still comes from the shell: {}",
        out.stdout
    );
    nixpy_run(
        &project,
        [
            "python",
            "-c",
            "import numpy, importlib.util as u; print(u.find_spec('six'))",
        ],
    )
    .outcome()
    .success()
    .stdout_is("None\n");
}

#[test]
fn removing_what_is_not_there_is_refused_naming_it() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\npython-packages = [\"six\"]\n");
    let manifest = bytes(&project, "nixpy.toml");
    for (args, expected) in [
        (
            &["remove", "sox"][..],
            "error: `sox` is not in packages of nixpy.toml\n  hint: `nixpy show` lists what the manifest has\n",
        ),
        (
            &["remove", "--python", "numpy"][..],
            "error: `numpy` is not in python-packages of nixpy.toml\n  hint: `nixpy show` lists what the manifest has\n",
        ),
        (
            &["remove", "--pip", "requests"][..],
            "error: none of requests is in requirements.txt\n",
        ),
    ] {
        let out = nixpy(&project).args(args).outcome();
        out.nixpy_error();
        assert_stderr_snapshot(&project, &out, expected);
        assert_eq!(bytes(&project, "nixpy.toml"), manifest, "{args:?} changed nixpy.toml");
        let listing: Vec<String> = project.listing().into_iter().collect();
        assert_eq!(listing, ["nixpy.toml"], "{args:?} left files behind");
    }
}

#[test]
fn remove_from_a_commented_multiline_list_keeps_the_other_items_comments() {
    needs_nix!();
    let project = Project::with_manifest(
        "packages = [\n  \"hello\", # greeting\n  \"jq\",    # json\n  \"sox\",\n]\n",
    );
    nixpy(&project).args(["remove", "jq"]).outcome().success();
    // Today: `  "hello",    # json` -- hello's comment gone, jq's kept.
    assert_eq!(
        project.read("nixpy.toml"),
        "packages = [\n  \"hello\", # greeting\n  \"sox\",\n]\n"
    );
}

#[test]
fn remove_of_the_first_item_leaves_a_tidy_list() {
    needs_nix!();
    let project = Project::with_manifest("python-packages = [\"six\", \"numpy\"]\n");
    nixpy(&project)
        .args(["remove", "--python", "six"])
        .outcome()
        .success();
    // Today: `python-packages = [ "numpy"]`
    assert_eq!(
        project.read("nixpy.toml"),
        "python-packages = [\"numpy\"]\n"
    );
}

#[test]
fn remove_with_no_names_hints_at_remove() {
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let out = nixpy(&project).arg("remove").outcome();
    out.nixpy_error().stderr_has("hint:");
    // Today: `hint: nixpy add ffmpeg sox, nixpy add --python numpy, nixpy add --pip 'requests>=2'`
    out.stderr_lacks("nixpy add");
}

// ---------------------------------------------------------------------------
// nixpy show
// ---------------------------------------------------------------------------

#[test]
fn show_names_the_sources_and_whether_the_cache_is_fresh() {
    let Some(standin) = require_nix() else { return };
    let project = Project::with_manifest("packages = [\"hello\"]\npython-packages = [\"six\"]\n")
        .file(
            "requirements.txt",
            &format!("{LOCAL_WHEELS_ONLY}{DEMO_DIST}\n"),
        );
    demo_wheel(&project);
    nixpy_run(&project, ["true"]).outcome().success();

    let out = nixpy(&project).arg("show").outcome();
    out.success();
    let root = project.root().display().to_string();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let has = |prefix: &str| lines.iter().any(|l| l.starts_with(prefix));
    for wanted in [
        format!("project:          {root} (nixpy.toml)"),
        format!("nixpkgs:          {} (sha256-", standin.flake_ref),
        "python:           python3 -> /nix/store/".to_owned(),
        "packages:         hello".to_owned(),
        "python-packages:  six".to_owned(),
        "pip sources:      requirements.txt".to_owned(),
        "pip pins:         1".to_owned(),
        format!("  {DEMO_DIST}==0.2.0"),
        "provided by Nix:  six 1.16.0".to_owned(),
        "cache:            fresh".to_owned(),
    ] {
        assert!(
            has(&wanted),
            "no line starting {wanted:?} in:\n{}",
            out.stdout
        );
    }
    let json = nixpy(&project)
        .args(["show", "--json"])
        .outcome()
        .success()
        .json();
    for key in ["project", "nixpkgs", "python", "packages", "pip", "cache"] {
        assert!(json.get(key).is_some(), "no {key:?} in {json:#}");
    }
    assert_eq!(json["project"], root.as_str());
    assert_eq!(json["packages"][0]["attribute"], "hello");
    assert_eq!(json["python"]["attribute"], "python3");
    assert_eq!(json["pip"]["pins"][0]["name"], DEMO_DIST);
    assert_eq!(json["cache"]["state"], "fresh");

    // Any change to an input makes the cache stale, and show says which.
    project.write(
        "requirements.txt",
        &format!("{LOCAL_WHEELS_ONLY}{DEMO_DIST}\n# touched\n"),
    );
    let out = nixpy(&project).arg("show").outcome();
    out.success();
    let cache = out
        .stdout
        .lines()
        .find(|l| l.starts_with("cache:"))
        .unwrap_or_else(|| panic!("no cache line:\n{}", out.stdout));
    assert!(
        cache.starts_with("cache:            stale (")
            && cache.contains("requirements.txt changed)"),
        "{cache}"
    );
    let json = nixpy(&project)
        .args(["show", "--json"])
        .outcome()
        .success()
        .json();
    assert_eq!(json["cache"]["state"], "stale");
    assert!(
        json["cache"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("requirements.txt")),
        "{json:#}"
    );
}

// ---------------------------------------------------------------------------
// nixpy doctor
// ---------------------------------------------------------------------------

#[test]
fn doctor_passes_in_a_built_project() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy_run(&project, ["true"]).outcome().success();
    let out = nixpy(&project).arg("doctor").outcome();
    out.success().stdout_has("all checks passed\n");
    for check in [
        "nix",
        "flakes",
        "nix store",
        "cache folder",
        "project",
        "nixpkgs pin",
        "gc roots",
        "installer",
    ] {
        let prefix = format!("ok    {check:13} ");
        assert!(
            out.stdout.lines().any(|l| l.starts_with(&prefix)),
            "no `{prefix}` line:\n{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains("FAIL"), "{}", out.stdout);
}

#[test]
fn doctor_without_nix_fails_with_a_fix() {
    // Needs no Nix: PATH without it, as on a machine where it is missing.
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let bin = path_without_nix();
    let out = nixpy(&project)
        .arg("doctor")
        .env("PATH", bin.path())
        .outcome();
    assert!(
        !out.status.success(),
        "doctor passed without Nix:\n{}",
        out.stdout
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("FAIL  nix "))
        .unwrap_or_else(|| panic!("no `FAIL  nix` line:\n{}", out.stdout));
    let fix = lines.get(at + 1).copied().unwrap_or_default();
    assert!(
        fix.trim_start().starts_with("fix: ") && fix.contains("install"),
        "the line after the failure should say how to install Nix: {fix:?}\n{}",
        out.stdout
    );
    assert!(out.stdout.contains("check(s) failed"), "{}", out.stdout);
}

#[test]
fn doctor_fails_the_cache_check_for_an_unwritable_cache_folder() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let out = nixpy(&project)
        .arg("doctor")
        .env("NIXPY_CACHE_DIR", "/proc/nixpy-cache")
        .outcome();
    assert!(!out.status.success(), "doctor passed:\n{}", out.stdout);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("FAIL  cache folder "))
        .unwrap_or_else(|| panic!("no `FAIL  cache folder` line:\n{}", out.stdout));
    assert!(lines[at].contains("/proc/nixpy-cache"), "{}", lines[at]);
    assert_eq!(
        lines.get(at + 1).map(|l| l.trim()),
        Some("fix: set NIXPY_CACHE_DIR to a writable folder"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.lines().any(|l| l.starts_with("ok    nix ")),
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------------------
// Progress output
// ---------------------------------------------------------------------------

const BUILD_PHASE: &str = "nixpy: building the Nix shell";

/// Seconds of a `nixpy: <phase>: done in 1.2s` line.
fn done_in(line: &str) -> Option<f64> {
    let rest = line.split(": done in ").nth(1)?;
    rest.strip_suffix('s')?.parse().ok()
}

#[test]
fn cold_run_prints_timed_phase_lines_when_stderr_is_not_a_terminal() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"jq\"]\n");
    let out = nixpy_run(&project, ["true"])
        .env_remove("GITHUB_ACTIONS")
        .outcome();
    out.success().stdout_is("");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(BUILD_PHASE) && l.ends_with(" ...")),
        "no start line:\n{}",
        out.stderr
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(BUILD_PHASE) && done_in(l).is_some()),
        "no `{BUILD_PHASE} ...: done in N.Ns` line:\n{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains('\x1b') && !out.stderr.contains('\r'),
        "terminal control characters in piped stderr: {:?}",
        out.stderr
    );
    assert!(!out.stderr.contains("::group::"), "{}", out.stderr);
}

#[test]
fn quiet_cold_run_prints_nothing() {
    needs_nix!();
    // Cold: a lock to write, a shell to build, all silently.
    let project = Project::with_manifest("packages = [\"jq\"]\n");
    let out = nixpy(&project)
        .args(["-q", "run", "--", "jq"])
        .env_remove("GITHUB_ACTIONS")
        .outcome();
    out.success().stdout_is(&standin_version("jq", "1.7.1"));
    assert_eq!(out.stderr, "", "-q printed on stderr");
    assert!(project.path("nixpy.lock").is_file());
}

#[test]
fn github_actions_phases_are_collapsible_groups() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"jq\"]\n");
    let out = nixpy_run(&project, ["true"])
        .env("GITHUB_ACTIONS", "true")
        .outcome();
    out.success();
    let lines: Vec<&str> = out.stderr.lines().collect();
    let open = lines
        .iter()
        .position(|l| l.starts_with(&format!("::group::{BUILD_PHASE}")))
        .unwrap_or_else(|| panic!("no ::group:: for the build:\n{}", out.stderr));
    let done = open
        + 1
        + lines[open + 1..]
            .iter()
            .position(|l| l.starts_with(BUILD_PHASE) && done_in(l).is_some())
            .unwrap_or_else(|| panic!("no done line after the group:\n{}", out.stderr));
    assert_eq!(
        lines.get(done + 1).copied(),
        Some("::endgroup::"),
        "{}",
        out.stderr
    );
    let opened = lines.iter().filter(|l| l.starts_with("::group::")).count();
    let closed = lines.iter().filter(|l| **l == "::endgroup::").count();
    assert_eq!(opened, closed, "unbalanced groups:\n{}", out.stderr);
}

/// A nix-files entry whose one derivation takes about two seconds to build,
/// named so that no earlier run has built it.
fn slow_build_project() -> Project {
    let nix = format!(
        "{{ pkgs, ... }}: [ (builtins.derivation {{ name = \"{}\"; system = builtins.currentSystem; builder = \"/bin/sh\"; args = [ \"-c\" \"/bin/sleep 2; /bin/mkdir $out\" ]; }}) ]\n",
        unique_name("slow")
    );
    Project::with_manifest("nix-files = [\"slow.nix\"]\n").file("slow.nix", &nix)
}

/// tmux is needed for the terminal tests; like Nix, its absence is a skip
/// unless CI or NIXPY_REQUIRE_NIX says the tests must run.
fn require_tmux() -> bool {
    if which("tmux").is_some() {
        return true;
    }
    let must = std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var_os("NIXPY_REQUIRE_NIX").is_some();
    assert!(!must, "tmux is not installed; the terminal tests need it");
    use std::io::Write as _;
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: tmux is not installed");
    false
}

/// A detached tmux session on a private server (its own socket), running
/// one nixpy command on a wide terminal. That server, and only it, is
/// killed on drop.
struct TmuxRun {
    socket: String,
    rc_file: PathBuf,
    _scratch: tempfile::TempDir,
}

impl TmuxRun {
    /// Runs `nixpy run -- true` for `project` (with `redirect` appended to
    /// the command line, e.g. `2>FILE`), environment as [`nixpy`] sets it.
    fn start(project: &Project, redirect: &str) -> TmuxRun {
        let scratch = temp_dir("nixpy-it-tmux-");
        let rc_file = scratch.path().join("rc");
        let script = scratch.path().join("run.sh");
        let q = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
        std::fs::write(
            &script,
            format!(
                "cd {root} || exit 99\n{nixpy} run -- true {redirect}\necho $? > {rc}.tmp && mv {rc}.tmp {rc}\nexec sleep 300\n",
                root = q(project.root()),
                nixpy = q(Path::new(NIXPY)),
                rc = q(&rc_file),
            ),
        )
        .unwrap();
        // The server's socket lives in the scratch folder, removed with it.
        let socket = scratch.path().join("tmux.sock").display().to_string();
        let mut tmux = Command::new("tmux");
        // The environment nixpy() gives, so the server (and the pane) gets it.
        let base = nixpy(project);
        for (name, value) in base.get_envs() {
            match value {
                Some(v) => tmux.env(name, v),
                None => tmux.env_remove(name),
            };
        }
        tmux.env_remove("GITHUB_ACTIONS")
            .env_remove("TMUX")
            .args([
                "-S",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "220",
                "-y",
                "40",
                "sh",
            ])
            .arg(&script)
            .stdin(Stdio::null());
        let run = TmuxRun {
            socket,
            rc_file,
            _scratch: scratch,
        };
        tmux.outcome().success();
        run
    }

    fn capture(&self) -> String {
        let out = Command::new("tmux")
            .args(["-S", &self.socket, "capture-pane", "-p"])
            .stdin(Stdio::null())
            .output()
            .expect("run tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Captures the pane every 100 ms until nixpy exits; returns the
    /// captures (the last one taken after the exit) and the exit status.
    fn frames_until_done(&self) -> (Vec<String>, String) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut frames = Vec::new();
        loop {
            let done = self.rc_file.is_file();
            frames.push(self.capture());
            if done {
                let rc = std::fs::read_to_string(&self.rc_file).unwrap();
                return (frames, rc.trim().to_owned());
            }
            assert!(
                Instant::now() < deadline,
                "nixpy did not finish in the tmux pane; last frame:\n{}",
                frames.last().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for TmuxRun {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-S", &self.socket, "kill-server"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The seconds of a spinner line `<frame> nixpy: building ... (1s)`.
fn spinner_seconds(line: &str) -> Option<u32> {
    let at = line.find(BUILD_PHASE)?;
    if at == 0 || line.contains(": done in ") {
        return None; // no spinner frame before it, or the finished line
    }
    let t = line.trim_end();
    let inner = t.strip_suffix("s)")?;
    let open = inner.rfind('(')?;
    inner[open + 1..].parse().ok()
}

#[test]
fn spinner_with_elapsed_time_on_a_terminal() {
    needs_nix!();
    if !require_tmux() {
        return;
    }
    let project = slow_build_project();
    let run = TmuxRun::start(&project, "");
    let (frames, rc) = run.frames_until_done();
    assert_eq!(
        rc,
        "0",
        "nixpy failed; last frame:\n{}",
        frames.last().unwrap()
    );
    let ticking: Vec<(u32, &str)> = frames
        .iter()
        .flat_map(|f| f.lines())
        .filter_map(|l| spinner_seconds(l).map(|s| (s, l)))
        .collect();
    assert!(
        ticking.iter().any(|(s, _)| *s >= 1),
        "no spinner line with an elapsed time of 1s or more in {} frames; spinner lines seen: {:?}\nlast frame:\n{}",
        frames.len(),
        ticking,
        frames.last().unwrap()
    );
    // Once finished the spinner is gone, replaced by the timed line.
    let last = frames.last().unwrap();
    assert!(
        last.lines().all(|l| spinner_seconds(l).is_none()),
        "a spinner line was left behind:\n{last}"
    );
    assert!(
        last.lines()
            .any(|l| l.starts_with(BUILD_PHASE) && done_in(l).is_some_and(|s| s >= 1.5)),
        "no `done in` line of about two seconds:\n{last}"
    );
}

#[test]
fn stderr_redirected_to_a_file_gets_plain_lines_even_on_a_terminal() {
    needs_nix!();
    if !require_tmux() {
        return;
    }
    let project = slow_build_project();
    let log = temp_dir("nixpy-it-stderr-");
    let err_file = log.path().join("stderr.txt");
    let run = TmuxRun::start(&project, &format!("2>'{}'", err_file.display()));
    let (frames, rc) = run.frames_until_done();
    let err = std::fs::read_to_string(&err_file).unwrap();
    assert_eq!(rc, "0", "nixpy failed:\n{err}");
    assert!(
        !err.contains('\x1b') && !err.contains('\r'),
        "spinner frames or escapes in the redirected stderr: {err:?}"
    );
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(BUILD_PHASE) && l.ends_with(" ...")),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(BUILD_PHASE) && done_in(l).is_some()),
        "{err}"
    );
    // And nothing of nixpy's reached the terminal (stdout).
    for frame in &frames {
        assert!(
            !frame.contains("nixpy:"),
            "nixpy wrote to the terminal:\n{frame}"
        );
    }
}

// ---------------------------------------------------------------------------
// -v, -vv and NIXPY_LOG
// ---------------------------------------------------------------------------

#[test]
fn debug_logs_show_the_nix_commands() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"jq\"]\n");
    let out = nixpy(&project).args(["-vv", "run", "--", "true"]).outcome();
    out.success().stdout_is("").stderr_has("running nix");

    let project = Project::with_manifest("packages = [\"jq\"]\n");
    nixpy_run(&project, ["true"])
        .env("NIXPY_LOG", "debug")
        .outcome()
        .success()
        .stdout_is("")
        .stderr_has("running nix");

    // One -v is more detail, not debug logs.
    let project = Project::with_manifest("packages = [\"jq\"]\n");
    nixpy(&project)
        .args(["-v", "run", "--", "true"])
        .outcome()
        .success()
        .stderr_has(BUILD_PHASE)
        .stderr_lacks("running nix");
}

#[test]
fn debug_logs_to_a_pipe_have_no_colour_escapes() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"jq\"]\n");
    let out = nixpy(&project).args(["-vv", "run", "--", "true"]).outcome();
    out.success().stderr_has("running nix");
    // Today: `\x1b[34mDEBUG\x1b[0m \x1b[2mnixpy::nix\x1b[0m...`
    assert!(!out.stderr.contains('\x1b'), "{:?}", out.stderr);
}

// ---------------------------------------------------------------------------
// Error messages
// ---------------------------------------------------------------------------

/// One case of a user mistake caught before Nix runs.
struct Mistake {
    what: &'static str,
    files: &'static [(&'static str, &'static str)],
    /// The `file:line[:col]` the error must name, relative to the project.
    position: &'static str,
    /// TOML errors show the line with a caret row under the span.
    caret: bool,
}

const MISTAKES: &[Mistake] = &[
    Mistake {
        what: "malformed TOML",
        files: &[(
            "nixpy.toml",
            "packages = [\"hello\"\npython = \"python3\"\n",
        )],
        position: "nixpy.toml:2:1",
        caret: true,
    },
    Mistake {
        what: "unknown key",
        files: &[(
            "nixpy.toml",
            "python = \"python3\"\npakages = [\"ffmpeg\"]\n",
        )],
        position: "nixpy.toml:2:1",
        caret: true,
    },
    Mistake {
        what: "bad attribute path",
        files: &[("nixpy.toml", "packages = [\"hello\", \"b@d\"]\n")],
        position: "nixpy.toml:1:22",
        caret: true,
    },
    Mistake {
        what: "requirements syntax error",
        files: &[
            ("nixpy.toml", "packages = [\"hello\"]\n"),
            ("requirements.txt", "requests>=2\nfoo==\n"),
        ],
        position: "requirements.txt:2",
        caret: false,
    },
    Mistake {
        what: "missing nix-file",
        files: &[("nixpy.toml", "nix-files = [\"missing.nix\"]\n")],
        position: "nixpy.toml:1:14",
        caret: true,
    },
];

fn mistake_project(m: &Mistake) -> Project {
    let mut project = Project::new();
    for (rel, text) in m.files {
        project = project.file(rel, text);
    }
    project
}

#[test]
fn errors_share_one_format() {
    needs_nix!();
    for m in MISTAKES {
        let project = mistake_project(m);
        let out = nixpy_run(&project, ["true"]).outcome();
        out.nixpy_error();
        let err = placeholders(&project, &out.stderr);
        let ctx = format!("{}:\n{err}", m.what);
        assert!(err.starts_with("error: "), "{ctx}");
        assert!(
            err.starts_with(&format!("error: <project>/{}: ", m.position)),
            "expected the position {} first: {ctx}",
            m.position
        );
        let lines: Vec<&str> = err.lines().collect();
        assert!(
            lines.last().is_some_and(|l| l.starts_with("  hint: ")),
            "the last line should be the hint: {ctx}"
        );
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("error: ")).count(),
            1,
            "{ctx}"
        );
        let has_caret = lines
            .iter()
            .any(|l| l.trim_start().starts_with('|') && l.trim_end().ends_with('^'));
        assert_eq!(has_caret, m.caret, "caret row: {ctx}");
        // `add` reads the same files and reports them the same way.
        let listing = project.listing();
        let add = nixpy(&project).args(["add", "hello"]).outcome();
        add.nixpy_error();
        assert_eq!(
            placeholders(&project, &add.stderr),
            err,
            "{}: `nixpy add` reports it differently",
            m.what
        );
        assert_eq!(
            project.listing(),
            listing,
            "{}: add left files behind",
            m.what
        );
    }
}

#[test]
fn error_snapshots() {
    needs_nix!();
    let snapshot = |m: &Mistake, expected: &str| {
        let project = mistake_project(m);
        let out = nixpy_run(&project, ["true"]).outcome();
        out.nixpy_error();
        assert_stderr_snapshot(&project, &out, expected);
    };
    snapshot(
        &MISTAKES[2],
        "\
error: <project>/nixpy.toml:1:22: `b@d` is not a nixpkgs attribute path: '@' is not allowed (letters, digits, _, - and ' only)
  |
1 | packages = [\"hello\", \"b@d\"]
  |                      ^^^^^
  hint: use nixpkgs attribute names such as ffmpeg or llvmPackages.clang
",
    );
    snapshot(
        &MISTAKES[3],
        "\
error: <project>/requirements.txt:2: invalid requirement `foo==`: Unexpected end of version specifier, expected version
  hint: see https://pip.pypa.io/en/stable/reference/requirements-file-format/
",
    );
    snapshot(
        &MISTAKES[4],
        "\
error: <project>/nixpy.toml:1:14: cannot open nix-files entry `missing.nix`: No such file or directory (os error 2)
  |
1 | nix-files = [\"missing.nix\"]
  |              ^^^^^^^^^^^^^
  hint: create the file, or fix the path (relative to the folder of the manifest)
",
    );
    // The manifest-parse errors: whole text up to the hint, whose first
    // words are checked (its mention of `nixpy init` is a known bug, see
    // hints_name_only_commands_that_exist).
    let body_and_hint = |m: &Mistake, body: &str, hint_start: &str| {
        let project = mistake_project(m);
        let out = nixpy_run(&project, ["true"]).outcome();
        out.nixpy_error();
        let err = placeholders(&project, &out.stderr);
        let (got_body, hint) = err
            .split_once("  hint: ")
            .unwrap_or_else(|| panic!("no hint:\n{err}"));
        assert_eq!(got_body, body, "\n--- stderr (normalised) ---\n{err}");
        assert!(hint.starts_with(hint_start), "hint: {hint}");
        assert_eq!(hint.matches('\n').count(), 1, "one hint line: {hint:?}");
    };
    body_and_hint(
        &MISTAKES[0],
        "\
error: <project>/nixpy.toml:2:1: invalid array
expected `]`
  |
2 | python = \"python3\"
  | ^
",
        "see the list of manifest keys in README.md",
    );
    body_and_hint(
        &MISTAKES[1],
        "\
error: <project>/nixpy.toml:2:1: unknown field `pakages`, expected one of `nixpkgs`, `python`, `packages`, `python-packages`, `nix-files`, `env`, `shell-hook`, `requirements`, `pip-extras`, `installer`, `libraries`, `app-modules`, `substituters`, `trusted-public-keys`, `nixpkgs-config`, `keep-generations`, `groups`, `venv`
  |
2 | pakages = [\"ffmpeg\"]
  | ^^^^^^^
",
        "see the list of manifest keys in README.md",
    );
}

/// The `nixpy <word>` commands a hint line tells the user to run.
fn commands_in_hints(stderr: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("hint:"))
    {
        for (i, _) in line.match_indices("`nixpy ") {
            let rest = &line[i + "`nixpy ".len()..];
            let word: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if !word.is_empty() {
                found.push(word);
            }
        }
    }
    found
}

#[test]
fn hints_name_only_commands_that_exist() {
    // Needs no Nix: both are found before Nix runs.
    let no_manifest = Project::new();
    let unknown_key = Project::with_manifest("pakages = [\"ffmpeg\"]\n");
    for project in [&no_manifest, &unknown_key] {
        let out = nixpy_run(project, ["true"]).outcome();
        out.nixpy_error();
        for word in commands_in_hints(&out.stderr) {
            let help = Command::new(NIXPY)
                .args([word.as_str(), "--help"])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert!(
                help.status.success(),
                "a hint names `nixpy {word}`, which is not a command:\n{}",
                out.stderr
            );
        }
    }
}

#[test]
fn unknown_package_at_run_is_one_line_without_a_nix_trace() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\", \"nosuchpkg\"]\n");
    let out = nixpy_run(&project, ["true"]).outcome();
    out.nixpy_error();
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "one error line:\n{}", out.stderr);
    assert!(
        errors[0].contains("`nosuchpkg`") && errors[0].contains("nixpy.toml"),
        "{}",
        errors[0]
    );
    assert!(
        out.stderr.lines().any(|l| l.starts_with("  hint: ")),
        "{}",
        out.stderr
    );
    for trace in ["while evaluating", "at /nix/store", "stack trace", "«"] {
        out.stderr_lacks(trace);
    }
}

// ---------------------------------------------------------------------------
// completions, man, cache-key
// ---------------------------------------------------------------------------

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(NIXPY)
            .args(["completions", shell])
            .stdin(Stdio::null())
            .outcome();
        out.success().stdout_has("nixpy");
        assert!(out.stdout.len() > 100, "{shell}: {}", out.stdout);
    }
    Command::new("bash")
        .args([
            "-c",
            "source <(\"$NIXPY\" completions bash) && complete -p nixpy",
        ])
        .env("NIXPY", NIXPY)
        .stdin(Stdio::null())
        .outcome()
        .success()
        .stdout_has("nixpy")
        .stdout_has("-F ");
}

#[test]
fn man_page_is_roff() {
    let out = Command::new(NIXPY)
        .arg("man")
        .stdin(Stdio::null())
        .outcome();
    out.success();
    assert!(
        out.stdout.lines().any(|l| l.starts_with(".TH nixpy")),
        "{}",
        out.stdout
    );
}

#[test]
fn cache_key_is_one_line_computed_without_nix() {
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let bin = path_without_nix();
    let key = |project: &Project| {
        let out = nixpy(project)
            .arg("cache-key")
            .env("PATH", bin.path())
            .outcome();
        out.success();
        out.stdout.clone()
    };
    let first = key(&project);
    let prefix = format!("nixpy-{}-", host_tools().system);
    let hex = first
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("not `{prefix}<hex>\\n`: {first:?}"));
    assert!(
        hex.len() >= 16 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{first:?}"
    );
    assert_eq!(key(&project), first, "the key is stable");
    project.write("requirements.txt", "six\n");
    assert_ne!(key(&project), first, "a new input changes the key");
}
