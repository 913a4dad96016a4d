//! The pip layer (issues 3 and 12): requirements installed by uv or pip,
//! each distribution into a content-addressed store path of its own,
//! composed into one layer next to what Nix provides, and seen through the
//! project interpreter.
//!
//! Every wheel is built by the test ([`make_wheel`]) into the project's
//! `wheels/` folder, and requirement files say `--no-index --find-links
//! ./wheels`, so nothing is ever fetched. Each test has its own project and
//! cache folder unless sharing is the point.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::*;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A module whose `main` prints `text`, and whose `V` is `version`.
fn module_text(version: &str, text: &str) -> String {
    format!("V = {version:?}\n\ndef main():\n    print({text:?})\n")
}

/// Writes `<name>-<version>` into the project's wheels/ folder, with a
/// package `<name>` whose `V` is the version.
fn wheel(project: &Project, name: &str, version: &str, requires: &[&str]) -> PathBuf {
    let dir = project.mkdir("wheels");
    let module = format!("{}/__init__.py", name.replace('-', "_"));
    let text = module_text(version, &format!("{name} {version}"));
    make_wheel(&dir, name, version, requires, &[(&module, &text)], &[])
}

/// `python -c` printing `{name: os.environ.get(name)}` for `names`, as JSON.
const PRINT_LAYER_ENV: &str = "import json, os; print(json.dumps({n: os.environ.get(n) for n in ['NIXPY_LAYER', 'VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONNOUSERSITE', 'PATH', 'LD_LIBRARY_PATH']}))";

/// The version of `module` (its `V`) as the environment imports it.
fn imported_version(project: &Project, module: &str) -> String {
    let out = nixpy_python(project, &format!("import {module}; print({module}.V)")).outcome();
    out.success().stdout.trim().to_owned()
}

/// `$NIXPY_LAYER` as the command sees it.
fn layer_of(project: &Project) -> String {
    let out = nixpy_python(project, "import os; print(os.environ['NIXPY_LAYER'])").outcome();
    let layer = out.success().stdout.trim().to_owned();
    assert!(
        is_store_path(&layer, "nixpy-layer"),
        "NIXPY_LAYER is not a pip-layer store path: {layer:?}"
    );
    layer
}

/// The layer's site-packages in its composition.
fn site_packages(layer: &str) -> PathBuf {
    let lib = Path::new(layer).join("lib");
    std::fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("{}: {e}", lib.display()))
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("no site-packages in {layer}"))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

/// `[[pip.package]]` of nixpy.lock as (name, version) pairs, sorted.
fn locked_packages(project: &Project) -> Vec<(String, String)> {
    let lock = read_lock(project);
    let mut out: Vec<(String, String)> = lock["pip"]["package"]
        .as_array()
        .unwrap_or_else(|| panic!("nixpy.lock has no [[pip.package]]:\n{lock}"))
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The layers rooted in `$NIXPY_CACHE_DIR/v1/layers`: one `<key>` link
/// each (its distributions' roots are `<key>-<n>`).
fn layer_dir_entries(cache: &Path) -> Vec<String> {
    let mut names = layer_dir_all(cache);
    names.retain(|n| !n.contains('-'));
    names
}

/// Everything directly in `$NIXPY_CACHE_DIR/v1/layers`.
fn layer_dir_all(cache: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cache.join("v1/layers"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

// ---------------------------------------------------------------------------
// What the layer gives a command
// ---------------------------------------------------------------------------

#[test]
fn console_script_runs_with_the_project_interpreter_and_nothing_leaks_into_the_environment() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    let wheels = project.mkdir("wheels");
    make_wheel(
        &wheels,
        "greet",
        "1.0",
        &[],
        &[("greet/__init__.py", &module_text("1.0", "hello from greet"))],
        &[("greet", "greet:main")],
    );
    project.write("requirements.txt", &local_requirements(&["greet"]));

    // The console script runs...
    let first = nixpy_run(&project, ["greet"]).outcome();
    first
        .success()
        .stdout_is("hello from greet\n")
        .stderr_has("installing");
    // ...and the package imports.
    assert_eq!(imported_version(&project, "greet"), "1.0");

    let out = nixpy_python(&project, PRINT_LAYER_ENV)
        .env("PYTHONPATH", "/caller/pythonpath")
        .env_remove("LD_LIBRARY_PATH")
        .outcome();
    let env = out.success().json();
    let layer = str_of(&env, "NIXPY_LAYER");
    assert!(
        is_store_path(layer, "nixpy-layer"),
        "NIXPY_LAYER = {layer:?}"
    );
    // No Python or library path for the rest of the environment: the
    // caller's PYTHONPATH passes through as it was, nothing else is set.
    assert_eq!(str_of(&env, "PYTHONPATH"), "/caller/pythonpath");
    assert_eq!(env["PYTHONNOUSERSITE"], Value::Null);
    assert_eq!(env["LD_LIBRARY_PATH"], Value::Null);
    // The project interpreter's bin/ first on PATH, and VIRTUAL_ENV names it.
    let venv = str_of(&env, "VIRTUAL_ENV");
    let path: Vec<&str> = str_of(&env, "PATH").split(':').collect();
    assert_eq!(path[0], format!("{venv}/bin"), "PATH = {path:?}");

    // The layer keeps the wheel's `#!python`; the interpreter's bin/ runs
    // the script with itself.
    let in_layer = std::fs::read_to_string(Path::new(layer).join("bin/greet")).unwrap();
    assert!(in_layer.starts_with("#!python\n"), "{in_layer}");
    let script = std::fs::read_to_string(Path::new(venv).join("bin/greet")).unwrap();
    assert_eq!(
        script.lines().next().unwrap(),
        format!("#!{venv}/bin/python"),
        "{script}"
    );
    // And that interpreter is `python` on PATH.
    let out = nixpy_python(&project, "import shutil; print(shutil.which('python3'))").outcome();
    assert_eq!(out.success().stdout.trim(), format!("{venv}/bin/python3"));
}

#[test]
fn a_dependency_nix_provides_is_not_installed_into_the_layer() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "python-packages = [\"six\"]\n");
    wheel(&project, "needs-six", "1.0", &["six>=1.10"]);
    project.write("requirements.txt", &local_requirements(&["needs-six"]));
    let code = "import json, os, six, needs_six; print(json.dumps([os.environ['NIXPY_LAYER'], six.__file__, six.__version__, needs_six.V]))";
    let out = nixpy_python(&project, code).outcome();
    let v = out.success().json();
    let layer = v[0].as_str().unwrap();
    let six_file = v[1].as_str().unwrap();
    assert!(
        six_file.starts_with("/nix/store/") && !six_file.starts_with(layer),
        "six must come from the Nix Python, not the layer: {six_file}"
    );
    assert_eq!(v[2], "1.16.0", "the Nix six");
    assert_eq!(v[3], "1.0");
    let stray: Vec<String> = walk(Path::new(layer))
        .into_iter()
        .map(|p| p.strip_prefix(layer).unwrap().display().to_string())
        .filter(|p| {
            let file = p.rsplit('/').next().unwrap();
            file == "six.py" || file.starts_with("six-")
        })
        .collect();
    assert!(
        stray.is_empty(),
        "six was installed into the layer: {stray:?}"
    );
    assert_eq!(
        locked_packages(&project),
        [("needs-six".to_owned(), "1.0".to_owned())],
        "the lock lists only what the layer installs"
    );
}

