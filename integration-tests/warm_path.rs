//! The warm path and the cache: which edits rebuild what, which do not,
//! what survives garbage collection, concurrent runs, runs killed midway,
//! and `nixpy gc`.
//!
//! "Rebuild" is observed from outside: the phase lines nixpy prints on
//! stderr (`nixpy: building the Nix shell (...) ...`, `nixpy: installing N
//! pip package(s) with uv ...`), the debug log's "cached environment is
//! stale: <why>" (NIXPY_LOG), and what the command then sees.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

const SHELL_BUILD: &str = "building the Nix shell";
const LAYER_INSTALL: &str = "installing";
const STALE: &str = "cached environment is stale";

/// `python -c` printing `[<module>.VERSION, ...]` as JSON.
fn versions_of(modules: &[&str]) -> Vec<String> {
    let imports = modules.join(", ");
    let list = modules
        .iter()
        .map(|m| format!("{m}.VERSION"))
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        "python".into(),
        "-c".into(),
        format!("import json, {imports}; print(json.dumps([{list}]))"),
    ]
}

/// The run, with debug logs (which say why a cached entry is stale).
fn debug_run(project: &Project, args: &[&str]) -> Outcome {
    nixpy_run(project, args)
        .env("NIXPY_LOG", "nixpy=debug")
        .outcome()
}

/// Replaces `rel` with the same bytes (a new inode, mtime and ctime).
fn rewrite_same_bytes(project: &Project, rel: &str) {
    let path = project.path(rel);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, bytes).unwrap();
}

