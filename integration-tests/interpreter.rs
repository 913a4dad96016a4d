//! The project interpreter (issue 16): a venv that alone sees the pip
//! layer, the Nix Python packages and the libraries the layer needs. Other
//! programs get no PYTHONPATH or LD_LIBRARY_PATH; editors (pyright),
//! Jupyter, multiprocessing and a bare start see the same interpreter;
//! pip inside it never writes into the store.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::*;

/// A wheel `<name>` 1.0 with a console script `<name>` printing `text`.
fn script_wheel(project: &Project, name: &str, text: &str) {
    make_wheel(
        &project.mkdir("wheels"),
        name,
        "1.0",
        &[],
        &[(
            &format!("{name}/__init__.py"),
            &format!("WHO = {text:?}\n\ndef main():\n    print(WHO)\n"),
        )],
        &[(name, &format!("{name}:main"))],
    );
}

/// A project with Nix's six and hello, and a pip package `greet` with a
/// console script, built.
fn built_project() -> Project {
    let project = Project::with_manifest("packages = [\"hello\"]\npython-packages = [\"six\"]\n");
    script_wheel(&project, "greet", "hello from greet");
    project.write("requirements.txt", &local_requirements(&["greet"]));
    nixpy_run(&project, ["true"]).outcome().success();
    project
}

/// A program that must be there: skipped with a note, or a failure under CI.
fn required(name: &str) -> Option<PathBuf> {
    if let Some(path) = which(name) {
        return Some(path);
    }
    if skipping_is_a_failure() {
        panic!("{name} is not installed; scripts/setup-system installs it (CI or NIXPY_REQUIRE_NIX is set)");
    }
    say_skipped(&format!("{name} is not installed"));
    None
}

// ---------------------------------------------------------------------------
// Nothing leaks into the rest of the environment
// ---------------------------------------------------------------------------

#[test]
fn host_programs_get_no_python_or_library_path_and_keep_the_callers() {
    needs_nix!();
    let project = built_project();
    let probe = "echo \"${PYTHONPATH-unset} ${LD_LIBRARY_PATH-unset} ${PYTHONNOUSERSITE-unset}\"";
    nixpy_run(&project, ["sh", "-c", probe])
        .env_remove("PYTHONPATH")
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("PYTHONNOUSERSITE")
        .outcome()
        .success()
        .stdout_is("unset unset unset\n");
    nixpy_run(&project, ["sh", "-c", probe])
        .env("PYTHONPATH", "/mine")
        .env("LD_LIBRARY_PATH", "/my/lib")
        .env_remove("PYTHONNOUSERSITE")
        .outcome()
        .success()
        .stdout_is("/mine /my/lib unset\n");
}

/// A nix-file with a Python CLI, as nixpkgs wraps one: its script puts its
/// own dependencies on sys.path (site.addsitedir) and runs with `python`,
/// an interpreter other than the project's.
fn cli_nix(python: &Path, token: &str) -> String {
    let script = format!(
        "trap '( while read -r _ _ s _ 2>/dev/null < /proc/$$/stat && [ \"$s\" != Z ]; do :; done ) &' EXIT\n\
         /bin/mkdir -p \"$out/bin\" \"$out/deps\"\n\
         printf 'WHO = \"the CLI'\"'\"'s own\"\\n' > \"$out/deps/clashmod.py\"\n\
         printf '#!{python}\\nimport site, sys\\nsite.addsitedir(\"%s/deps\")\\nimport clashmod\\nprint(clashmod.WHO, sys.version_info[:2] >= (3, 0))\\n' \"$out\" > \"$out/bin/clashcli\"\n\
         /bin/chmod +x \"$out/bin/clashcli\"\n\
         : {token}\n",
        python = python.display()
    );
    format!(
        "{{ pkgs, ... }}: [ (builtins.derivation {{ name = \"clashcli\"; system = builtins.currentSystem; builder = \"/bin/bash\"; args = [ \"-c\" {} ]; }}) ]\n",
        nix_string(&script)
    )
}