#[test]
fn pth_files_in_the_layer_are_processed() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    let wheels = project.mkdir("wheels");
    make_wheel(
        &wheels,
        "pth-adder",
        "1.0",
        &[],
        &[
            ("pth_adder/__init__.py", "V = '1.0'\n"),
            // A relative .pth entry is relative to the site folder: the layer.
            ("pth_adder_extra.pth", "pth_adder_hidden\n"),
            (
                "pth_adder_hidden/hidden_module.py",
                "WHERE = 'found through the .pth file'\n",
            ),
        ],
        &[],
    );
    project.write("requirements.txt", &local_requirements(&["pth-adder"]));
    nixpy_python(&project, "import hidden_module; print(hidden_module.WHERE)")
        .outcome()
        .success()
        .stdout_is("found through the .pth file\n");
}

/// A local project with an in-tree PEP 517/660 build backend that needs no
/// other package (setuptools, hatchling...), so uv can build it, editable,
/// without an index.
fn write_local_project(project: &Project, dir: &str, name: &str) {
    project.write(
        &format!("{dir}/pyproject.toml"),
        &format!(
            "[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\"_build\"]\n\n[project]\nname = \"{name}\"\nversion = \"0.1.0\"\n"
        ),
    );
    project.write(
        &format!("{dir}/_build/backend.py"),
        &format!(
            r#"# A minimal in-tree build backend, with no dependencies.
import base64, hashlib, os, zipfile

NAME, VERSION = "{name}", "0.1.0"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INFO = NAME + "-" + VERSION + ".dist-info"


def _wheel(directory, entries):
    meta = ("Metadata-Version: 2.1\nName: " + NAME + "\nVersion: " + VERSION + "\n").encode()
    entries = list(entries) + [
        (INFO + "/METADATA", meta),
        (INFO + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: in-tree\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    record = ""
    for path, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += "%s,sha256=%s,%d\n" % (path, digest, len(data))
    record += INFO + "/RECORD,,\n"
    entries.append((INFO + "/RECORD", record.encode()))
    name = NAME + "-" + VERSION + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, name), "w") as z:
        for path, data in entries:
            z.writestr(path, data)
    return name


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open(os.path.join(HERE, "src", NAME, "__init__.py"), "rb") as f:
        return _wheel(wheel_directory, [(NAME + "/__init__.py", f.read())])


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    pth = (os.path.join(HERE, "src") + "\n").encode()
    return _wheel(wheel_directory, [("_" + NAME + "_editable.pth", pth)])
"#
        ),
    );
    project.write(&format!("{dir}/src/{name}/__init__.py"), "V = 'first'\n");
}