/// `touch`: a new mtime (one second ahead, so it differs at any resolution).
fn touch(project: &Project, rel: &str) {
    let file = std::fs::File::options()
        .append(true)
        .open(project.path(rel))
        .unwrap();
    file.set_modified(std::time::SystemTime::now() + Duration::from_secs(1))
        .unwrap();
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {v:#}"))
}

/// A project with a pip layer of one fresh wheel (`<name>` 0.1.0).
fn layer_project(manifest: &str) -> (Project, String) {
    let project = Project::with_manifest(manifest);
    let name = unique_name("nixpy-it-wp").replace('-', "_");
    add_wheel(&project, &name, "0.1.0");
    project.write("requirements.txt", &local_requirements(&[&name]));
    (project, name)
}

/// Waits (at most `limit`) until no process has `needle` in its command
/// line: a killed Nix leaves its builder running in a session of its own.
fn wait_for_processes_with(needle: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let alive = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
            .any(|e| {
                std::fs::read(e.path().join("cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
            });
        if !alive || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------
// The warm path itself
// ---------------------------------------------------------------------------

#[test]
fn warm_runs_print_nothing_and_exec_the_command_directly() {
    needs_nix!();
    let (project, name) = layer_project("packages = [\"hello\"]\n");
    let cold = nixpy_run(&project, versions_of(&[&name])).outcome();
    cold.success().stdout_is("[\"0.1.0\"]\n");
    assert_phases(&cold.stderr, SHELL_BUILD, 1);
    assert_phases(&cold.stderr, LAYER_INSTALL, 1);

    // Warm: not a line on stderr, and the command replaces nixpy (its parent
    // is this test process, not a nixpy that forked it).
    let out = assert_warm(&project, &["sh", "-c", "echo $PPID"]);
    assert_eq!(out.stdout.trim(), std::process::id().to_string());
    assert_warm(
        &project,
        &versions_of(&[&name])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .stdout_is("[\"0.1.0\"]\n");
}

/// The warm path finds a pyproject.toml project through its cache entry,
/// without parsing pyproject.toml: a sub-package's pyproject.toml losing
/// (and regaining) its [tool.nixpy] must still move the project.
#[test]
fn a_pyproject_losing_its_nixpy_table_hands_over_to_the_parent_project() {
    needs_nix!();
    let project = Project::with_manifest("packages = []\n");
    let with_table = "[project]\nname = \"sub\"\n\n[tool.nixpy]\npackages = []\n";
    project.write("sub/pyproject.toml", with_table);
    let sub = project.path("sub");
    let which = || {
        nixpy_run(&project, ["sh", "-c", "printf '%s\\n' \"$NIXPY_PROJECT\""])
            .current_dir(&sub)
            .outcome()
    };
    let root = project.root().canonicalize().unwrap();
    let sub_root = sub.canonicalize().unwrap();
    which()
        .success()
        .stdout_is(&format!("{}\n", sub_root.display()));
    let warm = which();
    warm.success()
        .stdout_is(&format!("{}\n", sub_root.display()));
    assert!(warm.stderr.is_empty(), "not warm:\n{}", warm.stderr);

    project.write("sub/pyproject.toml", "[project]\nname = \"sub\"\n");
    which()
        .success()
        .stdout_is(&format!("{}\n", root.display()));

    // The same text again: the sub-package's entry serves, warm.
    project.write("sub/pyproject.toml", with_table);
    let back = which();
    back.success()
        .stdout_is(&format!("{}\n", sub_root.display()));
    assert!(back.stderr.is_empty(), "not warm:\n{}", back.stderr);
}

#[test]
fn touching_inputs_without_changing_them_keeps_the_run_warm() {
    needs_nix!();
    let (project, name) =
        layer_project("packages = [\"hello\"]\nnix-files = [\"nix/extra.nix\"]\n");
    project.write("nix/extra.nix", "with pkgs; [ sox ]\n");
    project.write("more.txt", "# more requirements\n");
    let mut requirements = project.read("requirements.txt");
    requirements.push_str("-r more.txt\n");
    project.write("requirements.txt", &requirements);
    project.write(
        "pyproject.toml",
        "[project]\nname = \"demo\"\nversion = \"0.1\"\n",
    );
    nixpy_run(&project, ["true"])
        .outcome()
        .success()
        .stderr_has(SHELL_BUILD);
    assert_warm(&project, &["true"]);

    let inputs = [
        "nixpy.toml",
        "requirements.txt",
        "more.txt",
        "nix/extra.nix",
        "pyproject.toml",
        "nixpy.lock",
    ];
    for rel in inputs {
        rewrite_same_bytes(&project, rel);
    }
    assert_warm(&project, &["true"]);
    let restamped = read_entry(project.cache_dir(), &project).expect("entry.json");
    for rel in inputs {
        touch(&project, rel);
    }
    assert_warm(&project, &["true"]);
    // The new stats were recorded, so the run after that hashes nothing and
    // does not rewrite the entry again.
    let out = debug_run(&project, &["true"]);
    out.success().stderr_lacks(STALE);
    assert_eq!(phase_lines(&out.stderr), Vec::<&str>::new());
    let again = read_entry(project.cache_dir(), &project).expect("entry.json");
    assert_ne!(
        restamped["fingerprint"], again["fingerprint"],
        "touching must be recorded as new stats"
    );
    assert_warm(
        &project,
        &versions_of(&[&name])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .stdout_is("[\"0.1.0\"]\n");
    assert_eq!(
        read_entry(project.cache_dir(), &project).unwrap()["fingerprint"],
        again["fingerprint"],
        "a fresh entry must not be rewritten"
    );
}

// ---------------------------------------------------------------------------
// What each edit rebuilds
// ---------------------------------------------------------------------------

#[test]
fn editing_packages_rebuilds_the_shell() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy_run(&project, ["hello"]).outcome().success();
    project.write("nixpy.toml", "packages = [\"hello\", \"jq\"]\n");
    let out = nixpy_run(&project, ["jq", "--version"]).outcome();
    out.success()
        .stdout_is("jq version 1.7.1 (nixpy stand-in)\n");
    assert_phases(&out.stderr, SHELL_BUILD, 1);
    assert_warm(&project, &["jq", "--version"]);
}

#[test]
fn editing_requirements_rebuilds_the_layer_and_not_the_shell() {
    needs_nix!();
    let (project, first) = layer_project("packages = [\"hello\"]\n");
    nixpy_run(&project, ["true"]).outcome().success();
    let second = unique_name("nixpy-it-wp").replace('-', "_");
    add_wheel(&project, &second, "0.2.0");
    project.write("requirements.txt", &local_requirements(&[&first, &second]));
    let out = nixpy_run(&project, versions_of(&[&first, &second])).outcome();
    out.success().stdout_is("[\"0.1.0\", \"0.2.0\"]\n");
    assert_phases(&out.stderr, LAYER_INSTALL, 1);
    assert_phases(&out.stderr, SHELL_BUILD, 0);
    assert_warm(&project, &["true"]);
}

#[test]
fn editing_an_included_requirements_file_rebuilds_the_layer() {
    needs_nix!();
    let (project, first) = layer_project("");
    project.write("requirements.txt", &local_requirements(&["-r more.txt"]));
    project.write("more.txt", &format!("{first}\n"));
    nixpy_run(&project, ["true"]).outcome().success();
    let second = unique_name("nixpy-it-wp").replace('-', "_");
    add_wheel(&project, &second, "0.2.0");
    project.write("more.txt", &format!("{first}\n{second}\n"));
    let out = nixpy_run(&project, versions_of(&[&first, &second])).outcome();
    out.success().stdout_is("[\"0.1.0\", \"0.2.0\"]\n");
    assert_phases(&out.stderr, LAYER_INSTALL, 1);
    assert_warm(&project, &["true"]);
}

#[test]
fn editing_a_nix_file_rebuilds_the_shell() {
    needs_nix!();
    let project = Project::with_manifest("nix-files = [\"nix/extra.nix\"]\n")
        .file("nix/extra.nix", "with pkgs; [ sox ]\n");
    nixpy_run(&project, ["sox", "--version"])
        .outcome()
        .success();
    project.write("nix/extra.nix", "with pkgs; [ sox jq ]\n");
    let out = nixpy_run(&project, ["jq", "--version"]).outcome();
    // The stand-in's jq, not the host's (or none).
    out.success()
        .stdout_is("jq version 1.7.1 (nixpy stand-in)\n");
    assert_phases(&out.stderr, SHELL_BUILD, 1);
}

#[test]
fn editing_a_file_a_nix_file_imports_rebuilds_the_shell() {
    needs_nix!();
    let project = Project::with_manifest("nix-files = [\"nix/extra.nix\"]\n")
        .file(
            "nix/extra.nix",
            "{ pkgs, ... }: import ./common.nix { inherit pkgs; }\n",
        )
        .file("nix/common.nix", "{ pkgs }: [ pkgs.sox ]\n");
    nixpy_run(&project, ["sox", "--version"])
        .outcome()
        .success();
    assert_warm(&project, &["sox", "--version"]);
    project.write("nix/common.nix", "{ pkgs }: [ pkgs.sox pkgs.jq ]\n");
    let out = nixpy_run(&project, ["jq", "--version"]).outcome();
    out.success()
        .stdout_is("jq version 1.7.1 (nixpy stand-in)\n");
    assert_phases(&out.stderr, SHELL_BUILD, 1);
    assert_warm(&project, &["jq", "--version"]);
}

#[test]
fn editing_pyproject_dependencies_rebuilds_the_layer() {
    needs_nix!();
    // No requirements.txt: the pip layer comes from [project].dependencies.
    let project = Project::with_manifest("packages = []\n");
    let a = unique_name("nixpy-it-wp").replace('-', "_");
    let b = unique_name("nixpy-it-wp").replace('-', "_");
    let wa = add_wheel(&project, &a, "0.1.0");
    let wb = add_wheel(&project, &b, "0.3.0");
    let dep =
        |name: &str, wheel: &Path| toml_string(&format!("{name} @ file://{}", wheel.display()));
    let pyproject = |deps: &[String]| {
        format!(
            "[project]\nname = \"demo\"\nversion = \"0.1\"\ndependencies = [{}]\n",
            deps.join(", ")
        )
    };
    project.write("pyproject.toml", &pyproject(&[dep(&a, &wa)]));
    nixpy_run(&project, versions_of(&[&a]))
        .outcome()
        .success()
        .stdout_is("[\"0.1.0\"]\n");
    project.write("pyproject.toml", &pyproject(&[dep(&a, &wa), dep(&b, &wb)]));
    let out = nixpy_run(&project, versions_of(&[&a, &b])).outcome();
    out.success().stdout_is("[\"0.1.0\", \"0.3.0\"]\n");
    assert_phases(&out.stderr, LAYER_INSTALL, 1);
    assert_phases(&out.stderr, SHELL_BUILD, 0);
    assert_warm(&project, &["true"]);
}

/// Issue 13, item 12: re-pointing a symlinked folder on the way to an
/// input (`-r env/reqs.txt` with `env -> env-a`, then `ln -sfn env-b env`;
/// a nix-file in a linked folder) rebuilds, even though no file that was
/// read changed; it used to go unnoticed.
#[test]
fn re_pointing_a_symlinked_folder_on_the_way_to_an_input_rebuilds() {
    needs_nix!();
    let project = Project::with_manifest("nix-files = [\"nix/tools.nix\"]\n");
    let names: Vec<String> = ["a", "b"]
        .iter()
        .map(|_| {
            let name = unique_name("nixpy-it-link").replace('-', "_");
            add_wheel(&project, &name, "0.1.0");
            name
        })
        .collect();
    project.write("env-a/reqs.txt", &format!("{}\n", names[0]));
    project.write("env-b/reqs.txt", &format!("{}\n", names[1]));
    project.write("nix-a/tools.nix", "pkgs: [ pkgs.jq ]\n");
    project.write("nix-b/tools.nix", "pkgs: [ pkgs.sox ]\n");
    project.write(
        "requirements.txt",
        "--no-index\n--find-links ./wheels\n-r env/reqs.txt\n",
    );
    let point = |link: &str, to: &str| {
        let path = project.path(link);
        let _ = std::fs::remove_file(&path);
        std::os::unix::fs::symlink(to, &path).unwrap();
    };
    point("env", "env-a");
    point("nix", "nix-a");
    let import = |name: &str| {
        vec![
            "python".to_owned(),
            "-c".to_owned(),
            format!("import {name}; print('{name}')"),
        ]
    };
    nixpy_run(&project, import(&names[0]))
        .outcome()
        .success()
        .stdout_is(&format!("{}\n", names[0]));
    assert_warm(&project, &["jq", "--version"]);

    point("env", "env-b");
    let out = debug_run(
        &project,
        &import(&names[1])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    out.success().stdout_is(&format!("{}\n", names[1]));
    assert!(
        out.stderr.contains("no longer points to env-a"),
        "{}",
        out.stderr
    );

    point("nix", "nix-b");
    let out = debug_run(&project, &["sox", "--version"]);
    out.success()
        .stdout_is("sox version 14.4.2 (nixpy stand-in)\n");
    assert!(
        out.stderr.contains("no longer points to nix-a"),
        "{}",
        out.stderr
    );
    assert_warm(&project, &["sox", "--version"]);
}

/// Issue 13, item 20: a variable a requirements file names (`${VAR}`) is
/// an input: changing it rebuilds, and the cache entry keeps only a hash
/// of its value (it may be a token).
#[test]
fn a_variable_a_requirements_file_names_is_an_input() {
    needs_nix!();
    let project = Project::with_manifest("");
    let name = unique_name("nixpy-it-var").replace('-', "_");
    for (dir, version) in [("wheels-a", "1.0.0"), ("wheels-b", "2.0.0")] {
        let init = format!("{name}/__init__.py");
        let text = format!("VERSION = {version:?}\n");
        make_wheel(
            &project.mkdir(dir),
            &name,
            version,
            &[],
            &[(&init, &text)],
            &[],
        );
    }
    project.write(
        "requirements.txt",
        &format!("--no-index\n--find-links ./${{NIXPY_IT_WHEELS}}\n{name}\n"),
    );
    let run = |dir: &str| {
        nixpy_run(&project, versions_of(&[&name]))
            .env("NIXPY_IT_WHEELS", dir)
            .outcome()
    };
    run("wheels-a").success().stdout_is("[\"1.0.0\"]\n");
    let warm = run("wheels-a");
    warm.success().stdout_is("[\"1.0.0\"]\n");
    assert_eq!(warm.stderr, "", "the same value: warm");
    run("wheels-b").success().stdout_is("[\"2.0.0\"]\n");
    let entry = std::fs::read_to_string(
        project_cache_dir(project.cache_dir(), &project).join("entry.json"),
    )
    .unwrap();
    assert!(entry.contains("NIXPY_IT_WHEELS"), "{entry}");
    assert!(
        !entry.contains("\"wheels-b\""),
        "the value is in the entry: {entry}"
    );
}

/// Issue 13, item 13: what a nix-file reads besides static imports. A
/// path built from literals (`import (./. + "/x.nix")`) and a file read
/// with `readFile` are fingerprinted (a data file is not parsed as Nix);
/// reads nixpy cannot see (`getEnv`, a computed path) are warned about
/// with their position on the cold run, and the warm run says nothing.
#[test]
fn files_a_nix_file_reads_are_fingerprinted_or_warned_about() {
    needs_nix!();
    let project = Project::with_manifest("nix-files = [\"nix/tools.nix\"]\n")
        .file(
            "nix/tools.nix",
            "{ pkgs, ... }:\nlet\n  names = builtins.fromJSON (builtins.readFile ./list.json);\n  extra = import (./. + \"/x.nix\") pkgs;\n  banner = builtins.readFile ./banner.sh;\nin map (n: pkgs.${n}) names ++ extra\n",
        )
        .file("nix/list.json", "[ \"jq\" ]\n")
        .file("nix/x.nix", "pkgs: [ pkgs.hello ]\n")
        .file("nix/banner.sh", "echo \"not ( Nix\"\n");
    let cold = nixpy_run(&project, ["hello"]).outcome();
    cold.success()
        .stdout_is("hello version 2.12.1 (nixpy stand-in)\n");
    assert!(!cold.stderr.contains("warning:"), "{}", cold.stderr);
    assert_warm(&project, &["jq", "--version"]);

    project.write("nix/x.nix", "pkgs: [ pkgs.sox ]\n");
    let out = nixpy_run(&project, ["sox", "--version"]).outcome();
    out.success()
        .stdout_is("sox version 14.4.2 (nixpy stand-in)\n");
    assert_phases(&out.stderr, SHELL_BUILD, 1);

    project.write("nix/list.json", "[ \"tesseract\" ]\n");
    let out = nixpy_run(&project, ["tesseract", "--version"]).outcome();
    out.success();
    assert_phases(&out.stderr, SHELL_BUILD, 1);

    // Reads nixpy cannot see: warned about where they stand.
    project.write(
        "nix/tools.nix",
        "{ pkgs, ... }:\nlet\n  flavour = builtins.getEnv \"NIXPY_IT_FLAVOUR\";\n  extra = import ./${flavour}.nix pkgs;\nin [ pkgs.jq ]\n",
    );
    let out = nixpy_run(&project, ["jq", "--version"]).outcome();
    out.success();
    for needle in [
        "warning: nix/tools.nix:3:13: `getEnv \"NIXPY_IT_FLAVOUR\"` reads the environment",
        "warning: nix/tools.nix:4:18: the path `./${flavour}.nix` is computed at evaluation",
        "hint: ",
    ] {
        assert!(out.stderr.contains(needle), "{needle}\n{}", out.stderr);
    }
    assert_warm(&project, &["jq", "--version"]);
}

#[test]
fn editing_nixpy_lock_is_noticed_and_applied() {
    needs_nix!();
    let (project, name) = layer_project("");
    // Unpinned requirement; only 0.1.0 is available at first.
    nixpy_run(&project, versions_of(&[&name]))
        .outcome()
        .success()
        .stdout_is("[\"0.1.0\"]\n");
    let old_lock = project.read("nixpy.lock");

    // A comment changes no value, but the lock is an input: the entry is
    // re-checked (quietly, nothing to rebuild), and the next run is warm.
    project.write("nixpy.lock", &format!("{old_lock}# a comment\n"));
    let out = debug_run(&project, &["true"]);
    out.success().stderr_has(&format!(
        "{STALE}: {} changed",
        project.path("nixpy.lock").display()
    ));
    assert_warm(&project, &["true"]);

    // A newer version appears and the lock moves to it ...
    add_wheel(&project, &name, "0.2.0");
    nixpy(&project)
        .args(["lock", "--upgrade"])
        .outcome()
        .success();
    nixpy_run(&project, versions_of(&[&name]))
        .outcome()
        .success()
        .stdout_is("[\"0.2.0\"]\n");
    // ... then the old lock comes back (a `git checkout`): its pins are used.
    project.write("nixpy.lock", &old_lock);
    nixpy_run(&project, versions_of(&[&name]))
        .outcome()
        .success()
        .stdout_is("[\"0.1.0\"]\n");
    assert_eq!(
        project.read("nixpy.lock"),
        old_lock,
        "the lock must be used as it is"
    );
}

#[test]
fn changing_the_nixpkgs_override_rebuilds() {
    let Some(standin) = require_nix() else { return };
    // Two copies of the stand-in's files (its folder also holds a shared
    // cache other tests write to): the same nixpkgs under two references.
    let copy_of = |from: &Path| {
        let copy = temp_dir("nixpy-it-standin-copy-");
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            if entry.file_type().unwrap().is_file() {
                let to = copy.path().join(entry.file_name());
                std::fs::copy(entry.path(), &to).unwrap();
                set_mode(&to, 0o644);
            }
        }
        copy
    };
    let origin = copy_of(&standin.dir);
    let mirror = copy_of(origin.path());
    let origin_ref = format!("path:{}", origin.path().display());
    let mirror_ref = format!("path:{}", mirror.path().display());
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let run = |reference: &str| {
        nixpy_run(&project, ["hello"])
            .env("NIXPY_NIXPKGS", reference)
            .outcome()
    };
    run(&origin_ref).success();
    let lock = project.read("nixpy.lock");
    let warm = run(&origin_ref);
    warm.success();
    assert_eq!(warm.stderr, "");

    let out = run(&mirror_ref);
    out.success()
        .stdout_is("hello version 2.12.1 (nixpy stand-in)\n");
    assert_phases(&out.stderr, SHELL_BUILD, 1);
    // A mirror serves the pinned nixpkgs; it never moves the pin (issue 13,
    // item 8: only `nixpy lock --upgrade` does).
    assert_eq!(project.read("nixpy.lock"), lock, "the mirror moved the pin");
    let warm = run(&mirror_ref);
    warm.success();
    assert_eq!(warm.stderr, "", "warm again under the new reference");
    // And back.
    let back = run(&origin_ref);
    back.success();
    assert_phases(&back.stderr, SHELL_BUILD, 1);
}

#[test]
fn a_garbage_collected_shell_or_layer_is_noticed_and_rebuilt() {
    needs_nix!();
    // A package of this test's own, so the shell environment's store path is
    // shared with no other test and can really be deleted.
    let tool = unique_name("nixpy-it-gcd");
    let (project, module) = layer_project("nix-files = [\"tool.nix\"]\n");
    project.write("tool.nix", &scratch_package_nix(&tool, 0));
    nixpy_run(&project, [tool.as_str()])
        .outcome()
        .success()
        .stdout_is(&format!("{tool} ok\n"));
    let cache = project.cache_dir();
    let dir = project_cache_dir(cache, &project);
    let entry = read_entry(cache, &project).expect("entry.json");
    let shell_env = str_at(&entry, "/shell_file").to_owned();
    assert!(is_store_path(&shell_env, ""), "{shell_env}");

    // What nix-collect-garbage would do once the roots were gone (the
    // generations root the environment too).
    for item in std::fs::read_dir(&dir).unwrap().flatten() {
        if item.file_name().to_string_lossy().starts_with("shell-") {
            std::fs::remove_file(item.path()).unwrap();
        }
    }
    std::fs::remove_dir_all(dir.join("generations")).unwrap();
    Command::new("nix-store")
        .args(["--delete", &shell_env])
        .outcome()
        .success();
    assert!(!Path::new(&shell_env).exists());
    let out = nixpy_run(&project, [tool.as_str()]).outcome();
    out.success().stdout_is(&format!("{tool} ok\n"));
    assert_phases(&out.stderr, SHELL_BUILD, 1);
    let entry = read_entry(cache, &project).expect("entry.json");
    assert!(Path::new(str_at(&entry, "/shell_file")).exists());
    assert_warm(&project, &["true"]);

    // The same for the pip layer.
    let layer = str_at(&entry, "/layer/dir").to_owned();
    let key = str_at(&entry, "/layer/key").to_owned();
    assert!(is_store_path(&layer, "nixpy-layer"), "{layer}");
    std::fs::remove_file(cache.join("v1/layers").join(&key)).unwrap();
    std::fs::remove_dir_all(dir.join("generations")).unwrap();
    Command::new("nix-store")
        .args(["--delete", &layer])
        .outcome()
        .success();
    let out = nixpy_run(&project, versions_of(&[&module])).outcome();
    out.success().stdout_is("[\"0.1.0\"]\n");
    // Its distribution is still in the store (and rooted): only the
    // composition is made again.
    assert_phases(&out.stderr, LAYER_INSTALL, 0);
    assert_phases(&out.stderr, "composing the pip layer", 1);
    assert_warm(&project, &["true"]);
}

/// `nix-store --delete PATH`: succeeds only when nothing roots PATH.
fn try_delete(path: &str) -> Outcome {
    Command::new("nix-store")
        .args(["--delete", path])
        .env("NIX_CONFIG", NIX_CONFIG)
        .outcome()
}

/// Issue 19.1: a garbage collection while the cache folder is away (a home
/// unmounted, a CI cache restored later) drops the roots' registrations
/// for good. The environment still looks fresh, so nixpy must notice
/// (`show`, `doctor`) and register them again (the next run).
#[test]
fn a_root_dropped_while_the_cache_was_away_is_registered_again() {
    needs_nix!();
    let tool = unique_name("nixpy-it-away");
    let (project, module) = layer_project("nix-files = [\"tool.nix\"]\n");
    project.write("tool.nix", &scratch_package_nix(&tool, 0));
    nixpy_run(&project, [tool.as_str()]).outcome().success();
    let cache = project.cache_dir();
    let entry = read_entry(cache, &project).expect("entry.json");
    let shell_file = str_at(&entry, "/shell_file").to_owned();
    let layer = str_at(&entry, "/layer/dir").to_owned();
    assert!(
        is_store_path(&shell_file, "nixpy-shell.json"),
        "{shell_file}"
    );

    // The cache goes away, a collection runs (only looking: it still drops
    // the registrations whose link is missing), the cache comes back.
    let away = cache.with_extension("away");
    std::fs::rename(cache, &away).unwrap();
    gc_print_dead().success();
    std::fs::rename(&away, cache).unwrap();

    let show = nixpy(&project).arg("show").outcome();
    show.success()
        .stdout_has("cache:            fresh")
        .stdout_has("gc root:          missing");
    let doctor = nixpy(&project).arg("doctor").outcome();
    assert!(
        doctor.stdout.contains("FAIL  gc roots") && doctor.stdout.contains("no longer registered"),
        "{}",
        doctor.stdout
    );

    let out = nixpy_run(&project, versions_of(&[&module])).outcome();
    out.success()
        .stdout_is("[\"0.1.0\"]\n")
        .stderr_has("registering it again");
    assert_phases(&out.stderr, SHELL_BUILD, 0);
    assert_phases(&out.stderr, LAYER_INSTALL, 0);
    for path in [&shell_file, &layer] {
        try_delete(path).code(1);
        assert!(Path::new(path).exists(), "{path} is not protected any more");
    }
    assert_warm(&project, &["true"]);
    nixpy(&project).arg("doctor").outcome().success();
}

#[test]
fn gc_roots_keep_everything_the_environment_uses_alive() {
    needs_nix!();
    let tool = unique_name("nixpy-it-rooted");
    let (project, module) = layer_project("nix-files = [\"tool.nix\"]\npackages = [\"hello\"]\n");
    project.write("tool.nix", &scratch_package_nix(&tool, 0));
    nixpy_run(&project, [tool.as_str()]).outcome().success();
    let cache = project.cache_dir();
    let entry = read_entry(cache, &project).expect("entry.json");
    let mut needed: Vec<String> = entry["store_paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    needed.push(str_at(&entry, "/shell_file").to_owned());
    needed.push(str_at(&entry, "/layer/dir").to_owned());
    let source = std::fs::read_link(project_cache_dir(cache, &project).join("nixpkgs-source"))
        .expect("the nixpkgs source is rooted");
    needed.push(source.display().to_string());
    // Everything the command runs from: the shell's PATH entries' store paths.
    let path = nixpy_run(&project, ["printenv", "PATH"]).outcome();
    for entry in path.success().stdout.trim().split(':') {
        if let Some(rest) = entry.strip_prefix("/nix/store/") {
            needed.push(format!("/nix/store/{}", rest.split('/').next().unwrap()));
        }
    }
    needed.sort();
    needed.dedup();

    // What a collection would delete now (computed, not done: other tests
    // share this store and may have unrooted paths in flight).
    let dead = gc_print_dead();
    dead.success();
    let dead: std::collections::HashSet<&str> = dead.stdout.lines().collect();
    for path in &needed {
        assert!(
            !dead.contains(path.as_str()),
            "{path} would be garbage collected"
        );
    }
    // Asking Nix to delete them is refused, path by path.
    for path in &needed {
        let out = Command::new("nix-store").args(["--delete", path]).outcome();
        assert!(
            !out.status.success() && Path::new(path).exists(),
            "nix-store --delete {path} succeeded:\n{}",
            out.stderr
        );
    }
    assert_warm(&project, &[tool.as_str()]).stdout_is(&format!("{tool} ok\n"));
    assert_warm(
        &project,
        &versions_of(&[&module])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .stdout_is("[\"0.1.0\"]\n");
}

// ---------------------------------------------------------------------------
// Concurrent runs
// ---------------------------------------------------------------------------

#[test]
fn eight_simultaneous_cold_runs_build_once_and_agree() {
    needs_nix!();
    let (project, _) = layer_project("packages = [\"hello\"]\n");
    let code =
        "import json, os; print(json.dumps([os.environ['NIXPY_LAYER'], os.environ['PATH']]))";
    let children: Vec<Child> = (0..8)
        .map(|_| {
            let mut cmd = nixpy_run(&project, ["python", "-c", code]);
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut all_stderr = String::new();
    let mut results = Vec::new();
    for (i, out) in outputs.iter().enumerate() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        all_stderr += &format!("--- run {i} ---\n{stderr}");
        assert!(
            out.status.success(),
            "run {i} failed: {:?}\n{stderr}",
            out.status
        );
        results.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let first: Value = serde_json::from_str(&results[0]).unwrap();
    assert!(
        is_store_path(first[0].as_str().unwrap(), "nixpy-layer"),
        "{first}"
    );
    for r in &results {
        assert_eq!(r, &results[0], "every run sees the same layer and PATH");
    }
    assert_eq!(phases_started(&all_stderr, SHELL_BUILD), 1, "{all_stderr}");
    assert_eq!(
        phases_started(&all_stderr, LAYER_INSTALL),
        1,
        "{all_stderr}"
    );
    assert!(
        all_stderr.contains("waiting"),
        "no run waited:\n{all_stderr}"
    );
}

#[test]
fn different_projects_build_in_parallel() {
    needs_nix!();
    let cache = temp_dir("nixpy-it-cache-");
    let (a, ma) = layer_project("packages = [\"hello\"]\n");
    let (b, mb) = layer_project("packages = [\"jq\"]\n");
    let started = |project: &Project, module: &str| {
        let mut cmd = nixpy_run(project, versions_of(&[module]));
        cmd.env("NIXPY_CACHE_DIR", cache.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    let (ca, cb) = (started(&a, &ma), started(&b, &mb));
    for child in [ca, cb] {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "[\"0.1.0\"]\n");
        assert_eq!(phases_started(&stderr, SHELL_BUILD), 1, "{stderr}");
        // Each project has its own lock: neither waits for the other.
        assert!(!stderr.contains("waiting for another nixpy"), "{stderr}");
    }
}

// ---------------------------------------------------------------------------
// Runs killed midway
// ---------------------------------------------------------------------------

#[test]
fn a_run_killed_during_the_nix_build_leaves_no_half_entry() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy_run(&project, ["hello"]).outcome().success();
    let cache = project.cache_dir();
    let before = read_entry(cache, &project).expect("entry.json");

    // Now a slow package joins; kill nixpy (and its Nix) while it builds.
    let tool = unique_name("nixpy-it-killed");
    project.write("slow.nix", &scratch_package_nix(&tool, 2));
    project.write(
        "nixpy.toml",
        "packages = [\"hello\"]\nnix-files = [\"slow.nix\"]\n",
    );
    let mut child = spawn_group(nixpy_run(&project, [tool.as_str()]));
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !seen.contains(SHELL_BUILD) && Instant::now() < deadline {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen += &line;
    }
    assert!(
        seen.contains(SHELL_BUILD),
        "the build never started:\n{seen}"
    );
    // Give Nix time to start the builder (it sleeps for 2 s).
    std::thread::sleep(Duration::from_millis(700));
    kill_group(&mut child);
    wait_for_processes_with(&tool, Duration::from_secs(10));

    // The old entry is intact (complete JSON, not the half-built one) ...
    let after = read_entry(cache, &project).expect("entry.json is complete JSON");
    assert_eq!(after["shell_file"], before["shell_file"]);
    // ... and stale, so the next run builds, then works.
    let out = nixpy_run(&project, [tool.as_str()]).outcome();
    out.success().stdout_is(&format!("{tool} ok\n"));
    assert_phases(&out.stderr, SHELL_BUILD, 1);
    assert_warm(&project, &["hello"]);
}

#[test]
fn runs_killed_at_any_point_leave_a_usable_cache() {
    needs_nix!();
    let project = Project::new();
    let cache = project.cache_dir();
    let modules: Vec<String> = (0..10)
        .map(|i| {
            let m = unique_name("nixpy-it-kill").replace('-', "_");
            add_wheel(&project, &m, &format!("0.{i}.0"));
            m
        })
        .collect();
    let tools = ["hello", "jq", "sox", "ffmpeg", "tesseract"];
    for (i, module) in modules.iter().enumerate() {
        // A new pip layer every time, and a new shell for the first five, so
        // each kill lands in a cold run.
        let packages: Vec<String> = tools[..(i + 1).min(5)]
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect();
        project.write(
            "nixpy.toml",
            &format!("packages = [{}]\n", packages.join(", ")),
        );
        project.write("requirements.txt", &local_requirements(&[module]));
        let mut child = spawn_group(nixpy_run(&project, ["true"]));
        // Spread over 0..400 ms: locking, the Nix build, resolution, install, publish.
        std::thread::sleep(Duration::from_millis(40 * i as u64 + 5));
        kill_group(&mut child);
    }
    let last = modules.last().unwrap();
    let out = nixpy_run(&project, versions_of(&[last])).outcome();
    out.success().stdout_is("[\"0.9.0\"]\n");
    let out = nixpy_run(&project, ["tesseract"]).outcome();
    out.success();

    // layers/ holds published layers' roots (a layer's composition and its
    // distributions); dists/ the index of distributions and at most
    // leftovers of interrupted installs, which `nixpy gc` removes.
    let layers = cache.join("v1/layers");
    for entry in std::fs::read_dir(&layers).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let target = std::fs::read_link(entry.path())
            .unwrap_or_else(|_| panic!("{name} in layers/ is not a GC root link"));
        let target = target.display().to_string();
        let kind = if name.contains('-') {
            "nixpy-dist-"
        } else {
            "nixpy-layer"
        };
        assert!(
            is_store_path(&target, kind) && Path::new(&target).is_dir(),
            "{name} -> {target}"
        );
    }
    let dists = cache.join("v1/dists");
    let leftovers: Vec<String> = std::fs::read_dir(&dists)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    for name in &leftovers {
        assert!(
            name.starts_with(".building-"),
            "unexpected {name} in dists/"
        );
        // As if the interrupted install were an hour old.
        let path = dists.join(name);
        let old = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
        std::fs::File::open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    nixpy(&project).arg("gc").outcome().success();
    for name in &leftovers {
        assert!(!dists.join(name).exists(), "nixpy gc left {name}");
    }
    assert_warm(
        &project,
        &versions_of(&[last])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .stdout_is("[\"0.9.0\"]\n");
}

// ---------------------------------------------------------------------------
// nixpy gc
// ---------------------------------------------------------------------------

/// A built project in `cache`, plus its cache folder.
fn built_in(cache: &Path, manifest: &str) -> (Project, PathBuf) {
    let project = Project::with_manifest(manifest);
    nixpy_run(&project, ["true"])
        .env("NIXPY_CACHE_DIR", cache)
        .outcome()
        .success();
    let dir = project_cache_dir(cache, &project);
    assert!(dir.join("entry.json").is_file());
    (project, dir)
}

fn gc(cache: &Path, args: &[&str]) -> Outcome {
    let anywhere = Project::new();
    let out = nixpy(&anywhere)
        .arg("gc")
        .args(args)
        .env("NIXPY_CACHE_DIR", cache)
        .outcome();
    out.success();
    out
}

/// A run makes its project's cache folder, then takes the lock inside it:
/// a `nixpy gc` in between must not take the folder for an interrupted
/// build's leftovers (the run then failed with "cannot open lock file").
/// Only a folder without an entry that is over an hour old is one.
#[test]
fn gc_spares_a_project_folder_being_made_and_removes_an_old_incomplete_one() {
    needs_nix!();
    let cache = temp_dir("nixpy-it-cache-");
    let starting = Project::new();
    let folder = project_cache_dir(cache.path(), &starting);
    std::fs::create_dir_all(&folder).unwrap();
    gc(cache.path(), &[]);
    assert!(folder.is_dir(), "gc removed a project folder being made");

    let old = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
    std::fs::File::open(&folder)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let out = gc(cache.path(), &[]);
    assert!(
        !folder.exists(),
        "an hour-old incomplete folder survived gc"
    );
    assert!(out.stdout.contains("incomplete entry"), "{}", out.stdout);
}

#[test]
fn gc_dry_run_lists_a_deleted_project_and_removes_nothing() {
    needs_nix!();
    let cache = temp_dir("nixpy-it-cache-");
    let (gone, gone_dir) = built_in(cache.path(), "packages = [\"hello\"]\n");
    let (_live, live_dir) = built_in(cache.path(), "packages = [\"jq\"]\n");
    let gone_root = gone.root().to_path_buf();
    drop(gone);
    assert!(!gone_root.exists());
    let before = walk(cache.path());
    let out = gc(cache.path(), &["--dry-run"]);
    assert!(
        out.stdout.contains(&gone_dir.display().to_string())
            && out.stdout.contains("no longer exists"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains(&live_dir.display().to_string()),
        "{}",
        out.stdout
    );
    assert_eq!(walk(cache.path()), before, "--dry-run removed something");
}

#[test]
fn gc_removes_a_deleted_project_and_says_what_it_freed() {
    needs_nix!();
    let cache = temp_dir("nixpy-it-cache-");
    let (gone, gone_dir) = built_in(cache.path(), "packages = [\"hello\"]\n");
    let (live, live_dir) = built_in(cache.path(), "packages = [\"jq\"]\n");
    drop(gone);
    let out = gc(cache.path(), &[]);
    assert!(out.stdout.contains("freed"), "{}", out.stdout);
    assert!(!gone_dir.exists(), "{} survived gc", gone_dir.display());
    assert!(
        live_dir.join("entry.json").is_file(),
        "the live project's entry was removed"
    );
    // The generated flakes left are exactly the live one's.
    let flakes: Vec<_> = std::fs::read_dir(cache.path().join("v1/flakes"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let entry = read_entry(cache.path(), &live).unwrap();
    assert_eq!(flakes, [str_at(&entry, "/shell_key")], "flakes after gc");
    let warm = nixpy_run(&live, ["jq", "--version"])
        .env("NIXPY_CACHE_DIR", cache.path())
        .outcome();
    warm.success();
    assert_eq!(warm.stderr, "", "the live project is still warm");
}

#[test]
fn gc_removes_the_layer_root_only_a_deleted_project_used() {
    needs_nix!();
    let cache = temp_dir("nixpy-it-cache-");
    let (project, _) = layer_project("");
    nixpy_run(&project, ["true"])
        .env("NIXPY_CACHE_DIR", cache.path())
        .outcome()
        .success();
    let key = str_at(&read_entry(cache.path(), &project).unwrap(), "/layer/key").to_owned();
    let root = cache.path().join("v1/layers").join(&key);
    assert!(std::fs::symlink_metadata(&root).is_ok());
    drop(project);
    let out = gc(cache.path(), &[]);
    assert!(
        std::fs::symlink_metadata(&root).is_err(),
        "the layer root {} survived gc:\n{}",
        root.display(),
        out.stdout
    );
}

#[test]
fn gc_keeps_a_live_entry_unless_it_is_older_than_asked() {
    needs_nix!();
    let cache = temp_dir("nixpy-it-cache-");
    let (project, dir) = built_in(cache.path(), "packages = [\"hello\"]\n");
    gc(cache.path(), &[]);
    gc(cache.path(), &["--older-than", "1h"]);
    assert!(
        dir.join("entry.json").is_file(),
        "a project used just now was collected"
    );
    // Every entry was last used more than 0 seconds ago.
    std::thread::sleep(Duration::from_millis(20));
    let out = gc(cache.path(), &["--older-than", "0s"]);
    assert!(out.stdout.contains("not used for"), "{}", out.stdout);
    assert!(!dir.exists(), "--older-than 0s kept {}", dir.display());
    // The project simply builds again.
    let out = nixpy_run(&project, ["hello"])
        .env("NIXPY_CACHE_DIR", cache.path())
        .outcome();
    out.success();
    assert_phases(&out.stderr, SHELL_BUILD, 1);
}

#[test]
fn gc_during_a_first_build_spares_it() {
    needs_nix!();
    let tool = unique_name("nixpy-it-gcbuild");
    let project = Project::with_manifest("nix-files = [\"slow.nix\"]\n")
        .file("slow.nix", &scratch_package_nix(&tool, 2));
    let cache = project.cache_dir();
    let mut child = spawn_group(nixpy_run(&project, [tool.as_str()]));
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains(SHELL_BUILD) {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen += &line;
    }
    assert!(
        seen.contains(SHELL_BUILD),
        "the build never started:\n{seen}"
    );
    // A plain gc (from cron, or another terminal) while the project builds.
    let out = gc(cache, &[]);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "the build failed after gc ran:\n{}{rest}\ngc said:\n{}",
        seen,
        out.stdout
    );
    let dir = project_cache_dir(cache, &project);
    assert!(
        dir.join("entry.json").is_file(),
        "gc removed the project being built:\n{}",
        out.stdout
    );
    let source = dir.join("nixpkgs-source");
    assert!(
        std::fs::read_link(&source).is_ok_and(|t| t.exists()),
        "the nixpkgs source lost its GC root (gc removed the flake while it was built?):\n{}",
        out.stdout
    );
    assert_warm(&project, &[tool.as_str()]).stdout_is(&format!("{tool} ok\n"));
    // And gc now, with the build done, keeps it.
    gc(cache, &[]);
    assert_warm(&project, &[tool.as_str()]);
}

#[test]
fn gc_of_an_empty_or_missing_cache_is_fine() {
    // No Nix needed.
    let cache = temp_dir("nixpy-it-cache-");
    gc(&cache.path().join("does-not-exist"), &[]);
    gc(cache.path(), &["--dry-run"]);
    gc(cache.path(), &[]);
}

// ---------------------------------------------------------------------------
// nixpy cache-key
// ---------------------------------------------------------------------------

#[test]
fn cache_key_is_one_stable_line_that_touching_does_not_change() {
    needs_nix!();
    let (project, _) = layer_project("packages = [\"hello\"]\n");
    nixpy_run(&project, ["true"]).outcome().success();
    let key = || {
        let out = nixpy(&project).arg("cache-key").outcome();
        out.success();
        assert_eq!(out.stdout.lines().count(), 1, "{:?}", out.stdout);
        assert!(out.stdout.ends_with('\n'));
        out.stdout.clone()
    };
    let first = key();
    assert_eq!(key(), first);
    for rel in ["nixpy.toml", "requirements.txt", "nixpy.lock"] {
        rewrite_same_bytes(&project, rel);
        touch(&project, rel);
    }
    assert_eq!(key(), first, "same contents, same key");
    assert_warm(&project, &["true"]);
    assert_eq!(key(), first, "a warm run changes nothing the key covers");
}

/// How many times the `phase` (e.g. SHELL_BUILD) started, with the whole
/// stderr in the failure message.
fn assert_phases(stderr: &str, phase: &str, times: usize) {
    assert_eq!(
        phases_started(stderr, phase),
        times,
        "`{phase}` should start {times} time(s):\n{stderr}"
    );
}
