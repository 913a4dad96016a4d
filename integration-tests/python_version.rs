//! The Python version from the project (issue 18): `requires-python` of
//! pyproject.toml is checked against the interpreter, and `nixpy init`
//! picks the interpreter from it.

use crate::harness::*;

/// The stand-in's python3 is the host's: its minor version.
fn host_minor() -> u32 {
    let version = &host_tools().python_version;
    version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("host Python version {version:?}"))
}

fn pyproject(requires: &str) -> String {
    format!("[project]\nname = \"demo\"\nversion = \"0.1\"\nrequires-python = \"{requires}\"\n")
}

#[test]
fn requires_python_that_excludes_the_interpreter_names_the_fix() {
    needs_nix!();
    let minor = host_minor();
    let needs_newer = format!(">=3.{}", minor + 1);
    let project = Project::with_manifest("python = \"python3\"\n")
        .file("pyproject.toml", &pyproject(&needs_newer));
    let out = nixpy_run(&project, ["true"]).outcome();
    out.nixpy_error()
        .stderr_has_position("pyproject.toml", 4)
        .stderr_has(&format!(
            "requires-python `{needs_newer}` excludes the interpreter: python3 is Python 3.{minor}."
        ))
        .stderr_has(&format!(
            "hint: set python = \"python3{}\" in nixpy.toml",
            minor + 1
        ));
    // One that fits runs.
    project.write("pyproject.toml", &pyproject(&format!(">=3.{minor}")));
    nixpy_run(&project, ["true"]).outcome().success();
}

#[test]
fn init_picks_the_interpreter_from_requires_python() {
    needs_nix!();
    let minor = host_minor();
    let project = Project::new().file(
        "pyproject.toml",
        &pyproject(&format!("=={}.{}.*", 3, minor)),
    );
    nixpy(&project)
        .arg("init")
        .outcome()
        .success()
        .stderr_has(&format!("python3{minor} for requires-python"));
    let manifest = project.read("nixpy.toml");
    assert!(
        manifest.contains(&format!("\npython = \"python3{minor}\"\n")),
        "{manifest}"
    );
    nixpy_python(&project, "import sys; print(sys.version_info[1])")
        .outcome()
        .success()
        .stdout_is(&format!("{minor}\n"));
}
