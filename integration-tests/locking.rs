//! nixpy.lock as a user works with it (issue 18): local projects that
//! follow their metadata, an exact `lock --check`, the summary of what a
//! lock changed, and upgrades aimed at one side or one package.

use crate::harness::*;

/// A local project in `dir` with an in-tree build backend (no setuptools:
/// the tests have no index) that reads `[project]` of its pyproject.toml,
/// dependencies included, as real backends do.
fn write_local_project(project: &Project, dir: &str, name: &str, dependencies: &[&str]) {
    write_local_metadata(project, dir, name, "0.1.0", dependencies);
    project.write(&format!("{dir}/_build/backend.py"), LOCAL_BACKEND);
    project.write(
        &format!("{dir}/src/{}/__init__.py", name.replace('-', "_")),
        "V = 'local'\n",
    );
}

/// The local project's pyproject.toml.
fn write_local_metadata(
    project: &Project,
    dir: &str,
    name: &str,
    version: &str,
    dependencies: &[&str],
) {
    let deps: Vec<String> = dependencies.iter().map(|d| format!("\"{d}\"")).collect();
    project.write(
        &format!("{dir}/pyproject.toml"),
        &format!(
            "[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\"_build\"]\n\n[project]\nname = \"{name}\"\nversion = \"{version}\"\ndependencies = [{}]\n",
            deps.join(", ")
        ),
    );
}