#[test]
fn a_nix_cli_for_another_python_keeps_its_own_dependencies() {
    needs_nix!();
    // Another Python version when the host has one (pyenv's 3.12), else the same.
    let other = std::fs::read_dir("/root/.pyenv/versions")
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin/python3.12"))
        .find(|p| p.is_file())
        .unwrap_or_else(host_python);
    let token = unique_name("nixpy-it-cli");
    let project = Project::with_manifest("nix-files = [\"cli.nix\"]\n");
    project.write("cli.nix", &cli_nix(&other, &token));
    make_wheel(
        &project.mkdir("wheels"),
        "clashmod",
        "1.0",
        &[],
        &[("clashmod.py", "WHO = 'the pip layer'\n")],
        &[],
    );
    project.write("requirements.txt", &local_requirements(&["clashmod"]));
    nixpy_run(&project, ["clashcli"])
        .outcome()
        .success()
        .stdout_is("the CLI's own True\n");
    // The project's interpreter sees the layer's.
    nixpy_python(&project, "import clashmod; print(clashmod.WHO)")
        .outcome()
        .success()
        .stdout_is("the pip layer\n");
}

// ---------------------------------------------------------------------------
// One interpreter, however it is started
// ---------------------------------------------------------------------------

const SEES_EVERYTHING: &str = r#"
import json, os, subprocess, sys
import six, greet
tool = subprocess.run(["hello"], capture_output=True, text=True).stdout.strip()
print(json.dumps([sys.prefix, six.__file__, greet.WHO, tool, os.environ.get("LD_LIBRARY_PATH")]))
"#;

#[test]
fn the_venv_started_bare_by_an_editor_sees_the_whole_environment() {
    needs_nix!();
    let project = built_project();
    let venv = project.path(".venv");
    for path in [None, Some("/usr/bin:/bin")] {
        let mut cmd = Command::new(venv.join("bin/python"));
        cmd.arg("-c")
            .arg(SEES_EVERYTHING)
            .env_clear()
            .current_dir("/");
        if let Some(path) = path {
            cmd.env("PATH", path);
        }
        let v = cmd.outcome().success().json();
        assert_eq!(
            v[0],
            venv.display().to_string(),
            "sys.prefix (PATH={path:?})"
        );
        assert!(v[1].as_str().unwrap().starts_with("/nix/store/"), "{v}");
        assert_eq!(v[2], "hello from greet");
        assert_eq!(
            v[3], "hello version 2.12.1 (nixpy stand-in)",
            "the environment's tools on PATH"
        );
        assert_eq!(v[4], Value::Null);
    }
    // The layer's console script, too.
    Command::new(venv.join("bin/greet"))
        .env_clear()
        .outcome()
        .success()
        .stdout_is("hello from greet\n");
    // `env --format json` names the interpreter.
    let env = nixpy(&project).args(["env", "--format", "json"]).outcome();
    let env = env.success().json();
    let python = env["NIXPY_PYTHON"].as_str().unwrap();
    assert_eq!(
        std::fs::canonicalize(python).unwrap(),
        std::fs::canonicalize(venv.join("bin/python")).unwrap()
    );
    assert_eq!(
        Path::new(env["VIRTUAL_ENV"].as_str().unwrap()),
        std::fs::read_link(&venv).unwrap()
    );
}

const CHILDREN: &str = r#"
import json, multiprocessing, subprocess, sys

def who(_=None):
    import greet
    return greet.WHO

if __name__ == "__main__":
    seen = {}
    for method in ("spawn", "forkserver", "fork"):
        with multiprocessing.get_context(method).Pool(1) as pool:
            seen[method] = pool.map(who, [0])[0]
    seen["subprocess"] = subprocess.run(
        [sys.executable, "-c", "import greet; print(greet.WHO)"],
        env={}, capture_output=True, text=True).stdout.strip()
    print(json.dumps(seen, sort_keys=True))
"#;