#[test]
fn editable_install_follows_the_source() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    write_local_project(&project, "localpkg", "localpkg");
    project.write("requirements.txt", "--no-index\n-e ./localpkg\n");
    let code = "import json, localpkg; print(json.dumps([localpkg.V, localpkg.__file__]))";
    let out = nixpy_python(&project, code).outcome();
    let v = out.success().json();
    assert_eq!(v[0], "first");
    assert_eq!(
        v[1],
        project
            .path("localpkg/src/localpkg/__init__.py")
            .display()
            .to_string(),
        "an editable install imports the project's own source"
    );
    // An edit shows without reinstalling anything.
    project.write("localpkg/src/localpkg/__init__.py", "V = 'edited'\n");
    let out = nixpy_python(&project, "import localpkg; print(localpkg.V)").outcome();
    out.success()
        .stdout_is("edited\n")
        .stderr_lacks("installing");
}

#[test]
fn a_local_wheel_path_is_a_requirement() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    let dist = project.mkdir("dist");
    make_wheel(
        &dist,
        "x",
        "1.0",
        &[],
        &[("x/__init__.py", "V = 'from the local wheel'\n")],
        &[],
    );
    project.write(
        "requirements.txt",
        "--no-index\n./dist/x-1.0-py3-none-any.whl\n",
    );
    assert_eq!(imported_version(&project, "x"), "from the local wheel");
}

// ---------------------------------------------------------------------------
// Requirement files
// ---------------------------------------------------------------------------

#[test]
fn includes_constraints_comments_continuations_and_markers() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    wheel(&project, "pkga", "1.0", &[]);
    wheel(&project, "pkga", "2.0", &[]);
    wheel(&project, "pkgb", "1.0", &[]);
    wheel(&project, "pkgc", "1.0", &[]);
    project.write(
        "requirements.txt",
        "# the project's requirements\n\
         --no-index\n\
         --find-links ./wheels   # wheels built by the test\n\
         -c constraints/pins.txt\n\
         pkga \\\n\
         \x20   >=1.0\n\
         -r more/dev.txt\n\
         never-installed-anywhere ; python_version < \"3\"\n",
    );
    project.write("constraints/pins.txt", "# the older pkga\npkga<2\n");
    project.write("more/dev.txt", "pkgb  # from an included file\npkgc==1.0\n");
    let code = "import json, pkga, pkgb, pkgc; print(json.dumps([pkga.V, pkgb.V, pkgc.V]))";
    let out = nixpy_python(&project, code).outcome();
    assert_eq!(
        out.success().json(),
        serde_json::json!(["1.0", "1.0", "1.0"])
    );
    assert_eq!(
        locked_packages(&project),
        [
            ("pkga".to_owned(), "1.0".to_owned()),
            ("pkgb".to_owned(), "1.0".to_owned()),
            ("pkgc".to_owned(), "1.0".to_owned()),
        ],
        "the constraint holds pkga at 1.0 and the marker drops the Python 2 requirement"
    );
    // Without the constraint the lock's pin still fits, so it stays; an
    // upgrade of pkga then takes the newer one: the constraint is what held it.
    project.write("constraints/pins.txt", "");
    assert_eq!(imported_version(&project, "pkga"), "1.0");
    nixpy(&project)
        .args(["lock", "--upgrade-package", "pkga"])
        .outcome()
        .success();
    assert_eq!(imported_version(&project, "pkga"), "2.0");
}

#[test]
fn a_changed_included_file_is_noticed() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    wheel(&project, "pkga", "1.0", &[]);
    wheel(&project, "pkga", "2.0", &[]);
    project.write(
        "requirements.txt",
        &local_requirements(&["-r nested/more.txt"]),
    );
    project.write("nested/more.txt", "pkga==1.0\n");
    assert_eq!(imported_version(&project, "pkga"), "1.0");
    project.write("nested/more.txt", "pkga==2.0\n");
    assert_eq!(imported_version(&project, "pkga"), "2.0");
}

#[test]
fn a_wrong_hash_fails_with_either_installer() {
    needs_nix!();
    for installer in ["uv", "pip"] {
        let project = Project::new().file("nixpy.toml", &format!("installer = \"{installer}\"\n"));
        wheel(&project, "pkga", "1.0", &[]);
        let wrong = "sha256:".to_owned() + &"0".repeat(64);
        project.write(
            "requirements.txt",
            &local_requirements(&[&format!("pkga==1.0 --hash={wrong}")]),
        );
        nixpy_run(&project, ["true"])
            .outcome()
            .nixpy_error()
            .stderr_has_nocase("hash");
        assert!(
            !project.path("nixpy.lock").exists() || !project.read("nixpy.lock").contains("pkga"),
            "{installer}: a requirement whose hash does not match must not be locked:\n{}",
            project.read("nixpy.lock")
        );
    }
}

#[test]
fn the_right_hash_installs() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    let whl = wheel(&project, "pkga", "1.0", &[]);
    let out = Command::new("sha256sum").arg(&whl).outcome();
    let digest = out
        .success()
        .stdout
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    project.write(
        "requirements.txt",
        &local_requirements(&[&format!("pkga==1.0 \\\n    --hash=sha256:{digest}")]),
    );
    assert_eq!(imported_version(&project, "pkga"), "1.0");
    let lock = read_lock(&project);
    let hashes = lock["pip"]["package"][0]["hashes"].as_array().unwrap();
    assert_eq!(hashes, &[toml::Value::String(format!("sha256:{digest}"))]);
}