const LOCAL_BACKEND: &str = r#"# A minimal in-tree PEP 517/660 backend: metadata from pyproject.toml.
import base64, hashlib, os, tomllib, zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _project():
    with open(os.path.join(HERE, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]


def _wheel(directory, entries):
    p = _project()
    name, version = p["name"], p["version"]
    dist = name.replace("-", "_")
    info = dist + "-" + version + ".dist-info"
    meta = "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"
    meta += "".join("Requires-Dist: " + d + "\n" for d in p.get("dependencies", []))
    entries = list(entries) + [
        (info + "/METADATA", meta.encode()),
        (info + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: in-tree\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    record = ""
    for path, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += "%s,sha256=%s,%d\n" % (path, digest, len(data))
    record += info + "/RECORD,,\n"
    entries.append((info + "/RECORD", record.encode()))
    file = dist + "-" + version + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, file), "w") as z:
        for path, data in entries:
            z.writestr(path, data)
    return file


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist = _project()["name"].replace("-", "_")
    with open(os.path.join(HERE, "src", dist, "__init__.py"), "rb") as f:
        return _wheel(wheel_directory, [(dist + "/__init__.py", f.read())])


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    dist = _project()["name"].replace("-", "_")
    pth = (os.path.join(HERE, "src") + "\n").encode()
    return _wheel(wheel_directory, [("_" + dist + "_editable.pth", pth)])
"#;

/// Wheels `nixpy-lk-<x>` (module `nixpy_lk_<x>`, `VERSION` = its version)
/// in the project's wheels/ folder.
fn lk_wheels(project: &Project, wheels: &[(&str, &str)]) {
    for (x, version) in wheels {
        add_wheel(project, &format!("nixpy-lk-{x}"), version);
    }
}

#[test]
fn an_editable_project_follows_its_own_dependencies() {
    needs_nix!();
    let project =
        Project::with_manifest("").file("requirements.txt", &local_requirements(&["-e ./lib"]));
    lk_wheels(&project, &[("a", "1.0"), ("b", "1.0")]);
    write_local_project(&project, "lib", "nixpy-lk-lib", &["nixpy-lk-a"]);
    nixpy_python(
        &project,
        "import nixpy_lk_lib, nixpy_lk_a; print(nixpy_lk_a.VERSION)",
    )
    .outcome()
    .success()
    .stdout_is("1.0\n");
    nixpy(&project)
        .args(["lock", "--check"])
        .outcome()
        .success();

    // The library gains a dependency: the lock is out of date, exactly.
    write_local_metadata(
        &project,
        "lib",
        "nixpy-lk-lib",
        "0.1.0",
        &["nixpy-lk-a", "nixpy-lk-b"],
    );
    nixpy(&project)
        .args(["lock", "--check"])
        .outcome()
        .nixpy_error()
        .stderr_has("nixpy.lock is out of date");
    // The next run resolves again and has it.
    nixpy_python(&project, "import nixpy_lk_b; print(nixpy_lk_b.VERSION)")
        .outcome()
        .success()
        .stdout_is("1.0\n");
    nixpy(&project)
        .args(["lock", "--check"])
        .outcome()
        .success();
    assert!(project.read("nixpy.lock").contains("nixpy-lk-b==1.0"));

    // A new version of the library is recorded in the lock too.
    write_local_metadata(
        &project,
        "lib",
        "nixpy-lk-lib",
        "0.2.0",
        &["nixpy-lk-a", "nixpy-lk-b"],
    );
    nixpy(&project)
        .args(["lock", "--check"])
        .outcome()
        .nixpy_error();
    nixpy(&project).arg("lock").outcome().success();
    assert_eq!(
        locked_version(&project, "nixpy-lk-lib").as_deref(),
        Some("0.2.0"),
        "{}",
        project.read("nixpy.lock")
    );
}

#[test]
fn a_project_installing_itself_follows_its_own_dependencies() {
    needs_nix!();
    // `-e .`: the project's own pyproject.toml is the manifest and the metadata.
    let project = Project::new().file("requirements.txt", &local_requirements(&["-e ."]));
    lk_wheels(&project, &[("a", "1.0"), ("b", "1.0")]);
    write_local_project(&project, ".", "nixpy-lk-self", &["nixpy-lk-a"]);
    let with_tool = |deps: &str| {
        let text = project.read("pyproject.toml");
        let text = text
            .lines()
            .map(|l| {
                if l.starts_with("dependencies") {
                    format!("dependencies = [{deps}]")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        project.write(
            "pyproject.toml",
            &format!("{text}\n\n[tool.nixpy]\npackages = []\n"),
        );
    };
    with_tool("\"nixpy-lk-a\"");
    nixpy_python(&project, "import nixpy_lk_self, nixpy_lk_a")
        .outcome()
        .success();
    let edited = project.read("pyproject.toml").replace(
        "dependencies = [\"nixpy-lk-a\"]",
        "dependencies = [\"nixpy-lk-a\", \"nixpy-lk-b\"]",
    );
    project.write("pyproject.toml", &edited);
    nixpy(&project)
        .args(["lock", "--check"])
        .outcome()
        .nixpy_error();
    nixpy_python(&project, "import nixpy_lk_b; print(nixpy_lk_b.VERSION)")
        .outcome()
        .success()
        .stdout_is("1.0\n");
}

// ---------------------------------------------------------------------------
// What `nixpy lock` says, and upgrades
// ---------------------------------------------------------------------------

/// `nixpy ARGS` against this nixpkgs.
fn nixpy_with(project: &Project, nixpkgs: &GitNixpkgs, args: &[&str]) -> Outcome {
    nixpy(project)
        .env("NIXPY_NIXPKGS", nixpkgs.flake_ref())
        .args(args)
        .outcome()
}

fn locked_version(project: &Project, name: &str) -> Option<String> {
    let lock = read_lock(project);
    lock["pip"]["package"]
        .as_array()?
        .iter()
        .find(|p| p["name"].as_str() == Some(name))
        .and_then(|p| p["version"].as_str())
        .map(str::to_owned)
}

fn locked_rev(project: &Project) -> String {
    read_lock(project)["nixpkgs"]["locked"]["rev"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// From the line `nixpy: updated ...` on: the summary, with the varying
/// parts named.
fn summary(out: &Outcome, replacements: &[(&str, &str)]) -> String {
    let start = out
        .stderr
        .find("nixpy: updated ")
        .unwrap_or_else(|| panic!("no summary:\n{}", out.stderr));
    let mut text = out.stderr[start..].to_owned();
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    text
}

#[test]
fn lock_says_up_to_date_and_writes_nothing_or_says_what_it_changed() {
    needs_nix!();
    let project =
        Project::with_manifest("").file("requirements.txt", &local_requirements(&["nixpy-lk-a"]));
    lk_wheels(&project, &[("a", "1.0"), ("b", "1.0")]);
    nixpy(&project).arg("lock").outcome().success();
    let lock = project.path("nixpy.lock");
    let before = std::fs::metadata(&lock).unwrap();
    let bytes = project.read("nixpy.lock");
    let listing = project.listing();
    nixpy(&project)
        .arg("lock")
        .outcome()
        .success()
        .stderr_has("nixpy.lock is up to date")
        .stderr_lacks("updated");
    let after = std::fs::metadata(&lock).unwrap();
    assert_eq!(project.read("nixpy.lock"), bytes);
    assert_eq!(
        before.modified().unwrap(),
        after.modified().unwrap(),
        "nixpy.lock was rewritten"
    );
    assert_eq!(project.listing(), listing, "files appeared");

    // A change is described, not called "up to date".
    project.write(
        "requirements.txt",
        &local_requirements(&["nixpy-lk-a", "nixpy-lk-b"]),
    );
    let out = nixpy(&project).arg("lock").outcome();
    out.success().stderr_lacks("up to date");
    assert_eq!(
        summary(
            &out,
            &[(&project.root().display().to_string(), "<project>")]
        ),
        "nixpy: updated <project>/nixpy.lock:\n  pip packages:\n    nixpy-lk-b  (added) -> 1.0\n"
    );
}

#[test]
fn upgrades_move_nixpkgs_the_pip_pins_or_one_package() {
    needs_nix!();
    let nixpkgs = GitNixpkgs::new();
    let project = Project::with_manifest("packages = [\"hello\"]\n").file(
        "requirements.txt",
        &local_requirements(&["nixpy-lk-a", "nixpy-lk-b"]),
    );
    lk_wheels(&project, &[("a", "1.0"), ("b", "1.0")]);
    nixpy_with(&project, &nixpkgs, &["lock"]).success();
    let first_rev = locked_rev(&project);
    assert_eq!(first_rev.len(), 40, "{}", project.read("nixpy.lock"));

    // Newer wheels and a newer nixpkgs appear; nothing moves by itself.
    lk_wheels(&project, &[("a", "2.0"), ("b", "2.0")]);
    nixpkgs.bump_hello("2.12.2", "2026-03-01T12:00:00Z");
    let locked = project.read("nixpy.lock");
    nixpy_with(&project, &nixpkgs, &["lock"])
        .success()
        .stderr_has("is up to date");
    assert_eq!(project.read("nixpy.lock"), locked);

    // One package.
    let out = nixpy_with(
        &project,
        &nixpkgs,
        &["lock", "--upgrade-package", "NIXPY_LK.A"],
    );
    out.success()
        .stderr_has("nixpy-lk-a  1.0 -> 2.0")
        .stderr_lacks("nixpy-lk-b")
        .stderr_lacks("nixpkgs (");
    assert_eq!(
        locked_version(&project, "nixpy-lk-a").as_deref(),
        Some("2.0")
    );
    assert_eq!(
        locked_version(&project, "nixpy-lk-b").as_deref(),
        Some("1.0")
    );
    assert_eq!(locked_rev(&project), first_rev);

    // nixpkgs only: the pins stay.
    let out = nixpy_with(&project, &nixpkgs, &["lock", "--upgrade-nixpkgs"]);
    out.success()
        .stderr_has("(2026-01-15) -> ")
        .stderr_has("(2026-03-01)")
        .stderr_has("hello  2.12.1 -> 2.12.2")
        .stderr_lacks("pip packages");
    assert_ne!(locked_rev(&project), first_rev);
    assert_eq!(
        locked_version(&project, "nixpy-lk-b").as_deref(),
        Some("1.0")
    );
    nixpy(&project)
        .env("NIXPY_NIXPKGS", nixpkgs.flake_ref())
        .args(["run", "--", "hello"])
        .outcome()
        .success()
        .stdout_is("hello version 2.12.2 (nixpy stand-in)\n");

    // pip only.
    let rev = locked_rev(&project);
    nixpy_with(&project, &nixpkgs, &["lock", "--upgrade-pip"])
        .success()
        .stderr_has("nixpy-lk-b  1.0 -> 2.0");
    assert_eq!(locked_rev(&project), rev);

    // A name the lock does not pin is refused, naming what it pins.
    nixpy_with(
        &project,
        &nixpkgs,
        &["lock", "--upgrade-package", "nixpy-lk-z"],
    )
    .nixpy_error()
    .stderr_has("--upgrade-package nixpy-lk-z: nixpy.lock pins no pip package of that name")
    .stderr_has("nixpy-lk-a, nixpy-lk-b");
}

#[test]
fn the_upgrade_summary_snapshot() {
    needs_nix!();
    let nixpkgs = GitNixpkgs::new();
    let project =
        Project::with_manifest("packages = [\"hello\", \"jq\"]\npython-packages = [\"six\"]\n")
            .file(
                "requirements.txt",
                &local_requirements(&["nixpy-lk-a", "nixpy-lk-b", "nixpy-lk-d"]),
            );
    lk_wheels(
        &project,
        &[("a", "1.0"), ("b", "1.0"), ("c", "1.0"), ("d", "1.0")],
    );
    nixpy_with(&project, &nixpkgs, &["lock"]).success();
    let old_rev = locked_rev(&project);

    lk_wheels(&project, &[("a", "2.0")]);
    project.write(
        "requirements.txt",
        &local_requirements(&["nixpy-lk-a", "nixpy-lk-b", "nixpy-lk-c"]),
    );
    let new_rev = nixpkgs.bump_hello("2.13.0", "2026-03-01T12:00:00Z");
    let out = nixpy_with(&project, &nixpkgs, &["lock", "--upgrade"]);
    out.success();
    assert_eq!(
        summary(
            &out,
            &[
                (&project.root().display().to_string(), "<project>"),
                (&nixpkgs.flake_ref(), "<nixpkgs>"),
                (&old_rev[..12], "<old>"),
                (&new_rev[..12], "<new>"),
            ]
        ),
        "\
nixpy: updated <project>/nixpy.lock:
  nixpkgs (<nixpkgs>):
    <old> (2026-01-15) -> <new> (2026-03-01)
  Nix packages:
    hello  2.12.1 -> 2.13.0
  pip packages:
    nixpy-lk-a  1.0     -> 2.0
    nixpy-lk-c  (added) -> 1.0
    nixpy-lk-d  1.0     -> (removed)
"
    );
}

#[test]
fn lock_check_and_locked_runs_are_exact() {
    needs_nix!();
    let project =
        Project::with_manifest("").file("requirements.txt", &local_requirements(&["nixpy-lk-a"]));
    lk_wheels(&project, &[("a", "1.0")]);
    nixpy(&project).arg("lock").outcome().success();
    let written = project.read("nixpy.lock");

    // A hand edit: `nixpy lock` would write the file otherwise.
    project.write("nixpy.lock", &format!("{written}# my note\n"));
    nixpy(&project)
        .args(["lock", "--check"])
        .outcome()
        .nixpy_error()
        .stderr_has("nixpy.lock is out of date")
        .stderr_has("its text differs from what nixpy writes");
    assert_eq!(
        project.read("nixpy.lock"),
        format!("{written}# my note\n"),
        "--check wrote"
    );
    nixpy(&project)
        .arg("lock")
        .outcome()
        .success()
        .stderr_has("as nixpy writes it");
    assert_eq!(project.read("nixpy.lock"), written);
    nixpy(&project)
        .args(["lock", "--check"])
        .outcome()
        .success();

    // The pip requirements go: the lock's pip resolution is stale, and a
    // locked run says so instead of running with it.
    std::fs::remove_file(project.path("requirements.txt")).unwrap();
    let out = nixpy(&project)
        .args(["run", "--locked", "--", "true"])
        .outcome();
    out.nixpy_error()
        .stderr_has("nixpy.lock is out of date")
        .stderr_has("nixpy-lk-a  1.0 -> (removed)")
        .stderr_has("--locked or CI");
    nixpy(&project)
        .args(["lock", "--check"])
        .outcome()
        .nixpy_error()
        .stderr_has("nixpy-lk-a  1.0 -> (removed)");
    assert_eq!(project.read("nixpy.lock"), written);
}