#[test]
fn multiprocessing_and_sys_executable_children_see_the_layer() {
    needs_nix!();
    let project = built_project();
    project.write("children.py", CHILDREN);
    let expected = "{\"fork\": \"hello from greet\", \"forkserver\": \"hello from greet\", \"spawn\": \"hello from greet\", \"subprocess\": \"hello from greet\"}\n";
    nixpy_run(&project, ["python", "children.py"])
        .outcome()
        .success()
        .stdout_is(expected);
    Command::new(project.path(".venv/bin/python"))
        .arg("children.py")
        .current_dir(project.root())
        .env_clear()
        .outcome()
        .success()
        .stdout_is(expected);
}

#[test]
fn pythonpath_in_env_adds_to_the_layer_instead_of_dropping_it() {
    needs_nix!();
    let project = Project::with_manifest("[env]\nPYTHONPATH = \"src\"\n");
    project.write("src/mine.py", "WHO = 'src'\n");
    script_wheel(&project, "greet", "hello from greet");
    project.write("requirements.txt", &local_requirements(&["greet"]));
    nixpy_python(&project, "import mine, greet; print(mine.WHO, greet.WHO)")
        .outcome()
        .success()
        .stdout_is("src hello from greet\n");
    nixpy_run(&project, ["greet"])
        .outcome()
        .success()
        .stdout_is("hello from greet\n");
}

// ---------------------------------------------------------------------------
// .venv
// ---------------------------------------------------------------------------

#[test]
fn the_venv_link_follows_the_environment_and_the_venv_key() {
    needs_nix!();
    let project = Project::with_manifest("").file(".gitignore", "target/\n");
    script_wheel(&project, "greet", "one");
    project.write("requirements.txt", &local_requirements(&["greet"]));
    nixpy_run(&project, ["true"]).outcome().success();
    let first = std::fs::read_link(project.path(".venv")).unwrap();
    assert!(
        first.starts_with(project.cache_dir()),
        "{}",
        first.display()
    );
    assert_eq!(project.read(".gitignore"), "target/\n.venv\n");

    // Another environment: a new interpreter folder, the link moved to it.
    script_wheel(&project, "other", "two");
    project.write("requirements.txt", &local_requirements(&["greet", "other"]));
    nixpy_run(&project, ["true"]).outcome().success();
    let second = std::fs::read_link(project.path(".venv")).unwrap();
    assert_ne!(second, first);
    Command::new(project.path(".venv/bin/python"))
        .args(["-c", "import greet, other; print(other.WHO)"])
        .env_clear()
        .outcome()
        .success()
        .stdout_is("two\n");
    assert!(
        !project.listing().iter().any(|f| f.contains("nixpy-tmp")),
        "{:?}",
        project.listing()
    );

    // Moved, then off.
    project.write("nixpy.toml", "venv = \"build/py\"\n");
    nixpy_run(&project, ["true"]).outcome().success();
    assert!(std::fs::symlink_metadata(project.path(".venv")).is_err());
    assert_eq!(
        std::fs::read_link(project.path("build/py")).unwrap(),
        second
    );
    project.write("nixpy.toml", "venv = false\n");
    nixpy_run(&project, ["true"]).outcome().success();
    assert!(std::fs::symlink_metadata(project.path(".venv")).is_err());
    // The interpreter still serves `nixpy run`.
    nixpy_python(
        &project,
        "import sys, other; print(sys.prefix != sys.base_prefix)",
    )
    .outcome()
    .success()
    .stdout_is("True\n");
}

#[test]
fn a_venv_nixpy_did_not_make_is_left_alone_and_said_once() {
    needs_nix!();
    let project = Project::with_manifest("");
    project.mkdir(".venv/bin");
    project.write(".venv/pyvenv.cfg", "home = /usr/bin\n");
    let first = nixpy_run(&project, ["true"]).outcome();
    first
        .success()
        .stderr_has(".venv exists and nixpy did not make it")
        .stderr_has("venv = ");
    assert_eq!(project.read(".venv/pyvenv.cfg"), "home = /usr/bin\n");
    project.write("nixpy.toml", "packages = [\"hello\"]\n");
    let second = nixpy_run(&project, ["true"]).outcome();
    second.success().stderr_lacks("did not make it");
    assert!(project.path(".venv").is_dir() && !project.path(".venv").is_symlink());
}

