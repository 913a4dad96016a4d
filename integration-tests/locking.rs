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

/// Wheels `nixpy-lk-<x>` (module `nixpy_lk_<x>`, `V` = its version) in the
/// project's wheels/ folder.
fn lk_wheels(project: &Project, wheels: &[(&str, &str)]) {
    let dir = project.mkdir("wheels");
    for (x, version) in wheels {
        make_wheel(
            &dir,
            &format!("nixpy-lk-{x}"),
            version,
            &[],
            &[(
                &format!("nixpy_lk_{x}/__init__.py"),
                &format!("V = '{version}'\n"),
            )],
            &[],
        );
    }
}

const LOCAL_INDEX: &str = "--no-index\n--find-links ./wheels\n";

#[test]
fn an_editable_project_follows_its_own_dependencies() {
    needs_nix!();
    let project =
        Project::with_manifest("").file("requirements.txt", &format!("{LOCAL_INDEX}-e ./lib\n"));
    lk_wheels(&project, &[("a", "1.0"), ("b", "1.0")]);
    write_local_project(&project, "lib", "nixpy-lk-lib", &["nixpy-lk-a"]);
    nixpy_python(
        &project,
        "import nixpy_lk_lib, nixpy_lk_a; print(nixpy_lk_a.V)",
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
    nixpy_python(&project, "import nixpy_lk_b; print(nixpy_lk_b.V)")
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
    let lock = read_lock(&project);
    let lib = lock["pip"]["package"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str() == Some("nixpy-lk-lib"))
        .cloned()
        .unwrap_or_else(|| panic!("no nixpy-lk-lib in the lock:\n{lock}"));
    assert_eq!(lib["version"].as_str(), Some("0.2.0"), "{lock}");
}

#[test]
fn a_project_installing_itself_follows_its_own_dependencies() {
    needs_nix!();
    // `-e .`: the project's own pyproject.toml is the manifest and the metadata.
    let project = Project::new().file("requirements.txt", &format!("{LOCAL_INDEX}-e .\n"));
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
    nixpy_python(&project, "import nixpy_lk_b; print(nixpy_lk_b.V)")
        .outcome()
        .success()
        .stdout_is("1.0\n");
}
