//! The pip layer per distribution (issue 12): each pinned distribution in a
//! store path of its own, reused by every later layer and project; a layer
//! is a small composition over them. An edit installs what it changed,
//! the same pin gives the same bytes everywhere, and `nixpy gc` frees what
//! no layer uses any more.
//!
//! Wheels are built by the test (`make_wheel`) with names no other test
//! uses, so the store paths asserted on are this test's own.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use crate::harness::*;

/// A wheel `<name>-<version>` whose package `<name>` has `V = <version>`.
fn wheel_in(dir: &Path, name: &str, version: &str) -> PathBuf {
    let module = format!("{}/__init__.py", name.replace('-', "_"));
    let text = format!("V = {version:?}\n");
    make_wheel(dir, name, version, &[], &[(&module, &text)], &[])
}

/// Distinct package names for this test: (module, distribution) pairs.
fn names(count: usize) -> Vec<String> {
    (0..count)
        .map(|_| unique_name("nixpy-it-dist").replace('-', "_"))
        .collect()
}

/// The project's layer as its entry has it: (composition, name -> dist path).
fn layer(cache: &Path, project: &Project) -> (String, BTreeMap<String, String>) {
    let entry = read_entry(cache, project).expect("entry.json");
    let dir = entry["layer"]["dir"].as_str().unwrap().to_owned();
    let dists = entry["layer"]["dists"]
        .as_array()
        .unwrap_or_else(|| panic!("no layer.dists in {entry:#}"))
        .iter()
        .map(|d| {
            let path = d.as_str().unwrap().to_owned();
            let name = path
                .split_once("-nixpy-dist-")
                .map(|(_, n)| n.rsplit_once('-').unwrap().0.replace('-', "_"))
                .unwrap_or_else(|| panic!("{path} is not a distribution store path"));
            (name, path)
        })
        .collect();
    (dir, dists)
}