// ---------------------------------------------------------------------------
// Editors and notebooks
// ---------------------------------------------------------------------------

const MAIN_PY: &str = "import six\nimport greet\n\nprint(six.PY3, greet.WHO)\ngreet.main()\n";

#[test]
fn pyright_resolves_nix_and_pip_imports_through_the_venv() {
    needs_nix!();
    let Some(pyright) = required("pyright") else {
        return;
    };
    let project = built_project();
    project.write("main.py", MAIN_PY);
    let home = temp_dir("nixpy-it-pyright-home-");
    let run = |args: &[&str]| {
        Command::new(&pyright)
            .args(args)
            .arg("main.py")
            .current_dir(project.root())
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", home.path())
            .outcome()
    };
    // What an editor passes: the selected interpreter.
    run(&["--pythonpath", ".venv/bin/python"])
        .success()
        .stdout_has("0 errors");
    // Without it, pyright looks at whatever `python` PATH has.
    let without = run(&[]);
    assert!(
        !without.status.success() && without.stdout.contains("\"greet\" could not be resolved"),
        "{}",
        without.stdout
    );
    // Static configuration (no interpreter run): the .pth path lines.
    project.write(
        "pyrightconfig.json",
        "{\"venvPath\": \".\", \"venv\": \".venv\"}\n",
    );
    run(&[]).success().stdout_has("0 errors");
}

const KERNEL_DRIVER: &str = r#"
import json, sys
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
km = KernelManager(kernel_name=sys.argv[2], kernel_spec_manager=KernelSpecManager(kernel_dirs=[sys.argv[1]]))
km.start_kernel()
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=120)
out = []
reply = kc.execute_interactive(
    "import json, os, sys, six, greet; print(json.dumps([sys.prefix, six.__file__, greet.WHO, os.environ.get('NIXPY_PROJECT')]))",
    timeout=60,
    output_hook=lambda m: out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None)
kc.stop_channels()
km.shutdown_kernel(now=True)
print(json.dumps([reply["content"]["status"], "".join(out).strip()]))
"#;

#[test]
fn a_jupyter_kernel_runs_the_project_interpreter() {
    needs_nix!();
    let wheels = std::env::var_os("NIXPY_TEST_WHEELS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/nixpy-test-wheels"))
        })
        .map(|w| w.join("jupyter"))
        .filter(|w| w.join(".complete").exists());
    let Some(wheels) = wheels else {
        if skipping_is_a_failure() {
            panic!("the Jupyter wheels are missing; scripts/setup-system downloads them");
        }
        say_skipped("no Jupyter wheels (scripts/setup-system)");
        return;
    };
    let project = Project::with_manifest("python-packages = [\"six\"]\n");
    script_wheel(&project, "greet", "hello from greet");
    project.write(
        "requirements.txt",
        &format!(
            "--no-index\n--find-links ./wheels\n--find-links {}\ngreet\nipykernel\n",
            wheels.display()
        ),
    );
    project.write("driver.py", KERNEL_DRIVER);
    let data = temp_dir("nixpy-it-jupyter-");
    let out = nixpy(&project)
        .args(["kernel", "install", "--name", "nixpy-it"])
        .env("JUPYTER_DATA_DIR", data.path())
        .outcome();
    out.success()
        .stderr_has("installed the Jupyter kernel nixpy-it");
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(data.path().join("kernels/nixpy-it/kernel.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        spec["argv"][0],
        project.path(".venv/bin/python").display().to_string()
    );
    // pyzmq's bundled libzmq needs libstdc++, which manylinux wheels leave
    // to the system: the interpreter preloads it from the `libraries`.
    let venv_spec: Value = serde_json::from_str(&project.read(".venv/nixpy-venv.json")).unwrap();
    assert!(
        venv_spec["preload"].as_array().unwrap().iter().any(|p| p
            .as_str()
            .unwrap()
            .ends_with("-gcc-lib-standin/lib/libstdc++.so.6")),
        "{venv_spec}"
    );
    // The driver starts the kernel from a bare environment: what the kernel
    // has, it has from its kernelspec and its interpreter.
    let home = temp_dir("nixpy-it-jupyter-home-");
    let out = Command::new(project.path(".venv/bin/python"))
        .arg("driver.py")
        .arg(data.path().join("kernels"))
        .arg("nixpy-it")
        .current_dir(project.root())
        .env_clear()
        .env("HOME", home.path())
        .env("JUPYTER_DATA_DIR", data.path())
        .outcome();
    let v = out.success().json();
    assert_eq!(v[0], "ok", "{}", out.stderr);
    let inner: Value = serde_json::from_str(v[1].as_str().unwrap()).unwrap();
    assert_eq!(inner[0], project.path(".venv").display().to_string());
    assert!(inner[1].as_str().unwrap().starts_with("/nix/store/"));
    assert_eq!(inner[2], "hello from greet");
    assert_eq!(inner[3], project.root().display().to_string());

    nixpy(&project)
        .args(["kernel", "remove", "--name", "nixpy-it"])
        .env("JUPYTER_DATA_DIR", data.path())
        .outcome()
        .success();
    assert!(!data.path().join("kernels/nixpy-it").exists());
}