#[test]
fn a_syntax_error_names_the_file_and_line() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    project.write(
        "requirements.txt",
        "--no-index\n# fine so far\npkga\nrequests>=>2\n",
    );
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("requirements.txt:4:")
        .stderr_has("requests>=>2");
    // In an included file, the included file's line.
    project.write("requirements.txt", "--no-index\n-r inc/other.txt\n");
    project.write("inc/other.txt", "ok\n\n--frobnicate\n");
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("other.txt:3:")
        .stderr_has("--frobnicate");
}

// ---------------------------------------------------------------------------
// Where requirements come from
// ---------------------------------------------------------------------------

/// A direct reference to a wheel in the project's wheels/ folder: the only
/// way a pyproject.toml dependency can avoid an index.
fn direct_reference(project: &Project, wheel: &Path) -> String {
    let name = wheel.file_name().unwrap().to_string_lossy();
    let dist = name.split('-').next().unwrap().to_owned();
    format!(
        "{dist} @ file://{}",
        project.path("wheels").join(&*name).display()
    )
}

#[test]
fn pyproject_dependencies_are_used_without_requirements_txt() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    let a = wheel(&project, "pkga", "1.0", &[]);
    let b = wheel(&project, "pkgb", "1.0", &[]);
    project.write(
        "pyproject.toml",
        &format!(
            "[project]\nname = \"demo\"\nversion = \"0\"\ndependencies = [{}]\n\n[project.optional-dependencies]\ndev = [{}]\n",
            toml_string(&direct_reference(&project, &a)),
            toml_string(&direct_reference(&project, &b)),
        ),
    );
    let code = "import importlib.util, json; print(json.dumps([importlib.util.find_spec(m) is not None for m in ['pkga', 'pkgb']]))";
    let out = nixpy_python(&project, code).outcome();
    assert_eq!(
        out.success().json(),
        serde_json::json!([true, false]),
        "[project].dependencies only, not the dev extra"
    );
    // pip-extras adds the group.
    project.write("nixpy.toml", "pip-extras = [\"dev\"]\n");
    let out = nixpy_python(&project, code).outcome();
    assert_eq!(out.success().json(), serde_json::json!([true, true]));
}

#[test]
fn an_unknown_pip_extra_is_named() {
    needs_nix!();
    let project = Project::new()
        .file("nixpy.toml", "pip-extras = [\"tests\"]\n")
        .file(
            "pyproject.toml",
            "[project]\nname = \"demo\"\nversion = \"0\"\ndependencies = []\n\n[project.optional-dependencies]\ndev = []\n",
        );
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("tests")
        .stderr_has("dev");
}

#[test]
fn a_bad_pyproject_dependency_names_its_line() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "").file(
        "pyproject.toml",
        "[project]\nname = \"demo\"\nversion = \"0\"\ndependencies = [\n  \"ok\",\n  \"bad>=>2\",\n]\n",
    );
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("bad>=>2")
        .stderr_has("pyproject.toml:6");
}

#[test]
fn the_requirements_key_names_the_files() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "requirements = [\"reqs/base.txt\"]\n");
    wheel(&project, "pkga", "1.0", &[]);
    wheel(&project, "pkgb", "1.0", &[]);
    // The manifest key wins over requirements.txt, which is ignored.
    project.write("requirements.txt", &local_requirements(&["pkgb"]));
    project.write(
        "reqs/base.txt",
        "--no-index\n--find-links ../wheels\npkga\n",
    );
    let code = "import importlib.util, json; print(json.dumps([importlib.util.find_spec(m) is not None for m in ['pkga', 'pkgb']]))";
    let out = nixpy_python(&project, code).outcome();
    assert_eq!(out.success().json(), serde_json::json!([true, false]));
}

// ---------------------------------------------------------------------------
// Nix's packages and the layer's
// ---------------------------------------------------------------------------

#[test]
fn a_requirement_nix_cannot_meet_is_a_conflict() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "python-packages = [\"six\"]\n");
    wheel(&project, "pkga", "1.0", &[]);
    project.write("requirements.txt", &local_requirements(&["pkga", "six>=2"]));
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("six>=2")
        .stderr_has("requirements.txt:4")
        .stderr_has("1.16.0");
}

#[test]
fn the_pip_installer_gives_an_equivalent_layer() {
    needs_nix!();
    let project = Project::new().file(
        "nixpy.toml",
        "installer = \"pip\"\npython-packages = [\"six\"]\n",
    );
    let wheels = project.mkdir("wheels");
    make_wheel(
        &wheels,
        "greet",
        "1.0",
        &["six"],
        &[("greet/__init__.py", &module_text("1.0", "hello via pip"))],
        &[("greet", "greet:main")],
    );
    project.write("requirements.txt", &local_requirements(&["greet"]));
    nixpy_run(&project, ["greet"])
        .outcome()
        .success()
        .stdout_is("hello via pip\n")
        .stderr_has("with pip");
    let layer = layer_of(&project);
    let script = std::fs::read_to_string(Path::new(&layer).join("bin/greet")).unwrap();
    assert!(
        script.starts_with("#!python\n"),
        "pip's console script is kept as the wheel wrote it:\n{script}"
    );
    assert!(
        !site_packages(&layer).join("six.py").exists(),
        "pip must not install what Nix provides"
    );
    // pip's --target layout becomes the same prefix layout as uv's.
    assert!(site_packages(&layer).join("greet/__init__.py").is_file());
    assert_eq!(imported_version(&project, "greet"), "1.0");
    assert_eq!(
        read_lock(&project)["pip"]["installer"].as_str(),
        Some("pip")
    );
}