/// `python -c 'import <m>...; print the versions'`, checked.
fn versions(project: &Project, cache: &Path, modules: &[&String]) -> Outcome {
    let code = format!(
        "import json, {}; print(json.dumps([{}]))",
        modules
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        modules
            .iter()
            .map(|m| format!("{m}.V"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let out = nixpy_python(project, &code)
        .env("NIXPY_CACHE_DIR", cache)
        .outcome();
    out.success();
    out
}

/// The phase line of a layer build, e.g. `installing 1 of 3 pip package(s)`.
fn installed(stderr: &str) -> Option<String> {
    phase_lines(stderr)
        .into_iter()
        .find(|l| l.starts_with("nixpy: installing "))
        .map(|l| l["nixpy: ".len()..l.len() - " ...".len()].to_owned())
}

#[test]
fn adding_removing_and_upgrading_one_package_reuses_every_other_distribution() {
    needs_nix!();
    let project = Project::with_manifest("");
    let cache = project.cache_dir().to_path_buf();
    let wheels = project.mkdir("wheels");
    let [a, b, c]: [String; 3] = names(3).try_into().unwrap();
    for m in [&a, &b, &c] {
        wheel_in(&wheels, m, "1.0");
    }
    wheel_in(&wheels, &a, "2.0");
    let requirements = |lines: &[String]| {
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        project.write("requirements.txt", &local_requirements(&lines));
    };

    requirements(&[format!("{a}==1.0"), b.clone()]);
    let out = versions(&project, &cache, &[&a, &b]);
    out.stdout_is("[\"1.0\", \"1.0\"]\n");
    assert_eq!(
        installed(&out.stderr).as_deref(),
        Some("installing 2 of 2 pip package(s) with uv")
    );
    let (first_layer, first) = layer(&cache, &project);

    // Adding one package installs that package only.
    requirements(&[format!("{a}==1.0"), b.clone(), c.clone()]);
    let out = versions(&project, &cache, &[&a, &b, &c]);
    out.stdout_is("[\"1.0\", \"1.0\", \"1.0\"]\n");
    assert_eq!(
        installed(&out.stderr).as_deref(),
        Some("installing 1 of 3 pip package(s) with uv")
    );
    let (added_layer, added) = layer(&cache, &project);
    assert_ne!(added_layer, first_layer, "a new composition");
    assert_eq!(added[&a], first[&a], "{a} reused");
    assert_eq!(added[&b], first[&b], "{b} reused");

    // Removing one installs nothing: a new composition of the others.
    requirements(&[format!("{a}==1.0"), c.clone()]);
    let out = versions(&project, &cache, &[&a, &c]);
    assert_eq!(installed(&out.stderr), None, "{}", out.stderr);
    out.stderr_has("composing the pip layer");
    let (_, removed) = layer(&cache, &project);
    assert_eq!(removed.len(), 2);
    assert_eq!((&removed[&a], &removed[&c]), (&added[&a], &added[&c]));
    let gone = nixpy_python(&project, &format!("import {b}")).outcome();
    assert!(!gone.status.success(), "{b} is still importable");

    // Upgrading one installs the new version only.
    requirements(&[format!("{a}==2.0"), c.clone()]);
    let out = versions(&project, &cache, &[&a, &c]);
    out.stdout_is("[\"2.0\", \"1.0\"]\n");
    assert_eq!(
        installed(&out.stderr).as_deref(),
        Some("installing 1 of 2 pip package(s) with uv")
    );
    let (_, upgraded) = layer(&cache, &project);
    assert_ne!(upgraded[&a], added[&a]);
    assert_eq!(upgraded[&c], added[&c]);

    // A Nix Python package that leaves the pins as they are: a new shell,
    // no layer work at all.
    let out = nixpy(&project).args(["add", "--python", "attrs"]).outcome();
    out.success().stderr_has("building the Nix shell");
    assert!(
        !out.stderr.contains("installing") && !out.stderr.contains("composing"),
        "{}",
        out.stderr
    );
    versions(&project, &cache, &[&a, &c]).stdout_is("[\"2.0\", \"1.0\"]\n");
    assert_eq!(layer(&cache, &project).1, upgraded);
}

#[test]
fn a_namespace_package_spread_over_two_distributions_imports_as_one() {
    needs_nix!();
    let project = Project::with_manifest("");
    let wheels = project.mkdir("wheels");
    let ns = names(1).remove(0);
    let (one, two) = (format!("{ns}-one"), format!("{ns}-two"));
    make_wheel(
        &wheels,
        &one,
        "1.0",
        &[],
        &[(&format!("{ns}/one/__init__.py"), "WHO = 'one'\n")],
        &[],
    );
    make_wheel(
        &wheels,
        &two,
        "1.0",
        &[],
        &[(&format!("{ns}/two/__init__.py"), "WHO = 'two'\n")],
        &[],
    );
    project.write("requirements.txt", &local_requirements(&[&one, &two]));
    let code = format!(
        "import json, {ns}, {ns}.one, {ns}.two; print(json.dumps([{ns}.one.WHO, {ns}.two.WHO, list({ns}.__path__)]))"
    );
    let v = nixpy_python(&project, &code).outcome().success().json();
    assert_eq!((v[0].as_str(), v[1].as_str()), (Some("one"), Some("two")));
    let path = v[2].as_array().unwrap();
    assert_eq!(path.len(), 1, "one merged folder: {path:?}");
    let merged = Path::new(path[0].as_str().unwrap());
    assert!(
        merged.is_dir() && !merged.is_symlink(),
        "{}",
        merged.display()
    );
    // Each half is a link into its own distribution.
    for (half, dist) in [("one", &one), ("two", &two)] {
        let target = std::fs::read_link(merged.join(half)).unwrap();
        assert!(
            target
                .display()
                .to_string()
                .contains(&format!("-nixpy-dist-{}-1.0/", dist.replace('_', "-"))),
            "{half} -> {}",
            target.display()
        );
    }
}

#[test]
fn two_projects_share_distributions_and_the_second_installs_only_the_difference() {
    needs_nix!();
    let cache = temp_dir("nixpy-it-cache-");
    let [a, b, c]: [String; 3] = names(3).try_into().unwrap();
    let one = Project::with_manifest("");
    let two = Project::with_manifest("packages = [\"hello\"]\n");
    for (p, pins) in [(&one, [&a, &b]), (&two, [&b, &c])] {
        let wheels = p.mkdir("wheels");
        for m in [&a, &b, &c] {
            wheel_in(&wheels, m, "1.0");
        }
        let lines: Vec<&str> = pins.iter().map(|s| s.as_str()).collect();
        p.write("requirements.txt", &local_requirements(&lines));
    }
    let out = versions(&one, cache.path(), &[&a, &b]);
    assert_eq!(
        installed(&out.stderr).as_deref(),
        Some("installing 2 of 2 pip package(s) with uv")
    );
    let out = versions(&two, cache.path(), &[&b, &c]);
    assert_eq!(
        installed(&out.stderr).as_deref(),
        Some("installing 1 of 2 pip package(s) with uv"),
        "only {c} is new"
    );
    assert_eq!(
        layer(cache.path(), &one).1[&b],
        layer(cache.path(), &two).1[&b]
    );
}

#[test]
fn a_rebuild_from_a_recopied_wheel_folder_gives_the_same_store_paths() {
    needs_nix!();
    for installer in ["uv", "pip"] {
        let project = Project::with_manifest(&format!("installer = \"{installer}\"\n"));
        let wheels = project.mkdir("wheels");
        let m = names(1).remove(0);
        // A console script and a data file: the parts an installer rewrites.
        make_wheel(
            &wheels,
            &m,
            "1.0",
            &[],
            &[(
                &format!("{m}/__init__.py"),
                "def main():\n    print('ok')\n",
            )],
            &[(&m.replace('_', "-"), &format!("{m}:main"))],
        );
        project.write("requirements.txt", &local_requirements(&[&m]));
        let uv_cache = temp_dir("nixpy-it-uv-cache-");
        nixpy_run(&project, [&m.replace('_', "-")])
            .env("UV_CACHE_DIR", uv_cache.path())
            .outcome()
            .success()
            .stdout_is("ok\n");
        let (_, first) = layer(project.cache_dir(), &project);

        // Another machine: the wheels copied afresh (new times), its own
        // nixpy and uv caches, a second later.
        std::thread::sleep(Duration::from_millis(1100));
        let copy = project.mkdir("wheels-copy");
        for entry in std::fs::read_dir(&wheels).unwrap().flatten() {
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
        std::fs::remove_dir_all(&wheels).unwrap();
        std::fs::rename(&copy, &wheels).unwrap();
        let other_cache = temp_dir("nixpy-it-cache-");
        let other_uv = temp_dir("nixpy-it-uv-cache-");
        let out = nixpy_run(&project, [&m.replace('_', "-")])
            .env("NIXPY_CACHE_DIR", other_cache.path())
            .env("UV_CACHE_DIR", other_uv.path())
            .env("PYTHONHASHSEED", "12345")
            .outcome();
        out.success()
            .stdout_is("ok\n")
            .stderr_has("installing 1 of 1");
        let (_, second) = layer(other_cache.path(), &project);
        assert_eq!(
            second, first,
            "{installer}: the same pin must give the same store path"
        );
        // Nothing machine-specific inside.
        let dist = Path::new(&first[&m]);
        let files: Vec<String> = walk(dist)
            .into_iter()
            .map(|p| p.strip_prefix(dist).unwrap().display().to_string())
            .collect();
        for bad in ["uv_cache.json", "REQUESTED", ".lock"] {
            assert!(
                !files.iter().any(|f| f.ends_with(bad)),
                "{installer}: {bad} in {files:?}"
            );
        }
        let script = std::fs::read_to_string(dist.join("bin").join(m.replace('_', "-"))).unwrap();
        assert!(script.starts_with("#!python\n"), "{installer}: {script}");
    }
}

/// A local project whose build backend sleeps `seconds` first: an install
/// slow enough to interrupt.
fn slow_local_project(project: &Project, dir: &str, name: &str, seconds: u32) {
    project.write(
        &format!("{dir}/pyproject.toml"),
        &format!("[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\"_build\"]\n\n[project]\nname = \"{name}\"\nversion = \"1.0\"\n"),
    );
    project.write(
        &format!("{dir}/_build/backend.py"),
        &format!(
            r#"import base64, hashlib, os, time, zipfile
NAME = "{name}"
def _wheel(directory):
    time.sleep({seconds})
    info = NAME + "-1.0.dist-info"
    entries = [(NAME + "/__init__.py", b"V = 'built'\n"),
               (info + "/METADATA", ("Metadata-Version: 2.1\nName: " + NAME + "\nVersion: 1.0\n").encode()),
               (info + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: slow\nRoot-Is-Purelib: true\nTag: py3-none-any\n")]
    record = "".join("%s,sha256=%s,%d\n" % (p, base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode(), len(d)) for p, d in entries)
    entries.append((info + "/RECORD", (record + info + "/RECORD,,\n").encode()))
    wheel = NAME + "-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, wheel), "w") as z:
        for p, d in entries:
            z.writestr(p, d)
    return wheel
def get_requires_for_build_wheel(config_settings=None):
    return []
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory)
"#
        ),
    );
}

/// Reads the child's stderr until a line contains `needle`.
fn wait_for_line(child: &mut Child, needle: &str) -> String {
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("the run ended before {needle:?}:\n{seen}");
        }
        seen += &line;
        if line.contains(needle) {
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
            return seen;
        }
    }
}

#[test]
fn a_killed_install_is_completed_by_the_next_run_and_nothing_half_done_is_used() {
    needs_nix!();
    let project = Project::with_manifest("");
    let name = names(1).remove(0);
    slow_local_project(&project, "slow", &name, 3);
    project.write("requirements.txt", "--no-index\n./slow\n");
    let mut child = spawn_group(nixpy_run(&project, ["true"]));
    wait_for_line(&mut child, "installing 1 of 1");
    std::thread::sleep(Duration::from_millis(500));
    kill_group(&mut child);

    let cache = project.cache_dir();
    let out = nixpy_python(&project, &format!("import {name}; print({name}.V)")).outcome();
    out.success()
        .stdout_is("built\n")
        .stderr_has("installing 1 of 1");
    // Every index entry and root points at a complete store path, and the
    // environment uses none of the killed run's folders.
    for dir in ["v1/dists", "v1/layers"] {
        for entry in std::fs::read_dir(cache.join(dir)).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let target = std::fs::read_link(entry.path()).unwrap();
            Command::new("nix-store")
                .args(["--verify-path"])
                .arg(&target)
                .outcome()
                .success();
        }
    }
    let entry = read_entry(cache, &project).unwrap();
    let (_, dists) = layer(cache, &project);
    assert!(
        dists.values().all(|d| d.starts_with("/nix/store/")),
        "{entry}"
    );
}

#[test]
fn gc_frees_distributions_no_layer_uses_and_keeps_shared_ones() {
    needs_nix!();
    let cache = temp_dir("nixpy-it-cache-");
    let [a, b, c]: [String; 3] = names(3).try_into().unwrap();
    let gone = Project::with_manifest("");
    let kept = Project::with_manifest("");
    for (p, pins) in [(&gone, [&a, &b]), (&kept, [&b, &c])] {
        let wheels = p.mkdir("wheels");
        for m in [&a, &b, &c] {
            wheel_in(&wheels, m, "1.0");
        }
        let lines: Vec<&str> = pins.iter().map(|s| s.as_str()).collect();
        p.write("requirements.txt", &local_requirements(&lines));
        versions(p, cache.path(), &pins);
    }
    let (gone_layer, gone_dists) = layer(cache.path(), &gone);
    let (_, kept_dists) = layer(cache.path(), &kept);
    drop(gone);
    let out = nixpy(&kept)
        .arg("gc")
        .env("NIXPY_CACHE_DIR", cache.path())
        .outcome();
    out.success();
    // Only the deleted project's own distribution and composition go.
    assert!(!Path::new(&gone_dists[&a]).exists(), "{}", out.stdout);
    assert!(!Path::new(&gone_layer).exists(), "{}", out.stdout);
    assert!(
        Path::new(&kept_dists[&b]).exists(),
        "the shared distribution was deleted:\n{}",
        out.stdout
    );
    assert!(out.stdout.contains("deleted 2 of 2"), "{}", out.stdout);
    let index: Vec<String> = std::fs::read_dir(cache.path().join("v1/dists"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|t| t.display().to_string())
        .collect();
    assert!(!index.contains(&gone_dists[&a]), "{index:?}");
    assert!(
        index.contains(&kept_dists[&b]) && index.contains(&kept_dists[&c]),
        "{index:?}"
    );
    // The other project is untouched: still warm.
    let warm = nixpy_python(&kept, &format!("import {b}, {c}"))
        .env("NIXPY_CACHE_DIR", cache.path())
        .outcome();
    warm.success();
    assert_eq!(warm.stderr, "", "the kept project is still warm");
    for d in kept_dists.values() {
        Command::new("nix-store")
            .args(["--delete", d])
            .outcome()
            .code(1);
    }
}

#[test]
fn gc_during_pip_layer_installs_leaves_every_layer_rooted() {
    needs_nix!();
    let cache = temp_dir("nixpy-it-cache-");
    let projects: Vec<(Project, String)> = names(4)
        .into_iter()
        .map(|m| {
            let p = Project::with_manifest("");
            slow_local_project(&p, "slow", &m, 1);
            p.write("requirements.txt", "--no-index\n./slow\n");
            (p, m)
        })
        .collect();
    let mut children: Vec<Child> = projects
        .iter()
        .map(|(p, _)| {
            let mut cmd = nixpy_run(p, ["true"]);
            cmd.env("NIXPY_CACHE_DIR", cache.path());
            spawn_group(cmd)
        })
        .collect();
    let anywhere = Project::new();
    let mut said = String::new();
    while children.iter_mut().any(|c| c.try_wait().unwrap().is_none()) {
        let out = nixpy(&anywhere)
            .arg("gc")
            .env("NIXPY_CACHE_DIR", cache.path())
            .outcome();
        out.success();
        said += &out.stdout;
        said += &out.stderr;
    }
    for (child, (p, _)) in children.iter_mut().zip(&projects) {
        assert!(
            child.wait().unwrap().success(),
            "{} failed; gc said:\n{said}",
            p.root().display()
        );
    }
    // Every layer in use is still rooted, with each of its distributions.
    for (p, m) in &projects {
        let entry = read_entry(cache.path(), p).unwrap();
        let key = entry["layer"]["key"].as_str().unwrap();
        let root = cache.path().join("v1/layers").join(key);
        assert_eq!(
            std::fs::read_link(&root)
                .ok()
                .map(|t| t.display().to_string())
                .as_deref(),
            entry["layer"]["dir"].as_str(),
            "{} lost its root; gc said:\n{said}",
            root.display()
        );
        let dists = entry["layer"]["dists"].as_array().unwrap();
        for (i, d) in dists.iter().enumerate() {
            let link = cache
                .path()
                .join("v1/layers")
                .join(format!("{key}-{}", i + 2));
            assert_eq!(
                std::fs::read_link(&link)
                    .ok()
                    .map(|t| t.display().to_string())
                    .as_deref(),
                d.as_str()
            );
        }
        let warm = nixpy_python(p, &format!("import {m}"))
            .env("NIXPY_CACHE_DIR", cache.path())
            .outcome();
        warm.success();
        assert_eq!(warm.stderr, "");
    }
}

/// A source distribution `<name>-1.0.tar.gz` whose in-tree build backend
/// records whether the Nix shell's `hello` was on PATH while it built, and
/// tags its wheel for this platform, as a compiled package's is.
fn shell_built_sdist(dir: &Path, name: &str) -> PathBuf {
    const WRITER: &str = r#"
import gzip, io, sys, tarfile
out, name = sys.argv[1], sys.argv[2]
backend = '''import base64, hashlib, os, shutil, zipfile
NAME = "%s"
def get_requires_for_build_wheel(config_settings=None):
    return []
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    info = NAME + "-1.0.dist-info"
    built = "with hello on PATH" if shutil.which("hello") else "without hello"
    entries = [(NAME + "/__init__.py", ("BUILT = %%r\\n" %% built).encode()),
               (info + "/METADATA", ("Metadata-Version: 2.1\\nName: " + NAME + "\\nVersion: 1.0\\n").encode()),
               (info + "/WHEEL", b"Wheel-Version: 1.0\\nGenerator: in-tree\\nRoot-Is-Purelib: false\\nTag: py3-none-linux_x86_64\\n")]
    record = "".join("%%s,sha256=%%s,%%d\\n" %% (p, base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode(), len(d)) for p, d in entries)
    entries.append((info + "/RECORD", (record + info + "/RECORD,,\\n").encode()))
    wheel = NAME + "-1.0-py3-none-linux_x86_64.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as z:
        for p, d in entries:
            z.writestr(p, d)
    return wheel
''' % name
files = {
    "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["_build"]\n\n[project]\nname = "%s"\nversion = "1.0"\n' % name,
    "PKG-INFO": "Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % name,
    "_build/backend.py": backend,
}
path = "%s/%s-1.0.tar.gz" % (out, name)
# The same bytes every time (gzip's header has a time too).
with gzip.GzipFile(path, "wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
    for rel, text in files.items():
        data = text.encode()
        info = tarfile.TarInfo("%s-1.0/%s" % (name, rel))
        info.size, info.mtime = len(data), 315532800
        tar.addfile(info, io.BytesIO(data))
print(path)
"#;
    let out = Command::new(host_python())
        .args(["-c", WRITER])
        .arg(dir)
        .arg(name)
        .outcome();
    PathBuf::from(out.success().stdout.trim())
}

#[test]
fn a_source_distribution_builds_in_the_nix_shell_once_per_shell() {
    needs_nix!();
    if std::env::consts::ARCH != "x86_64" {
        return;
    }
    let cache = temp_dir("nixpy-it-cache-");
    let name = names(1).remove(0);
    let extra = format!("{name}_extra");
    let project = |manifest: &str, pins: &[&str]| {
        let p = Project::with_manifest(manifest);
        shell_built_sdist(&p.mkdir("wheels"), &name);
        wheel_in(&p.mkdir("wheels"), &extra, "1.0");
        p.write("requirements.txt", &local_requirements(pins));
        p
    };
    let run = |p: &Project| {
        let out = nixpy_python(p, &format!("import {name}; print({name}.BUILT)"))
            .env("NIXPY_CACHE_DIR", cache.path())
            .outcome();
        out.success();
        out
    };
    // Built in the shell's environment: its tools on PATH.
    let first = project("packages = [\"hello\"]\n", &[&name]);
    run(&first)
        .stdout_is("with hello on PATH\n")
        .stderr_has("installing 1 of 1");
    // Then cached like a wheel: another project with the same shell and
    // one more pin installs that pin only.
    let same_shell = project("packages = [\"hello\"]\n", &[&name, &extra]);
    let out = run(&same_shell);
    out.stdout_is("with hello on PATH\n")
        .stderr_has("installing 1 of 2");
    assert_eq!(
        layer(cache.path(), &first).1[&name],
        layer(cache.path(), &same_shell).1[&name]
    );
    // Built for a shell: another shell (other tools, other libraries)
    // builds it again, in its own environment.
    let other_shell = project("packages = [\"jq\"]\n", &[&name]);
    run(&other_shell)
        .stdout_is("without hello\n")
        .stderr_has("installing 1 of 1");
}
