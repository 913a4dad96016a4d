//! PEP 735 dependency groups (issue 18): `[dependency-groups]` of
//! pyproject.toml, resolved with the requirements into one lock; the
//! manifest's `groups` are in the environment, `--group` adds one for a
//! command.

use crate::harness::*;

/// requirements.txt needs nixpy-g-a; the groups: `test` (nixpy-g-t, which
/// needs nixpy-g-dep) and `lint` (nixpy-g-l, and all of `test`).
fn grouped_project(manifest: &str) -> Project {
    let project = Project::with_manifest(manifest)
        .file("requirements.txt", &local_requirements(&["nixpy-g-a"]))
        .file(
            "pyproject.toml",
            "[project]\nname = \"grouped\"\nversion = \"0.1\"\n\n[dependency-groups]\nTest = [\"nixpy-g-t\"]\nlint = [\"nixpy-g-l\", {include-group = \"test\"}]\n",
        );
    let wheels = project.mkdir("wheels");
    for (name, requires) in [
        ("nixpy-g-a", &[][..]),
        ("nixpy-g-t", &["nixpy-g-dep"][..]),
        ("nixpy-g-dep", &[][..]),
        ("nixpy-g-l", &[][..]),
    ] {
        let module = name.replace('-', "_");
        make_wheel(
            &wheels,
            name,
            "1.0",
            requires,
            &[(&format!("{module}/__init__.py"), "")],
            &[],
        );
    }
    project
}

fn imports(project: &Project, args: &[&str], modules: &str) -> Outcome {
    nixpy(project)
        .arg("run")
        .args(args)
        .args(["--", "python", "-c", &format!("import {modules}")])
        .outcome()
}

fn locked_groups(project: &Project) -> Vec<(String, Vec<String>)> {
    let lock = read_lock(project);
    lock["pip"]["package"]
        .as_array()
        .unwrap_or_else(|| panic!("no pip packages:\n{lock}"))
        .iter()
        .map(|p| {
            let groups = p
                .get("groups")
                .and_then(|g| g.as_array())
                .map(|g| {
                    g.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            (p["name"].as_str().unwrap_or_default().to_owned(), groups)
        })
        .collect()
}

#[test]
fn a_group_joins_the_environment_of_one_command() {
    needs_nix!();
    let project = grouped_project("");
    imports(&project, &[], "nixpy_g_a").success();
    imports(&project, &[], "nixpy_g_t").code(1);
    // One lock for all: each pin says which groups need it.
    assert_eq!(
        locked_groups(&project),
        [
            ("nixpy-g-a".to_owned(), vec![]),
            (
                "nixpy-g-dep".to_owned(),
                vec!["lint".to_owned(), "test".to_owned()]
            ),
            ("nixpy-g-l".to_owned(), vec!["lint".to_owned()]),
            (
                "nixpy-g-t".to_owned(),
                vec!["lint".to_owned(), "test".to_owned()]
            ),
        ]
    );
    let lock = project.read("nixpy.lock");
    imports(
        &project,
        &["--group", "test"],
        "nixpy_g_a, nixpy_g_t, nixpy_g_dep",
    )
    .success()
    .stderr_lacks("resolving");
    imports(&project, &["--group", "test"], "nixpy_g_l").code(1);
    assert_eq!(
        project.read("nixpy.lock"),
        lock,
        "a --group run rewrote the lock"
    );
    // The project's own environment is still the cached one: warm.
    assert_warm(&project, &["python", "-c", "import nixpy_g_a"]);
    // From the lock alone, as CI runs it.
    imports(
        &project,
        &["--locked", "--group", "LINT"],
        "nixpy_g_l, nixpy_g_t",
    )
    .success()
    .stderr_lacks("resolving");
    // A group the project does not have.
    nixpy(&project)
        .args(["run", "--group", "docs", "--", "true"])
        .outcome()
        .nixpy_error()
        .stderr_has("--group names `docs`, which is not a dependency group of the project")
        .stderr_has("groups of [dependency-groups] in pyproject.toml: lint, test");
}

#[test]
fn the_manifests_groups_are_in_the_environment() {
    needs_nix!();
    let project = grouped_project("groups = [\"lint\"]\n");
    imports(
        &project,
        &[],
        "nixpy_g_a, nixpy_g_l, nixpy_g_t, nixpy_g_dep",
    )
    .success();
    project.write("nixpy.toml", "groups = [\"nope\"]\n");
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("names `nope`, which is not a dependency group of the project");
}