// ---------------------------------------------------------------------------
// nixpy.lock
// ---------------------------------------------------------------------------

#[test]
fn the_lock_records_the_resolution_and_check_locked_and_ci_refuse_a_stale_one() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    let whl = wheel(&project, "pkga", "1.0", &[]);
    wheel(&project, "pkgb", "1.0", &[]);
    project.write("requirements.txt", &local_requirements(&["pkga"]));
    nixpy_run(&project, ["true"]).outcome().success();

    let lock = read_lock(&project);
    let packages = lock["pip"]["package"].as_array().expect("[[pip.package]]");
    assert_eq!(packages.len(), 1, "{lock}");
    assert_eq!(packages[0]["name"].as_str(), Some("pkga"));
    assert_eq!(packages[0]["version"].as_str(), Some("1.0"));
    let digest = Command::new("sha256sum").arg(&whl).outcome();
    let digest = digest
        .success()
        .stdout
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        packages[0]["hashes"].as_array().unwrap(),
        &[toml::Value::String(format!("sha256:{digest}"))]
    );

    nixpy(&project)
        .args(["lock", "--check"])
        .outcome()
        .success();

    // The requirements change; the lock is now stale.
    project.write("requirements.txt", &local_requirements(&["pkga", "pkgb"]));
    let before = std::fs::read(project.path("nixpy.lock")).unwrap();
    let unchanged = |what: &str| {
        assert!(
            std::fs::read(project.path("nixpy.lock")).unwrap() == before,
            "{what} rewrote nixpy.lock"
        );
    };
    nixpy(&project)
        .args(["lock", "--check"])
        .outcome()
        .nixpy_error()
        .stderr_has("out of date");
    unchanged("lock --check");
    nixpy(&project)
        .args(["run", "--locked", "--", "true"])
        .outcome()
        .nixpy_error()
        .stderr_has("out of date")
        .stderr_has("nixpy lock");
    unchanged("run --locked");
    nixpy_run(&project, ["true"])
        .env("CI", "true")
        .outcome()
        .nixpy_error()
        .stderr_has("out of date")
        .stderr_has("nixpy lock");
    unchanged("a run under CI");

    // A plain run brings it up to date, after which all three pass.
    nixpy_run(&project, ["true"]).outcome().success();
    assert_eq!(
        locked_packages(&project),
        [
            ("pkga".to_owned(), "1.0".to_owned()),
            ("pkgb".to_owned(), "1.0".to_owned())
        ]
    );
    nixpy(&project)
        .args(["lock", "--check"])
        .outcome()
        .success();
    nixpy(&project)
        .args(["run", "--locked", "--", "true"])
        .outcome()
        .success();
    nixpy_run(&project, ["true"])
        .env("CI", "true")
        .outcome()
        .success();
}

#[test]
fn frozen_installs_exactly_the_lock() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    wheel(&project, "pkga", "1.0", &[]);
    project.write("requirements.txt", &local_requirements(&["pkga"]));
    nixpy(&project).arg("lock").outcome().success();
    assert_eq!(
        locked_packages(&project),
        [("pkga".to_owned(), "1.0".to_owned())]
    );
    let locked = std::fs::read(project.path("nixpy.lock")).unwrap();

    // A newer pkga appears and the requirement changes to need it:
    // resolving again picks 2.0; --frozen installs the lock's 1.0, without
    // resolving.
    wheel(&project, "pkga", "2.0", &[]);
    project.write("requirements.txt", &local_requirements(&["pkga>=2"]));
    // A cache of its own, so this run's environment is not left for the
    // plain run below (see a_frozen_run_does_not_hide_a_stale_lock_from_later_runs).
    let frozen_cache = temp_dir("nixpy-it-cache-");
    let frozen = nixpy(&project)
        .args([
            "run",
            "--frozen",
            "--",
            "python",
            "-c",
            "import pkga; print(pkga.V)",
        ])
        .env("NIXPY_CACHE_DIR", frozen_cache.path())
        .outcome();
    frozen
        .success()
        .stdout_is("1.0\n")
        .stderr_lacks("resolving");
    assert!(
        std::fs::read(project.path("nixpy.lock")).unwrap() == locked,
        "--frozen rewrote nixpy.lock"
    );
    // The project's own cache, re-resolving: 2.0.
    assert_eq!(imported_version(&project, "pkga"), "2.0");
    assert_eq!(
        locked_packages(&project),
        [("pkga".to_owned(), "2.0".to_owned())]
    );
}

#[test]
fn frozen_without_a_lock_is_an_error() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    wheel(&project, "pkga", "1.0", &[]);
    project.write("requirements.txt", &local_requirements(&["pkga"]));
    nixpy(&project)
        .args(["run", "--frozen", "--", "true"])
        .outcome()
        .nixpy_error()
        .stderr_has("nixpy.lock");
    assert!(!project.path("nixpy.lock").exists());
}