#[test]
fn a_kernel_needs_ipykernel() {
    needs_nix!();
    let project = built_project();
    let data = temp_dir("nixpy-it-jupyter-");
    nixpy(&project)
        .args(["kernel", "install"])
        .env("JUPYTER_DATA_DIR", data.path())
        .outcome()
        .nixpy_error()
        .stderr_has("ipykernel")
        .stderr_has("nixpy add --pip ipykernel");
    assert!(!data.path().join("kernels").exists());
}

// ---------------------------------------------------------------------------
// pip inside the environment
// ---------------------------------------------------------------------------

/// Every store path the project's environment uses (the shell file's
/// closure, the layer and its distributions).
fn store_closure(project: &Project) -> Vec<String> {
    let entry = read_entry(project.cache_dir(), project).unwrap();
    let mut paths = vec![entry["shell_file"].as_str().unwrap().to_owned()];
    paths.push(entry["layer"]["dir"].as_str().unwrap().to_owned());
    for d in entry["layer"]["dists"].as_array().unwrap() {
        paths.push(d.as_str().unwrap().to_owned());
    }
    let closure = Command::new("nix-store").arg("-qR").args(&paths).outcome();
    closure
        .success()
        .stdout
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Verifies store paths when dropped, whatever the test's outcome, and
/// repairs any that were modified, so a failing test (or one run against a
/// nixpy that writes into the store) leaves no damage for other tests.
struct RepairOnDrop(Vec<String>);

impl Drop for RepairOnDrop {
    fn drop(&mut self) {
        for path in &self.0 {
            let ok = Command::new("nix-store")
                .args(["--verify-path", path])
                .output()
                .is_ok_and(|o| o.status.success());
            if !ok {
                let _ = Command::new("nix-store")
                    .args(["--repair-path", path])
                    .env("NIX_CONFIG", NIX_CONFIG)
                    .output();
            }
        }
    }
}

#[test]
fn pip_as_root_installs_into_the_project_interpreter_never_into_the_store() {
    needs_nix!();
    for installer in ["pip", "uv"] {
        // A Python environment no other test has (the stand-in's torch
        // spells out the CUDA capabilities it was given): if anything wrote
        // into it, only this test would see it.
        let unique = unique_name("x")
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>();
        let manifest = |extra: &str| {
            format!(
                "installer = \"{installer}\"\npython-packages = [\"six\", \"torch\"{extra}]\n\n[nixpkgs-config]\ncuda-capabilities = [\"9.{unique}\"]\n"
            )
        };
        let project = Project::with_manifest(&manifest(""));
        script_wheel(&project, "greet", "hello from greet");
        script_wheel(&project, "extra", "by hand");
        project.write("requirements.txt", &local_requirements(&["greet"]));
        nixpy_run(&project, ["true"]).outcome().success();
        let closure = store_closure(&project);
        let _repair = RepairOnDrop(closure.clone());
        // The installer's own command, offline from ./wheels.
        let by_hand = |args: &[&'static str]| -> Vec<&'static str> {
            let mut argv = match installer {
                "pip" => vec!["python", "-m", "pip", "install", "--no-index"],
                _ => vec!["uv", "pip", "install", "--offline"],
            };
            argv.extend(["--find-links", "wheels"]);
            argv.extend(args);
            argv
        };
        nixpy_run(&project, by_hand(&["extra"])).outcome().success();
        // Also forced over a layer package: a new copy in the venv.
        let reinstall = match installer {
            "pip" => "--force-reinstall",
            _ => "--reinstall",
        };
        nixpy_run(&project, by_hand(&[reinstall, "greet"]))
            .outcome()
            .success();
        Command::new("nix-store")
            .arg("--verify-path")
            .args(&closure)
            .outcome()
            .success();
        let venv = std::fs::read_link(project.path(".venv")).unwrap();
        let code = "import extra, sys; print(extra.__file__.startswith(sys.prefix))";
        nixpy_python(&project, code)
            .outcome()
            .success()
            .stdout_is("True\n");
        if installer == "pip" {
            let list = nixpy_run(&project, ["python", "-m", "pip", "list"]).outcome();
            list.success()
                .stdout_has("six")
                .stdout_has("greet")
                .stdout_has("extra");
        }
        let show = nixpy(&project).arg("show").outcome();
        show.success()
            .stdout_has("installed by hand, not in requirements: extra 1.0");
        // The next environment change leaves it behind, with a note.
        project.write("nixpy.toml", &manifest(", \"attrs\""));
        let next = nixpy_python(
            &project,
            "import importlib.util; print(importlib.util.find_spec('extra') is None)",
        )
        .outcome();
        next.success()
            .stdout_is("True\n")
            .stderr_has("left behind: extra 1.0")
            .stderr_has("nixpy add --pip extra");
        assert_ne!(std::fs::read_link(project.path(".venv")).unwrap(), venv);
    }
}

// ---------------------------------------------------------------------------
// nixpy shell
// ---------------------------------------------------------------------------

#[test]
fn nixpy_shell_keeps_the_project_interpreter_first_after_startup_files() {
    needs_nix!();
    let project = built_project();
    let home = temp_dir("nixpy-it-home-");
    let fake = home.path().join("other-python/bin");
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::write(fake.join("python"), "#!/bin/sh\necho other python\n").unwrap();
    set_mode(&fake.join("python"), 0o755);
    let prepend_sh = format!("export PATH={}:$PATH\n", fake.display());
    std::fs::write(home.path().join("bash_env"), &prepend_sh).unwrap();
    std::fs::write(home.path().join(".zshenv"), &prepend_sh).unwrap();
    std::fs::create_dir_all(home.path().join(".config/fish")).unwrap();
    std::fs::write(
        home.path().join(".config/fish/config.fish"),
        format!("set -gx PATH {} $PATH\n", fake.display()),
    )
    .unwrap();
    let venv = std::fs::read_link(project.path(".venv")).unwrap();
    let commands = project.root().join("commands.txt");
    std::fs::write(&commands, "command -v python\n").unwrap();
    for name in ["bash", "zsh", "fish"] {
        let Some(shell) = which(name) else {
            continue;
        };
        let out = nixpy(&project)
            .arg("shell")
            .env("SHELL", &shell)
            .env("HOME", home.path())
            .env("BASH_ENV", home.path().join("bash_env"))
            .stdin(std::fs::File::open(&commands).unwrap())
            .outcome();
        out.success()
            .stdout_is(&format!("{}/bin/python\n", venv.display()))
            .stderr_has("put folders before the environment's on PATH");
    }
    // Appending to PATH is left alone, without a word.
    std::fs::write(
        home.path().join("bash_env"),
        format!("export PATH=$PATH:{}\n", fake.display()),
    )
    .unwrap();
    let out = nixpy(&project)
        .arg("shell")
        .env("SHELL", which("bash").unwrap())
        .env("HOME", home.path())
        .env("BASH_ENV", home.path().join("bash_env"))
        .stdin(std::fs::File::open(&commands).unwrap())
        .outcome();
    out.success()
        .stdout_is(&format!("{}/bin/python\n", venv.display()))
        .stderr_lacks("PATH");
}

/// The same for an interactive bash, whose ~/.bashrc has the line pyenv's
/// installer adds, run in a terminal (`script` gives it one).
#[test]
fn an_interactive_bash_with_a_pyenv_line_in_bashrc_keeps_the_project_interpreter() {
    needs_nix!();
    let Some(script) = required("script") else {
        return;
    };
    let project = built_project();
    let home = temp_dir("nixpy-it-home-");
    let pyenv = home.path().join(".pyenv/shims");
    std::fs::create_dir_all(&pyenv).unwrap();
    std::fs::write(pyenv.join("python"), "#!/bin/sh\necho pyenv python\n").unwrap();
    set_mode(&pyenv.join("python"), 0o755);
    std::fs::write(
        home.path().join(".bashrc"),
        "export PYENV_ROOT=\"$HOME/.pyenv\"\nexport PATH=\"$PYENV_ROOT/shims:$PATH\"\nPS1='rc$ '\n",
    )
    .unwrap();
    let venv = std::fs::read_link(project.path(".venv")).unwrap();
    let out = Command::new(script)
        .args(["-qec", &format!("{NIXPY} shell"), "/dev/null"])
        .current_dir(project.root())
        .env("HOME", home.path())
        .env("SHELL", which("bash").unwrap())
        .env("NIXPY_CACHE_DIR", project.cache_dir())
        .env("NIXPY_NIXPKGS", &standin().flake_ref)
        .env("NIX_CONFIG", NIX_CONFIG)
        .env("TERM", "dumb")
        .env_remove("CI")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"echo \"python is $(command -v python)\"\nexit\n")?;
            child.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("python is {}/bin/python", venv.display())),
        "{text}"
    );
    assert!(
        text.contains("put folders before the environment's on PATH"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------
// --refresh and local wheels
// ---------------------------------------------------------------------------

#[test]
fn refresh_picks_up_a_rebuilt_local_wheel_with_the_same_name_and_version() {
    needs_nix!();
    let project = Project::with_manifest("");
    let wheels = project.mkdir("wheels");
    let build = |text: &str| {
        make_wheel(
            &wheels,
            "rebuilt",
            "1.0",
            &[],
            &[("rebuilt/__init__.py", &format!("V = {text:?}\n"))],
            &[],
        );
    };
    build("first");
    project.write("requirements.txt", &local_requirements(&["rebuilt"]));
    let code = "import rebuilt; print(rebuilt.V)";
    nixpy_python(&project, code)
        .outcome()
        .success()
        .stdout_is("first\n");
    build("second");
    // The lock may change: resolved again, the new wheel installed.
    nixpy(&project)
        .args(["run", "--refresh", "--", "python", "-c", code])
        .outcome()
        .success()
        .stdout_is("second\n");
    let lock = project.read("nixpy.lock");
    // The lock may not change: the wheel no longer matches it (read afresh,
    // not from uv's cache, which holds the locked one by its hash).
    build("third");
    let uv_cache = temp_dir("nixpy-it-uv-cache-");
    nixpy(&project)
        .args(["run", "--locked", "--refresh", "--", "python", "-c", code])
        .env("UV_CACHE_DIR", uv_cache.path())
        .outcome()
        .nixpy_error()
        .stderr_has_nocase("hash");
    assert_eq!(project.read("nixpy.lock"), lock);
}