#[test]
fn a_frozen_run_does_not_hide_a_stale_lock_from_later_runs() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    wheel(&project, "pkga", "1.0", &[]);
    project.write("requirements.txt", &local_requirements(&["pkga"]));
    nixpy(&project).arg("lock").outcome().success();
    wheel(&project, "pkga", "2.0", &[]);
    project.write("requirements.txt", &local_requirements(&["pkga>=2"]));
    nixpy(&project)
        .args(["run", "--frozen", "--", "true"])
        .outcome()
        .success();
    // The lock is stale: --check, --locked and CI must still say so.
    nixpy(&project)
        .args(["lock", "--check"])
        .outcome()
        .nixpy_error()
        .stderr_has("out of date");
    nixpy(&project)
        .args(["run", "--locked", "--", "true"])
        .outcome()
        .nixpy_error()
        .stderr_has("out of date");
    nixpy_run(&project, ["true"])
        .env("CI", "true")
        .outcome()
        .nixpy_error()
        .stderr_has("out of date");
    // And a plain run resolves again.
    assert_eq!(imported_version(&project, "pkga"), "2.0");
}

#[test]
fn a_lock_stays_valid_when_the_project_moves() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    wheel(&project, "pkga", "1.0", &[]);
    project.write("requirements.txt", &local_requirements(&["pkga"]));
    nixpy(&project).arg("lock").outcome().success();
    // The same repository, checked out somewhere else (a CI runner).
    let moved = Project::new();
    for rel in ["nixpy.toml", "requirements.txt", "nixpy.lock"] {
        moved.write(rel, &project.read(rel));
    }
    let whl = "pkga-1.0-py3-none-any.whl";
    std::fs::create_dir_all(moved.path("wheels")).unwrap();
    std::fs::copy(
        project.path("wheels").join(whl),
        moved.path("wheels").join(whl),
    )
    .unwrap();
    nixpy(&moved)
        .args([
            "run",
            "--locked",
            "--",
            "python",
            "-c",
            "import pkga; print(pkga.V)",
        ])
        .outcome()
        .success()
        .stdout_is("1.0\n");
}

// ---------------------------------------------------------------------------
// What gets rebuilt, and what is shared
// ---------------------------------------------------------------------------

#[test]
fn projects_with_the_same_requirements_share_one_layer() {
    needs_nix!();
    let cache = temp_dir("nixpy-it-cache-");
    let one = Project::new().file("nixpy.toml", "");
    let two = Project::new().file("nixpy.toml", "packages = [\"hello\"]\n");
    for p in [&one, &two] {
        wheel(p, "shared-pkg", "1.0", &[]);
        p.write("requirements.txt", &local_requirements(&["shared-pkg"]));
    }
    let run = |p: &Project| {
        nixpy_python(p, "import os, shared_pkg; print(os.environ['NIXPY_LAYER'])")
            .env("NIXPY_CACHE_DIR", cache.path())
            .outcome()
    };
    let first = run(&one);
    first.success().stderr_has("installing");
    let second = run(&two);
    second.success().stderr_lacks("installing");
    assert_eq!(first.stdout, second.stdout, "both projects use one layer");
    assert_eq!(layer_dir_entries(cache.path()).len(), 1);
}

#[test]
fn requirements_rebuild_the_layer_and_packages_rebuild_the_shell() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    wheel(&project, "pkga", "1.0", &[]);
    wheel(&project, "pkgb", "1.0", &[]);
    project.write("requirements.txt", &local_requirements(&["pkga"]));
    let layer_env = "import os; print(os.environ['NIXPY_LAYER'])";
    let first = nixpy_python(&project, layer_env).outcome();
    first
        .success()
        .stderr_has("building the Nix shell")
        .stderr_has("installing");

    // Another requirement: a new layer, the same shell.
    project.write("requirements.txt", &local_requirements(&["pkga", "pkgb"]));
    let second = nixpy_python(&project, layer_env).outcome();
    second
        .success()
        .stderr_lacks("building the Nix shell")
        .stderr_has("installing");
    assert_ne!(first.stdout, second.stdout, "a new layer");

    // Another package: a new shell, the same layer.
    project.write("nixpy.toml", "packages = [\"hello\"]\n");
    let third = nixpy_run(&project, ["sh", "-c", "hello && echo \"$NIXPY_LAYER\""]).outcome();
    third
        .success()
        .stderr_has("building the Nix shell")
        .stderr_lacks("installing")
        .stderr_lacks("resolving");
    assert_eq!(
        third.stdout,
        format!("hello version 2.12.1 (nixpy stand-in)\n{}", second.stdout)
    );
}

#[test]
fn a_layer_installed_twice_is_the_same_store_path() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    wheel(&project, "pkga", "1.0", &[]);
    project.write("requirements.txt", &local_requirements(&["pkga"]));
    let first = layer_of(&project);
    // A second machine: its own nixpy cache, the same lock and wheels.
    let other_cache = temp_dir("nixpy-it-cache-");
    let out = nixpy_python(&project, "import os; print(os.environ['NIXPY_LAYER'])")
        .env("NIXPY_CACHE_DIR", other_cache.path())
        .outcome();
    out.success().stderr_has("installing");
    assert_eq!(
        out.stdout.trim(),
        first,
        "a content-addressed layer must not depend on where it was installed"
    );
}

// ---------------------------------------------------------------------------
// Native libraries
// ---------------------------------------------------------------------------

/// Where the dynamic loader found libz for this process (dladdr on
/// zlibVersion), and the version, as JSON.
const ZLIB_THROUGH_CTYPES: &str = r#"
import ctypes, json
class DlInfo(ctypes.Structure):
    _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p),
                ("sname", ctypes.c_char_p), ("saddr", ctypes.c_void_p)]
z = ctypes.CDLL("libz.so.1")
z.zlibVersion.restype = ctypes.c_char_p
info = DlInfo()
assert ctypes.CDLL(None).dladdr(ctypes.cast(z.zlibVersion, ctypes.c_void_p), ctypes.byref(info))
print(json.dumps([z.zlibVersion().decode(), info.fname.decode()]))
"#;

const ZEXT_C: &str = r#"
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>

extern const char *zlibVersion(void);

/* zlib's version and the file the loader took libz from. */
static PyObject *where(PyObject *self, PyObject *args) {
    Dl_info info;
    if (!dladdr((void *)zlibVersion, &info) || !info.dli_fname) {
        PyErr_SetString(PyExc_OSError, "dladdr failed");
        return NULL;
    }
    return Py_BuildValue("(ss)", zlibVersion(), info.dli_fname);
}

static PyMethodDef methods[] = {{"where", where, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "zext", NULL, -1, methods};
PyMODINIT_FUNC PyInit_zext(void) { return PyModule_Create(&module); }
"#;

/// Compiles ZEXT_C against the host Python (which the stand-in's Python
/// is) and libz; None when there is no compiler or no Python headers.
fn compile_zext(dir: &Path) -> Option<(String, Vec<u8>)> {
    let gcc = which("gcc")?;
    let python = host_python();
    let out = Command::new(&python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['include']); print(sysconfig.get_config_var('EXT_SUFFIX'))",
        ])
        .outcome();
    let text = out.success().stdout.clone();
    let mut lines = text.lines();
    let (include, suffix) = (lines.next()?.to_owned(), lines.next()?.to_owned());
    if !Path::new(&include).join("Python.h").is_file() || !host_tools().libz.is_file() {
        return None;
    }
    let source = dir.join("zext.c");
    std::fs::write(&source, ZEXT_C).unwrap();
    let file = format!("zext{suffix}");
    let so = dir.join(&file);
    Command::new(gcc)
        .args(["-shared", "-fPIC", "-O0", "-o"])
        .arg(&so)
        .arg(&source)
        .arg(format!("-I{include}"))
        .arg(&host_tools().libz)
        .outcome()
        .success();
    Some((file, std::fs::read(&so).unwrap()))
}

/// The libraries the project interpreter preloads, from its spec.
fn preloaded(project: &Project) -> Vec<String> {
    let spec = std::fs::read_to_string(project.path(".venv/nixpy-venv.json"))
        .expect("the project interpreter's spec");
    let spec: Value = serde_json::from_str(&spec).unwrap();
    spec["preload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn no_library_is_preloaded_for_a_layer_without_extension_modules() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    wheel(&project, "pkga", "1.0", &[]);
    project.write("requirements.txt", &local_requirements(&["pkga"]));
    let out = nixpy_python(&project, PRINT_LAYER_ENV)
        .env("LD_LIBRARY_PATH", "/caller/lib")
        .outcome();
    let env = out.success().json();
    assert_eq!(
        str_of(&env, "LD_LIBRARY_PATH"),
        "/caller/lib",
        "the caller's value, untouched"
    );
    assert_eq!(preloaded(&project), Vec::<String>::new());
}

#[test]
fn native_libraries_the_layer_needs_are_preloaded_from_the_library_folders() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    let wheels = project.mkdir("wheels");
    let Some((file, so)) = compile_zext(&wheels) else {
        say_skipped("no gcc or no Python headers for the host Python");
        return;
    };
    make_binary_wheel(&wheels, "zext", "1.0", &[(&file, &so)]);
    project.write("requirements.txt", &local_requirements(&["zext"]));
    nixpy_run(&project, ["true"]).outcome().success();
    // zext needs libz.so.1: the one in the `libraries` folders (zlib's store
    // path), and nothing else the layer does not need.
    let preload = preloaded(&project);
    assert_eq!(preload.len(), 1, "{preload:?}");
    assert!(
        preload[0].starts_with("/nix/store/")
            && preload[0].ends_with("-zlib-standin/lib/libz.so.1"),
        "{preload:?}"
    );

    // The extension's libz, and libz loaded by soname, are that file (the
    // stand-in's zlib links the host's, which the host Python may have
    // loaded already under its own name: compared as files).
    let real = |p: &str| std::fs::canonicalize(p).unwrap_or_else(|e| panic!("{p}: {e}"));
    let code = "import json, os, zext; print(json.dumps([zext.__file__.startswith(os.environ['NIXPY_LAYER']), *zext.where()]))";
    let out = nixpy_python(&project, code)
        .env_remove("LD_LIBRARY_PATH")
        .outcome();
    let v = out.success().json();
    assert_eq!(v[0], true, "zext imported from the layer");
    assert_eq!(real(v[2].as_str().unwrap()), real(&preload[0]));
    let out = nixpy_python(&project, ZLIB_THROUGH_CTYPES).outcome();
    assert_eq!(
        real(out.success().json()[1].as_str().unwrap()),
        real(&preload[0])
    );
    // A program other than the project interpreter gets no library path.
    nixpy_run(&project, ["sh", "-c", "echo \"${LD_LIBRARY_PATH-unset}\""])
        .env_remove("LD_LIBRARY_PATH")
        .outcome()
        .success()
        .stdout_is("unset\n");
}

#[test]
fn a_c_extension_in_the_layer_loads() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    let wheels = project.mkdir("wheels");
    let Some((file, so)) = compile_zext(&wheels) else {
        say_skipped("no gcc or no Python headers for the host Python");
        return;
    };
    make_binary_wheel(&wheels, "zext", "1.0", &[(&file, &so)]);
    project.write("requirements.txt", &local_requirements(&["zext"]));
    let code = "import json, os, zext; print(json.dumps([zext.__file__.startswith(os.environ['NIXPY_LAYER']), *zext.where()]))";
    let out = nixpy_python(&project, code).outcome();
    let v = out.success().json();
    assert_eq!(v[0], true, "zext is imported from the layer: {v}");
    assert!(
        v[1].as_str().is_some_and(|s| s.starts_with('1')),
        "zlib version {v}"
    );
    assert!(
        v[2].as_str()
            .is_some_and(|s| s.ends_with("libz.so.1") || s.contains("libz.so.1.")),
        "{v}"
    );
}

// ---------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------

#[test]
fn a_failed_install_publishes_nothing_and_a_fixed_one_succeeds() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    let whl = wheel(&project, "pkga", "1.0", &[]);
    project.write("requirements.txt", &local_requirements(&["pkga"]));
    nixpy(&project).arg("lock").outcome().success();
    let good = std::fs::read(&whl).unwrap();

    // Another machine (its own nixpy and uv caches) with the same lock, and
    // a wheel that is broken in transit: right name, not a zip.
    let cache = temp_dir("nixpy-it-cache-");
    let uv_cache = temp_dir("nixpy-it-uv-cache-");
    std::fs::write(&whl, b"this is not a zip file").unwrap();
    let run = || {
        nixpy_python(
            &project,
            "import os, pkga; print(os.environ['NIXPY_LAYER'])",
        )
        .env("NIXPY_CACHE_DIR", cache.path())
        .env("UV_CACHE_DIR", uv_cache.path())
        .outcome()
    };
    let failed = run();
    failed
        .nixpy_error()
        .stderr_has("installing")
        .stderr_has("uv failed to install");
    let left = layer_dir_all(cache.path());
    assert!(left.is_empty(), "a failed install left {left:?} in layers/");
    let dists: Vec<_> = std::fs::read_dir(cache.path().join("v1/dists"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        dists.is_empty(),
        "a failed install left {dists:?} in dists/"
    );

    std::fs::write(&whl, &good).unwrap();
    let fixed = run();
    fixed.success();
    let layer = fixed.stdout.trim();
    assert!(is_store_path(layer, "nixpy-layer"), "{layer}");
    let left = layer_dir_entries(cache.path());
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(
        !layer_dir_all(cache.path())
            .iter()
            .any(|n| n.starts_with('.')),
        "{:?}",
        layer_dir_all(cache.path())
    );
    assert_eq!(
        std::fs::read_link(cache.path().join("v1/layers").join(&left[0]))
            .unwrap()
            .display()
            .to_string(),
        layer,
        "layers/<key> is a GC root for the store path"
    );
}

#[test]
fn offline_names_the_package_it_cannot_get() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    wheel(&project, "pkga", "1.0", &[]);
    // find-links, but an index too: --offline is what keeps uv off it.
    project.write(
        "requirements.txt",
        "--find-links ./wheels\npkga\nnixpy-it-not-anywhere\n",
    );
    let uv_cache = temp_dir("nixpy-it-uv-cache-");
    nixpy(&project)
        .args(["run", "--offline", "--", "true"])
        .env("UV_CACHE_DIR", uv_cache.path())
        .outcome()
        .nixpy_error()
        .stderr_has("nixpy-it-not-anywhere")
        .stderr_has("--offline");
}

#[test]
fn the_lock_names_editable_and_direct_reference_packages() {
    needs_nix!();
    let project = Project::new().file("nixpy.toml", "");
    write_local_project(&project, "localpkg", "localpkg");
    let dist = project.mkdir("dist");
    make_wheel(
        &dist,
        "x",
        "1.0",
        &[],
        &[("x/__init__.py", "V = '1.0'\n")],
        &[],
    );
    project.write(
        "requirements.txt",
        "--no-index\n-e ./localpkg\n./dist/x-1.0-py3-none-any.whl\n",
    );
    nixpy_run(&project, ["true"]).outcome().success();
    assert_eq!(
        locked_packages(&project),
        [
            ("localpkg".to_owned(), "0.1.0".to_owned()),
            ("x".to_owned(), "1.0".to_owned())
        ],
        "{}",
        project.read("nixpy.lock")
    );
    assert!(
        !project
            .read("nixpy.lock")
            .contains(&project.root().display().to_string()),
        "nixpy.lock holds the checkout's absolute path:\n{}",
        project.read("nixpy.lock")
    );
}
