//! Faults around nixpy: no Nix, a full disk under the cache, damaged cache
//! files, many concurrent runs, many sequential runs, file permissions, and
//! secrets in logs. Whatever happens, nixpy answers with a clear `error:`
//! (exit 2) or recovers by rebuilding; it never panics.

use std::os::unix::fs::symlink;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

const SHELL_BUILD: &str = "building the Nix shell";

#[track_caller]
fn assert_no_panic(out: &Outcome) {
    assert!(
        !out.stderr.contains("panicked") && !out.stderr.contains("RUST_BACKTRACE"),
        "nixpy panicked: {}\n{}",
        out.command,
        out.stderr
    );
    assert!(
        out.status.code().is_some(),
        "nixpy died by a signal: {}\n{}",
        out.command,
        out.stderr
    );
}

/// A folder whose only programs are the host's Python and uv: PATH on a
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

/// A project with an `[env]` marker and a pip layer of one fresh wheel.
fn marked_project(marker: &str, packages: &str) -> (Project, String) {
    let project = Project::with_manifest(&format!(
        "packages = [{packages}]\n[env]\nIT_MARKER = {}\n",
        toml_string(marker)
    ));
    let module = unique_name("nixpy-it-fault").replace('-', "_");
    add_wheel(&project, &module, "1.0.0");
    project.write("requirements.txt", &local_requirements(&[&module]));
    (project, module)
}

/// `python -c` printing the [env] marker and the module's version.
fn probe(module: &str) -> Vec<String> {
    vec![
        "python".into(),
        "-c".into(),
        format!("import os, {module}; print(os.environ['IT_MARKER'], {module}.VERSION)"),
    ]
}

// ---------------------------------------------------------------------------
// No Nix
// ---------------------------------------------------------------------------

#[test]
fn without_nix_every_command_fails_cleanly_or_works() {
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let bin = path_without_nix();
    let run = |args: &[&str]| {
        let out = nixpy(&project).args(args).env("PATH", bin.path()).outcome();
        assert_no_panic(&out);
        out
    };
    // What needs Nix says it is missing and how to install it.
    for args in [
        &["run", "--", "true"][..],
        &["lock"],
        &["add", "jq"],
        &["push", "--to", "file:///nonexistent"],
    ] {
        let out = run(args);
        out.nixpy_error()
            .stderr_has("Nix is not installed")
            .stderr_has("hint:");
        let hint = &out.stderr[out.stderr.find("hint:").unwrap()..];
        assert!(
            hint.contains("install"),
            "no install hint for {args:?}:\n{}",
            out.stderr
        );
    }
    // What does not need Nix works without it.
    let key = run(&["cache-key"]);
    key.success();
    assert_eq!(key.stdout.lines().count(), 1);
    run(&["show"]).success();
    run(&["gc", "--dry-run"]).success();
    let doctor = run(&["doctor"]);
    doctor.code(1);
    assert!(
        doctor.stdout.contains("Nix is not installed")
            || doctor.stderr.contains("Nix is not installed")
    );
}

/// Issue 13, item 18: a built environment starts without `nix` on PATH
/// (cron, systemd units), saying nothing about Nix; it used to count as
/// stale ("nix changed") and fail with "Nix is not installed".
#[test]
fn a_built_environment_starts_without_nix_on_path() {
    needs_nix!();
    let (project, module) = marked_project("no-nix", "\"hello\"");
    project.write(
        "nixpy.toml",
        &format!(
            "shell-hook = \"export FROM_HOOK=1\"\n{}",
            project.read("nixpy.toml")
        ),
    );
    nixpy_run(&project, probe(&module)).outcome().success();
    let bin = path_without_nix();
    for _ in 0..2 {
        let out = nixpy_run(&project, probe(&module))
            .env("PATH", bin.path())
            .outcome();
        assert_no_panic(&out);
        out.success().stdout_is("no-nix 1.0.0\n");
        assert_eq!(out.stderr, "", "a warm start says nothing");
        nixpy_run(&project, ["hello"])
            .env("PATH", bin.path())
            .outcome()
            .success()
            .stdout_is("hello version 2.12.1 (nixpy stand-in)\n");
        nixpy_run(
            &project,
            ["python", "-c", "import os; print(os.environ['FROM_HOOK'])"],
        )
        .env("PATH", bin.path())
        .outcome()
        .success()
        .stdout_is("1\n");
    }
    // A change does need Nix: the usual clean error.
    project.write(
        "nixpy.toml",
        &project.read("nixpy.toml").replace("\"hello\"", "\"jq\""),
    );
    nixpy_run(&project, ["true"])
        .env("PATH", bin.path())
        .outcome()
        .nixpy_error()
        .stderr_has("Nix is not installed");
}

// ---------------------------------------------------------------------------
// A full disk under the cache folder
// ---------------------------------------------------------------------------

/// A tmpfs of `size` mounted on a fresh folder, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = temp_dir("nixpy-it-tmpfs-");
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { dir }),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
                    Err(e) => e.to_string(),
                };
                let test = std::thread::current().name().unwrap_or("?").to_owned();
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED {test}: cannot mount a tmpfs (needs root): {why}"
                );
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system, leaving nothing free.
    fn fill(&self) {
        let mut file = std::fs::File::create(self.path().join("filler")).unwrap();
        let block = vec![0x5a_u8; 4096];
        use std::io::Write as _;
        while file.write_all(&block).is_ok() {}
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Roughly incompressible text, `len` bytes (a wheel that really is big
/// once installed).
fn noise(len: usize) -> String {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = String::with_capacity(len + 32);
    out.push_str("DATA = \"");
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push_str(&format!("{x:016x}"));
    }
    out.push_str("\"\n");
    out
}

#[test]
fn a_cache_disk_that_fills_up_during_the_pip_install_is_a_clean_error() {
    needs_nix!();
    let Some(fs) = Tmpfs::mount("200k") else {
        return;
    };
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let module = unique_name("nixpy-it-big").replace('-', "_");
    let init = format!("{module}/__init__.py");
    make_wheel(
        &project.mkdir("wheels"),
        &module,
        "1.0.0",
        &[],
        &[(&init, &noise(600_000))],
        &[],
    );
    project.write("requirements.txt", &local_requirements(&[&module]));
    let out = nixpy_run(&project, ["true"])
        .env("NIXPY_CACHE_DIR", fs.path())
        .outcome();
    assert_no_panic(&out);
    out.nixpy_error().stderr_has("No space left on device");
    // Nothing half-installed is left to be mistaken for a layer.
    let layers = fs.path().join("v1/layers");
    let leftovers: Vec<_> = walk(&layers);
    assert!(leftovers.is_empty(), "left in layers/: {leftovers:?}");
    assert!(
        read_entry(fs.path(), &project).is_none(),
        "an entry was written"
    );
}

#[test]
fn a_full_cache_disk_is_a_clean_error() {
    needs_nix!();
    let Some(fs) = Tmpfs::mount("128k") else {
        return;
    };
    fs.fill();
    for manifest in ["packages = [\"hello\"]\n", ""] {
        let project = Project::with_manifest(manifest);
        let out = nixpy_run(&project, ["true"])
            .env("NIXPY_CACHE_DIR", fs.path())
            .outcome();
        assert_no_panic(&out);
        out.nixpy_error().stderr_has("No space left on device");
        // And the same project with room works.
        nixpy_run(&project, ["true"]).outcome().success();
    }
}

// ---------------------------------------------------------------------------
// Damaged cache files
// ---------------------------------------------------------------------------

#[test]
fn a_damaged_entry_is_rebuilt() {
    needs_nix!();
    let (project, module) = marked_project("damaged-entry", "\"hello\"");
    let expected = "damaged-entry 1.0.0\n";
    nixpy_run(&project, probe(&module))
        .outcome()
        .success()
        .stdout_is(expected);
    let entry_path = project_cache_dir(project.cache_dir(), &project).join("entry.json");
    let good = std::fs::read(&entry_path).unwrap();
    let good_json: serde_json::Value = serde_json::from_slice(&good).unwrap();
    let with = |pointer: &str, value: serde_json::Value| {
        let mut v = good_json.clone();
        *v.pointer_mut(pointer).unwrap() = value;
        serde_json::to_vec(&v).unwrap()
    };
    let damages: Vec<(&str, Vec<u8>)> = vec![
        ("truncated to half", good[..good.len() / 2].to_vec()),
        ("truncated to nothing", Vec::new()),
        ("garbage", b"\x00\xff garbage {{{ \n".repeat(50)),
        ("not an object", b"[1, 2, 3]".to_vec()),
        ("an empty object", b"{}".to_vec()),
        ("a future format", with("/format", serde_json::json!(999))),
        (
            "another nixpy version",
            with("/nixpy_version", serde_json::json!("999.0.0")),
        ),
        (
            "a wrong type inside",
            with("/store_paths", serde_json::json!("not a list")),
        ),
        (
            "a store path that is gone",
            with(
                "/store_paths/0",
                serde_json::json!("/nix/store/00000000000000000000000000000000-gone"),
            ),
        ),
    ];
    for (what, bytes) in damages {
        std::fs::write(&entry_path, &bytes).unwrap();
        let out = nixpy_run(&project, probe(&module)).outcome();
        assert_no_panic(&out);
        out.success().stdout_is(expected);
        assert!(
            phases_started(&out.stderr, SHELL_BUILD) == 1,
            "{what}: the entry was not rebuilt:\n{}",
            out.stderr
        );
        let rebuilt: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&entry_path).unwrap())
                .unwrap_or_else(|e| panic!("{what}: the rebuilt entry is not JSON: {e}"));
        assert_eq!(rebuilt["format"], good_json["format"], "{what}");
        let warm = nixpy_run(&project, probe(&module)).outcome();
        warm.success().stdout_is(expected);
        assert_eq!(
            warm.stderr, "",
            "{what}: the run after the rebuild is not warm"
        );
    }
}

#[test]
fn damaged_auxiliary_cache_files_are_repaired() {
    needs_nix!();
    let (project, module) = marked_project("aux", "");
    let expected = "aux 1.0.0\n";
    nixpy_run(&project, probe(&module))
        .outcome()
        .success()
        .stdout_is(expected);
    let cache = project.cache_dir().join("v1");
    let entry = read_entry(project.cache_dir(), &project).unwrap();
    let key = entry["layer"]["key"].as_str().unwrap().to_owned();
    // The interpreter's package list: garbage.
    for file in std::fs::read_dir(cache.join("interpreters"))
        .unwrap()
        .flatten()
    {
        std::fs::write(file.path(), "{ not json").unwrap();
    }
    // The layer's root: pointing at a store path that does not exist.
    let root = cache.join("layers").join(&key);
    std::fs::remove_file(&root).unwrap();
    symlink(
        "/nix/store/00000000000000000000000000000000-nixpy-layer-gone",
        &root,
    )
    .unwrap();
    // And the entry gone, so all of it is read again.
    std::fs::remove_file(project_cache_dir(project.cache_dir(), &project).join("entry.json"))
        .unwrap();
    let out = nixpy_run(&project, probe(&module)).outcome();
    assert_no_panic(&out);
    out.success().stdout_is(expected);
    let target = std::fs::read_link(&root).unwrap();
    assert!(
        target.is_dir(),
        "the layer root still dangles: {}",
        target.display()
    );
}

#[test]
fn a_damaged_generated_flake_is_regenerated() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy_run(&project, ["hello"]).outcome().success();
    for dir in std::fs::read_dir(project.cache_dir().join("v1/flakes"))
        .unwrap()
        .flatten()
    {
        std::fs::write(dir.path().join("flake.nix"), "garbage\n").unwrap();
    }
    std::fs::remove_file(project_cache_dir(project.cache_dir(), &project).join("entry.json"))
        .unwrap();
    let out = nixpy_run(&project, ["hello"]).outcome();
    assert_no_panic(&out);
    out.success()
        .stdout_is("hello version 2.12.1 (nixpy stand-in)\n");
}

// ---------------------------------------------------------------------------
// Closed standard descriptors
// ---------------------------------------------------------------------------

/// Issue 13, item 9: started with stderr (or stdin, stdout) closed, nixpy
/// reopens them on /dev/null as any Rust program does: the shell hook runs
/// (its `>&2` used to fail, skipping it) and status lines do not land in
/// the first file nixpy opens (they went into the cache's lock file).
#[test]
fn closed_standard_descriptors_are_reopened_on_dev_null() {
    needs_nix!();
    for closing in ["2>&-", "0<&- 2>&-", "1>&- 2>&-"] {
        let project = Project::with_manifest(
            "packages = [\"hello\"]\nshell-hook = \"echo hook-output; touch hook-ran\"\n",
        );
        // Cold, then warm: each must run the hook.
        for round in ["cold", "warm"] {
            let _ = std::fs::remove_file(project.path("hook-ran"));
            let script = format!("exec {NIXPY} run -- sh -c 'echo ran > ran' {closing}");
            let mut sh = Command::new("sh");
            sh.arg("-c").arg(&script);
            sh.env("NIXPY_NIXPKGS", &standin().flake_ref)
                .env("NIXPY_CACHE_DIR", project.cache_dir())
                .env("NIX_CONFIG", NIX_CONFIG)
                .env_remove("CI")
                .current_dir(project.root());
            let out = sh.outcome();
            assert!(out.status.success(), "{closing} ({round}): {}", out.stderr);
            assert!(
                project.path("hook-ran").exists(),
                "{closing} ({round}): the shell hook did not run"
            );
            assert_eq!(project.read("ran"), "ran\n", "{closing} ({round})");
            let lock = project_cache_dir(project.cache_dir(), &project).join("lock");
            let written = std::fs::read_to_string(&lock).unwrap_or_default();
            assert_eq!(
                written,
                "",
                "{closing} ({round}): nixpy wrote into {}",
                lock.display()
            );
        }
    }
}

// ---------------------------------------------------------------------------
// nixpy killed
// ---------------------------------------------------------------------------

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|stat| {
                // `pid (comm) state ppid ...`: comm may hold spaces.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

/// Whether a live (not zombie) process has `needle` in its command line.
fn process_with(needle: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let dir = e.path();
        let running = std::fs::read_to_string(dir.join("stat")).is_ok_and(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
        });
        running
            && std::fs::read(dir.join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
    })
}

/// Waits up to `limit` for `done`.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

/// Issue 13, item 4: nixpy killed by PID during a cold build (no process
/// group kill, no terminal) takes `nix print-dev-env` and its builder with
/// it; they used to run on as orphans.
#[test]
fn children_die_with_nixpy_killed_by_pid() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\nnix-files = [\"slow.nix\"]\n");
    let tool = unique_name("nixpy-it-orphan");
    project.write("slow.nix", &scratch_package_nix(&tool, 60));
    // `true`, not the tool: only the builder's command line names the tool.
    let mut child = nixpy_run(&project, ["true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut nix = Vec::new();
    let started = eventually(Duration::from_secs(60), || {
        nix = children_of(pid);
        !nix.is_empty() && process_with(&tool)
    });
    assert!(
        started,
        "the build never started (children of nixpy: {nix:?})"
    );
    // SAFETY: kill(2) of our own child's pid; it touches no memory.
    unsafe {
        libc::kill(libc::pid_t::try_from(pid).unwrap(), libc::SIGKILL);
    }
    child.wait().unwrap();
    let gone = eventually(Duration::from_secs(20), || {
        nix.iter().all(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).map_or(true, |s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
        }) && !process_with(&tool)
    });
    assert!(
        gone,
        "nixpy's children (nix {nix:?}) or the builder of {tool} outlived it"
    );
}

/// ... while the command `nixpy run` execs is nixpy itself, not a child: it
/// lives on when whatever started nixpy goes away.
#[test]
fn the_command_outlives_the_process_that_started_nixpy() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy_run(&project, ["true"]).outcome().success();
    let marker = project.path("alive");
    // The intermediate shell exits at once; the command sleeps, then writes.
    let script = format!(
        "{} run -- sh -c 'sleep 1; echo yes > {}' & exit 0",
        NIXPY,
        marker.display()
    );
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(script);
    sh.env("NIXPY_NIXPKGS", &standin().flake_ref)
        .env("NIXPY_CACHE_DIR", project.cache_dir())
        .env("NIX_CONFIG", NIX_CONFIG)
        .current_dir(project.root());
    sh.outcome().success();
    assert!(
        eventually(Duration::from_secs(20), || marker.exists()),
        "the command died with its starter"
    );
}

// ---------------------------------------------------------------------------
// Many runs
// ---------------------------------------------------------------------------

/// Issue 13, item 6: two checkouts of one project with nix-files share a
/// cache. Their flakes differ (plan.json names each checkout's files), so
/// each gets its own flake folder: the second build used to find the
/// first one's folder under the same key, call it damaged and remove it,
/// and concurrent first builds failed.
#[test]
fn two_checkouts_of_a_project_with_nix_files_build_side_by_side() {
    needs_nix!();
    let manifest = "packages = [\"hello\"]\nnix-files = [\"tools.nix\"]\n";
    let checkouts: Vec<Project> = (0..2)
        .map(|_| Project::with_manifest(manifest).file("tools.nix", "pkgs: [ pkgs.jq ]\n"))
        .collect();
    let cache = temp_dir("nixpy-it-shared-cache-");
    let run = |p: &Project| {
        let out = nixpy_run(p, ["jq", "--version"])
            .env("NIXPY_CACHE_DIR", cache.path())
            .outcome();
        assert_no_panic(&out);
        out
    };
    // One after the other: each flake folder holds its own checkout's plan.
    for p in &checkouts {
        run(p).success();
    }
    for p in &checkouts {
        let entry = read_entry(cache.path(), p).expect("entry.json");
        let key = entry["shell_key"].as_str().unwrap();
        let flakes = std::fs::read_dir(cache.path().join("v1/flakes")).unwrap();
        let plan = flakes
            .flatten()
            .find(|f| f.file_name() == key)
            .map(|f| std::fs::read_to_string(f.path().join("plan.json")).unwrap())
            .unwrap_or_else(|| panic!("no flake folder {key}"));
        assert!(
            plan.contains(&p.path("tools.nix").display().to_string()),
            "the flake folder of {} holds another checkout's plan:\n{plan}",
            p.root().display()
        );
    }
    // Side by side, first builds each time.
    for round in 0..4 {
        let fresh = temp_dir("nixpy-it-shared-cache-");
        let outs: Vec<Outcome> = std::thread::scope(|s| {
            let handles: Vec<_> = checkouts
                .iter()
                .chain(&checkouts)
                .map(|p| {
                    let dir = fresh.path().to_path_buf();
                    s.spawn(move || {
                        nixpy_run(p, ["jq", "--version"])
                            .env("NIXPY_CACHE_DIR", dir)
                            .outcome()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for out in &outs {
            assert_no_panic(out);
            assert!(out.status.success(), "round {round}:\n{}", out.stderr);
        }
    }
}

#[test]
fn thirty_two_concurrent_runs_of_four_projects_each_see_their_own_environment() {
    needs_nix!();
    let cache = temp_dir("nixpy-it-cache-");
    let projects: Vec<(Project, String)> = (0..4)
        .map(|i| {
            let tools = ["\"hello\"", "\"jq\"", "\"sox\"", "\"hello\", \"jq\""];
            marked_project(&format!("project-{i}"), tools[i])
        })
        .collect();
    // Two warm, two cold.
    for (project, module) in &projects[..2] {
        nixpy_run(project, probe(module))
            .env("NIXPY_CACHE_DIR", cache.path())
            .outcome()
            .success();
    }
    let mut children = Vec::new();
    for round in 0..8 {
        for (i, (project, module)) in projects.iter().enumerate() {
            let mut cmd = nixpy_run(project, probe(module));
            cmd.env("NIXPY_CACHE_DIR", cache.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            children.push((i, round, cmd.spawn().unwrap()));
        }
    }
    let mut stderr_of = vec![String::new(); 4];
    for (i, round, child) in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "project {i} run {round} failed: {:?}\n{stderr}",
            out.status
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("project-{i} 1.0.0\n"),
            "project {i} run {round} saw another environment\n{stderr}"
        );
        stderr_of[i] += &stderr;
    }
    for (i, stderr) in stderr_of.iter().enumerate() {
        let builds = phases_started(stderr, SHELL_BUILD);
        let expected = if i < 2 { 0 } else { 1 };
        assert_eq!(
            builds, expected,
            "project {i} built its shell {builds} time(s):\n{stderr}"
        );
    }
}

/// Every path below `dir`, as a sorted list.
fn listing(dir: &Path) -> Vec<PathBuf> {
    walk(dir)
}

/// Names in /tmp that nixpy's temporary files would have.
fn tmp_leftovers() -> Vec<String> {
    std::fs::read_dir("/tmp")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with(".nixpy-tmp-") || n.starts_with("resolve-") || n.starts_with(".building-")
        })
        .collect()
}

#[test]
fn a_thousand_warm_runs_leave_no_trace() {
    needs_nix!();
    let (project, module) = marked_project("thousand", "\"hello\"");
    nixpy_run(&project, probe(&module)).outcome().success();
    nixpy_run(&project, ["true"]).outcome().success();
    let before = listing(project.cache_dir());
    let project_before = project.listing();
    let tmp_before = tmp_leftovers();
    let entry_before = read_entry(project.cache_dir(), &project).unwrap();
    let started = Instant::now();
    for i in 0..1000 {
        let out = nixpy_run(&project, ["true"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "warm run {i}: {:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(60),
        "1000 warm runs took {took:?}"
    );
    assert_eq!(
        listing(project.cache_dir()),
        before,
        "the cache folder changed"
    );
    assert_eq!(
        project.listing(),
        project_before,
        "the project folder changed"
    );
    let new: Vec<String> = tmp_leftovers()
        .into_iter()
        .filter(|n| !tmp_before.contains(n))
        .collect();
    assert!(new.is_empty(), "new temporary files in /tmp: {new:?}");
    assert_eq!(
        read_entry(project.cache_dir(), &project).unwrap(),
        entry_before,
        "warm runs rewrote the entry"
    );
}

// ---------------------------------------------------------------------------
// Permissions
// ---------------------------------------------------------------------------

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// Folders and files below `root` (symlinks, the GC roots, excepted).
fn owned_below(root: &Path) -> Vec<(PathBuf, bool)> {
    walk(root)
        .into_iter()
        .filter_map(|p| {
            let meta = std::fs::symlink_metadata(&p).ok()?;
            (!meta.file_type().is_symlink()).then(|| (p, meta.is_dir()))
        })
        .collect()
}

/// Builds a project with a pip layer into a cache folder nixpy creates
/// itself (`<tmp>/nested/cache`), with the given umask.
fn build_with_umask(umask: u32) -> (tempfile::TempDir, PathBuf) {
    let parent = temp_dir("nixpy-it-perm-");
    let cache = parent.path().join("nested/cache");
    let (project, module) = marked_project("perm", "\"hello\"");
    let mut cmd = nixpy_run(&project, probe(&module));
    cmd.env("NIXPY_CACHE_DIR", &cache);
    use std::os::unix::process::CommandExt;
    // SAFETY: umask(2) is async-signal-safe and touches no memory.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(umask as libc::mode_t);
            Ok(())
        });
    }
    cmd.outcome().success();
    (parent, cache)
}

#[test]
fn cache_folders_are_private_and_nothing_is_world_writable() {
    needs_nix!();
    let (_parent, cache) = build_with_umask(0o022);
    // nixpy created the cache folder and its parent: both private.
    assert_eq!(format!("{:o}", mode(&cache)), "700", "{}", cache.display());
    assert_eq!(format!("{:o}", mode(cache.parent().unwrap())), "700");
    let flakes = cache.join("v1/flakes");
    for (path, is_dir) in owned_below(&cache) {
        let m = mode(&path);
        assert_eq!(m & 0o002, 0, "{} is world-writable ({m:o})", path.display());
        // Generated flake folders have their own test below.
        if is_dir && path.parent() != Some(flakes.as_path()) {
            assert_eq!(m, 0o700, "{} is {m:o}, not 0700", path.display());
        }
    }
}

#[test]
fn generated_flake_folders_are_private_too() {
    needs_nix!();
    let (_parent, cache) = build_with_umask(0o022);
    for dir in std::fs::read_dir(cache.join("v1/flakes"))
        .unwrap()
        .flatten()
    {
        assert_eq!(
            format!("{:o}", mode(&dir.path())),
            "700",
            "{}",
            dir.path().display()
        );
    }
}

#[test]
fn nothing_is_world_writable_even_under_umask_0() {
    needs_nix!();
    let (_parent, cache) = build_with_umask(0);
    let loose: Vec<String> = owned_below(&cache)
        .into_iter()
        .filter(|(p, _)| mode(p) & 0o002 != 0)
        .map(|(p, _)| format!("{:o} {}", mode(&p), p.display()))
        .collect();
    assert!(loose.is_empty(), "world-writable: {loose:#?}");
}

#[test]
fn the_lock_keeps_its_permissions_and_is_replaced_atomically() {
    needs_nix!();
    let (project, module) = marked_project("lockperm", "");
    nixpy_run(&project, probe(&module)).outcome().success();
    let lock = project.path("nixpy.lock");
    set_mode(&lock, 0o640);
    let before = std::fs::read_to_string(&lock).unwrap();
    let inode = std::fs::metadata(&lock).unwrap().ino();
    // A new requirement changes the lock's pip section.
    let second = unique_name("nixpy-it-fault").replace('-', "_");
    add_wheel(&project, &second, "2.0.0");
    project.write("requirements.txt", &local_requirements(&[&module, &second]));
    nixpy_run(&project, ["true"]).outcome().success();
    let after = std::fs::read_to_string(&lock).unwrap();
    assert_ne!(after, before, "the lock was not rewritten");
    assert_eq!(
        format!("{:o}", mode(&lock)),
        "640",
        "the lock's mode changed"
    );
    assert_ne!(
        std::fs::metadata(&lock).unwrap().ino(),
        inode,
        "rewritten in place, not replaced"
    );
    let stray: Vec<_> = project
        .listing()
        .into_iter()
        .filter(|n| n.contains(".nixpy-tmp-"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn the_manifest_keeps_its_permissions_when_nixpy_add_edits_it() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy_run(&project, ["hello"]).outcome().success();
    let manifest = project.path("nixpy.toml");
    set_mode(&manifest, 0o640);
    let inode = std::fs::metadata(&manifest).unwrap().ino();
    nixpy(&project).args(["add", "jq"]).outcome().success();
    assert!(
        project.read("nixpy.toml").contains("jq"),
        "{}",
        project.read("nixpy.toml")
    );
    assert_eq!(
        format!("{:o}", mode(&manifest)),
        "640",
        "the manifest's mode changed"
    );
    assert_ne!(
        std::fs::metadata(&manifest).unwrap().ino(),
        inode,
        "edited in place, not replaced"
    );
}

/// Issue 13, item 16: `nixpy add` is all or nothing across files. With the
/// requirements file in a read-only folder, `add jq --pip ...` changes
/// nothing (it used to leave nixpy.toml edited).
#[test]
fn an_edit_that_cannot_write_one_file_changes_none() {
    needs_nix!();
    let project = Project::with_manifest(
        "packages = [\"hello\"]\nrequirements = [\"ro/requirements.txt\"]\n",
    );
    // A tmpfs on the project's own `ro` folder (a read-only folder even
    // for root, whom permissions do not stop).
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let ro = project.mkdir("ro");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&ro)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a tmpfs (needs root)");
        return;
    }
    let fs = Unmount(ro);
    std::fs::write(fs.0.join("requirements.txt"), "# none yet\n").unwrap();
    nixpy_run(&project, ["hello"]).outcome().success();
    let remount = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&fs.0)
        .status()
        .unwrap();
    assert!(remount.success(), "cannot remount the tmpfs read-only");
    let manifest = project.read("nixpy.toml");
    let lock = project.read("nixpy.lock");
    let out = nixpy(&project)
        .args(["add", "jq", "--pip", "attrs"])
        .outcome();
    assert_no_panic(&out);
    out.nixpy_error().stderr_has("Read-only file system");
    assert_eq!(
        project.read("nixpy.toml"),
        manifest,
        "nixpy.toml was changed"
    );
    assert_eq!(project.read("nixpy.lock"), lock);
    assert_eq!(project.read("ro/requirements.txt"), "# none yet\n");
}

/// Issue 13, item 22: a read-only checkout (a read-only mount, for root
/// too) without a lock says so and how to get one (it said "cannot create
/// a temporary file"), and nothing is half-built.
#[test]
fn a_read_only_checkout_without_a_lock_says_how_to_get_one() {
    needs_nix!();
    let Some(fs) = Tmpfs::mount("1m") else {
        return;
    };
    std::fs::write(fs.path().join("nixpy.toml"), "packages = [\"hello\"]\n").unwrap();
    set_mode(fs.path(), 0o755);
    let remount = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(fs.path())
        .status()
        .unwrap();
    assert!(remount.success(), "cannot remount the tmpfs read-only");
    let project = Project::new();
    let out = nixpy_run(&project, ["hello"])
        .current_dir(fs.path())
        .outcome();
    assert_no_panic(&out);
    out.nixpy_error()
        .stderr_has("nixpy.lock is missing, and the project folder")
        .stderr_has("is on a read-only file system")
        .stderr_has("hint: nixpy.lock holds the nixpkgs pin and the pip resolution: run `nixpy lock` in a writable checkout");
    assert!(
        walk(project.cache_dir())
            .iter()
            .all(|p| p.file_name().is_none_or(|n| n != "entry.json")),
        "a cache entry was published"
    );
}

#[test]
fn a_new_lock_follows_the_umask() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let mut cmd = nixpy_run(&project, ["true"]);
    use std::os::unix::process::CommandExt;
    // SAFETY: umask(2) is async-signal-safe and touches no memory.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    cmd.outcome().success();
    assert_eq!(format!("{:o}", mode(&project.path("nixpy.lock"))), "644");
}

// ---------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------

#[test]
fn env_values_never_appear_in_nixpys_messages() {
    needs_nix!();
    const SECRET: &str = "s3cr3t-value";
    let env = format!("[env]\nSECRET_TOKEN = \"{SECRET}\"\n");
    let module = unique_name("nixpy-it-secret").replace('-', "_");
    let cases: Vec<(&str, String, Option<String>)> = vec![
        (
            "a cold build",
            format!("packages = [\"hello\"]\n{env}"),
            None,
        ),
        (
            "a failing build",
            format!("packages = [\"broken\"]\n{env}"),
            None,
        ),
        (
            "an unknown package",
            format!("packages = [\"nosuchpkg\"]\n{env}"),
            None,
        ),
        (
            "a manifest error on another line",
            format!("pakages = []\n{env}"),
            None,
        ),
        (
            "a bad env name beside it",
            format!("{env}\"1BAD\" = \"x\"\n"),
            None,
        ),
        (
            "an unresolvable requirement",
            env.clone(),
            Some(local_requirements(&[&format!("{module}-missing>=1")])),
        ),
        (
            "a nix-file error",
            format!("nix-files = [\"x.nix\"]\n{env}"),
            None,
        ),
    ];
    for (what, manifest, requirements) in cases {
        let project = Project::with_manifest(&manifest).file("x.nix", "42\n");
        project.mkdir("wheels");
        if let Some(r) = requirements {
            project.write("requirements.txt", &r);
        }
        let out = nixpy_run(&project, ["true"]).outcome();
        assert_no_panic(&out);
        assert!(
            !out.stderr.contains(SECRET),
            "{what}: the secret is on stderr:\n{}",
            out.stderr
        );
        // Verbose output names Nix commands; still no values.
        let out = nixpy(&project)
            .args(["-v", "run", "--refresh", "--", "true"])
            .outcome();
        assert!(
            !out.stderr.contains(SECRET),
            "{what} (-v): the secret is on stderr:\n{}",
            out.stderr
        );
    }
}

// ---------------------------------------------------------------------------
// Where the project and the cache are
// ---------------------------------------------------------------------------

/// Builds and runs a project (Nix packages, a nix-file, [env], a pip layer
/// from `./wheels`) in `<parent>/<name>`; the failure, if any.
fn run_project_in_folder(parent: &Path, name: &str) -> Result<(), String> {
    let root = parent.join(name);
    let root_str = root.display().to_string();
    std::fs::create_dir(&root).unwrap();
    set_mode(&root, 0o755);
    // Built by hand: Project picks its own folder name.
    let module = unique_name("nixpy-it-awk").replace('-', "_");
    std::fs::write(
        root.join("nixpy.toml"),
        "packages = [\"hello\"]\nnix-files = [\"nix/x.nix\"]\n[env]\nIT_MARKER = \"awkward\"\n",
    )
    .unwrap();
    std::fs::create_dir(root.join("nix")).unwrap();
    std::fs::write(root.join("nix/x.nix"), "with pkgs; [ sox ]\n").unwrap();
    let wheels = root.join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    let init = format!("{module}/__init__.py");
    make_wheel(
        &wheels,
        &module,
        "1.0.0",
        &[],
        &[(&init, "VERSION = \"1.0.0\"\n")],
        &[],
    );
    std::fs::write(
        root.join("requirements.txt"),
        local_requirements(&[&module]),
    )
    .unwrap();
    let cache = temp_dir("nixpy-it-cache-");
    let run = |args: &[String]| {
        let out = nixpy_in(&root, cache.path())
            .arg("run")
            .arg("--")
            .args(args)
            .outcome();
        assert_no_panic(&out);
        out
    };
    let out = run(&[
        "sh".into(),
        "-c".into(),
        format!("sox; hello; python -c 'import os, {module}; print(os.environ[\"IT_MARKER\"], {module}.VERSION, os.environ[\"NIXPY_PROJECT\"])'"),
    ]);
    if !out.status.success() {
        return Err(format!("project folder {name:?} failed:\n{}", out.stderr));
    }
    let expected = format!("sox version 14.4.2 (nixpy stand-in)\nhello version 2.12.1 (nixpy stand-in)\nawkward 1.0.0 {root_str}\n");
    if out.stdout != expected {
        return Err(format!(
            "project folder {name:?}: stdout {:?}, expected {expected:?}",
            out.stdout
        ));
    }
    let warm = run(&["true".into()]);
    if !(warm.status.success() && warm.stderr.is_empty()) {
        return Err(format!(
            "project folder {name:?} is not warm:\n{}",
            warm.stderr
        ));
    }
    Ok(())
}

fn run_projects_in_folders(names: &[&str]) {
    let parent = temp_dir("nixpy-it-awkward-");
    let failures: Vec<String> = names
        .iter()
        .filter_map(|name| run_project_in_folder(parent.path(), name).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn projects_in_folders_with_awkward_names_work() {
    needs_nix!();
    run_projects_in_folders(&[
        "a b", "a?b", "a'b", "a$b", "a:b", "a\"b", "ä ✓", "a%20b", "a;b", "a\\b",
    ]);
}

#[test]
fn a_project_folder_with_a_hash_works() {
    needs_nix!();
    run_projects_in_folders(&["a#b"]);
}

/// Issue 13, item 1: paths are bytes on Unix. A project folder whose name
/// is not UTF-8 builds, runs warm, shows and prints its environment, with
/// NIXPY_PROJECT byte for byte; a nix-file there (which Nix is handed
/// through JSON) is refused at its position.
#[test]
fn a_project_folder_whose_path_is_not_utf8_works() {
    needs_nix!();
    use std::os::unix::ffi::OsStrExt;
    let parent = temp_dir("nixpy-it-notutf8-");
    let root = parent.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir(&root).unwrap();
    set_mode(&root, 0o755);
    let module = unique_name("nixpy-it-bytes").replace('-', "_");
    std::fs::write(root.join("nixpy.toml"), "packages = [\"hello\"]\n").unwrap();
    // The wheel is made in a UTF-8 folder (the helper passes paths as JSON).
    let made = temp_dir("nixpy-it-wheels-");
    let init = format!("{module}/__init__.py");
    make_wheel(
        made.path(),
        &module,
        "1.0.0",
        &[],
        &[(&init, "VERSION = \"1.0.0\"\n")],
        &[],
    );
    let wheels = root.join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    for wheel in std::fs::read_dir(made.path()).unwrap().flatten() {
        std::fs::copy(wheel.path(), wheels.join(wheel.file_name())).unwrap();
    }
    std::fs::write(
        root.join("requirements.txt"),
        local_requirements(&[&module]),
    )
    .unwrap();
    let cache = temp_dir("nixpy-it-cache-");
    let nixpy_here = |args: &[&str]| {
        let out = nixpy_in(&root, cache.path()).args(args).outcome();
        assert_no_panic(&out);
        out
    };
    let check = format!(
        "hello; [ \"$NIXPY_PROJECT\" = \"$(pwd -P)\" ] && echo same; python -c 'import {module}; print({module}.VERSION)'"
    );
    let expected = "hello version 2.12.1 (nixpy stand-in)\nsame\n1.0.0\n";
    nixpy_here(&["run", "--", "sh", "-c", &check])
        .success()
        .stdout_is(expected);
    let warm = nixpy_here(&["run", "--", "sh", "-c", &check]);
    warm.success().stdout_is(expected);
    assert_eq!(warm.stderr, "", "the second run is warm");
    nixpy_here(&["show"])
        .success()
        .stdout_has("cache:            fresh");
    let json = nixpy_here(&["show", "--json"]).success().json();
    let bytes: Vec<u8> = json["project"]["bytes"]
        .as_array()
        .expect("the project path as bytes")
        .iter()
        .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
        .collect();
    assert!(bytes.ends_with(b"/caf\xe9"), "{json}");
    nixpy_here(&["env"])
        .success()
        .stdout_has("export NIXPY_PROJECT=");
    nixpy_here(&["cache-key"]).success();

    std::fs::write(root.join("tools.nix"), "pkgs: [ pkgs.jq ]\n").unwrap();
    std::fs::write(
        root.join("nixpy.toml"),
        "packages = [\"hello\"]\nnix-files = [\"tools.nix\"]\n",
    )
    .unwrap();
    nixpy_here(&["run", "--", "true"])
        .nixpy_error()
        .stderr_has_position("nixpy.toml", 2)
        .stderr_has("not UTF-8")
        .stderr_has("hint: move the project");
}

#[test]
fn a_cache_folder_with_awkward_characters_works() {
    needs_nix!();
    let parent = temp_dir("nixpy-it-awkward-cache-");
    for name in ["a b", "a#b", "a?b"] {
        let project = Project::with_manifest("packages = [\"hello\"]\n");
        let out = nixpy_run(&project, ["hello"])
            .env("NIXPY_CACHE_DIR", parent.path().join(name))
            .outcome();
        assert_no_panic(&out);
        assert!(
            out.status.success(),
            "cache folder {name:?}:\n{}",
            out.stderr
        );
    }
}

/// Issue 13, item 21: a relative XDG_CACHE_HOME is ignored, as the XDG
/// spec says; it used to make a cache folder in every folder nixpy ran in.
#[test]
fn a_relative_xdg_cache_home_is_ignored() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    project.mkdir("sub");
    let home = temp_dir("nixpy-it-home-");
    for dir in [project.root().to_path_buf(), project.path("sub")] {
        nixpy_run(&project, ["hello"])
            .current_dir(&dir)
            .env_remove("NIXPY_CACHE_DIR")
            .env("XDG_CACHE_HOME", "relative-cache")
            .env("HOME", home.path())
            .outcome()
            .success();
    }
    assert!(
        home.path().join(".cache/nixpy/v1").is_dir(),
        "the cache is not in $HOME/.cache/nixpy"
    );
    let strays: Vec<String> = project
        .listing()
        .into_iter()
        .filter(|p| p.contains("relative-cache"))
        .collect();
    assert!(strays.is_empty(), "caches made in the project: {strays:?}");
}

#[test]
fn an_unusable_cache_location_is_a_clean_error() {
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    // NIXPY_CACHE_DIR is a file.
    let scratch = temp_dir("nixpy-it-cachefile-");
    let file = scratch.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let out = nixpy_run(&project, ["true"])
        .env("NIXPY_CACHE_DIR", &file)
        .outcome();
    assert_no_panic(&out);
    out.nixpy_error()
        .stderr_has("not-a-folder")
        .stderr_has("hint:");
    // Nothing to put a cache in at all.
    let out = nixpy_run(&project, ["true"])
        .env_remove("NIXPY_CACHE_DIR")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("HOME")
        .outcome();
    assert_no_panic(&out);
    out.nixpy_error()
        .stderr_has("HOME")
        .stderr_has("NIXPY_CACHE_DIR");
}

#[test]
fn a_read_only_cache_still_serves_warm_runs() {
    needs_nix!();
    let Some(fs) = Tmpfs::mount("16m") else {
        return;
    };
    let (project, module) = marked_project("read-only", "\"hello\"");
    let run = |args: Vec<String>| {
        let out = nixpy_run(&project, args)
            .env("NIXPY_CACHE_DIR", fs.path())
            .outcome();
        assert_no_panic(&out);
        out
    };
    run(probe(&module)).success().stdout_is("read-only 1.0.0\n");
    let remount = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(fs.path())
        .status()
        .unwrap();
    assert!(remount.success(), "cannot remount the tmpfs read-only");
    let warm = run(probe(&module));
    warm.success().stdout_is("read-only 1.0.0\n");
    assert_eq!(warm.stderr, "", "a warm run needs no writes");
    // Same bytes, new stats: still fresh, the new stats just go unrecorded.
    let text = project.read("nixpy.toml");
    std::fs::remove_file(project.path("nixpy.toml")).unwrap();
    project.write("nixpy.toml", &text);
    let warm = run(probe(&module));
    warm.success().stdout_is("read-only 1.0.0\n");
    assert_eq!(warm.stderr, "");
    // A real change needs a rebuild, which cannot be written: a clear error.
    project.write("nixpy.toml", &text.replace("\"hello\"", "\"jq\""));
    let out = run(vec!["true".into()]);
    out.nixpy_error().stderr_has("Read-only file system");
}

/// Issue 19.3: a store nixpy cannot reach (a daemon that is not running)
/// is named as such, with the fix, by a run and by `doctor` alike.
#[test]
fn an_unreachable_nix_daemon_is_named_with_its_fix() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let run = nixpy_run(&project, ["true"])
        .env("NIX_REMOTE", "unix:///nonexistent/daemon-socket/socket")
        .outcome();
    run.nixpy_error()
        .stderr_has(
            "no nix-daemon is running (nothing answers on /nonexistent/daemon-socket/socket)",
        )
        .stderr_has("systemctl start nix-daemon");
    let doctor = nixpy(&project)
        .arg("doctor")
        .env("NIX_REMOTE", "unix:///nonexistent/daemon-socket/socket")
        .outcome();
    doctor.code(1);
    assert!(
        doctor
            .stdout
            .contains("FAIL  nix store     no nix-daemon is running"),
        "{}",
        doctor.stdout
    );
    // And as it is here: the local store, opened by Nix itself.
    let doctor = nixpy(&project).arg("doctor").outcome();
    doctor.stdout_has("ok    nix store     local store");
}

/// Issue 19.4: no Nix command adds a path and roots it in one step, so a
/// garbage collection may remove it in between (simulated by a `nix` that
/// deletes what it just added). nixpy adds it again, says so, and ends up
/// with both the shell file and the pip layer rooted.
#[test]
fn a_gc_between_adding_and_rooting_adds_the_path_again() {
    needs_nix!();
    let token = unique_name("nixpy-it-race");
    let project = Project::with_manifest("nix-files = [\"tool.nix\"]\n");
    project.write("tool.nix", &scratch_package_nix(&token, 0));
    let module = token.replace('-', "_");
    add_wheel(&project, &module, "0.1.0");
    project.write("requirements.txt", &local_requirements(&[&module]));
    let wrapper = gc_race_wrapper();
    let path = std::env::join_paths(
        std::iter::once(wrapper.path().to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let code = format!("import {module}; print({module}.VERSION)");
    let out = nixpy_run(&project, ["python", "-c", &code])
        .env("PATH", &path)
        .outcome();
    out.success().stdout_is("0.1.0\n");
    for what in ["shell", "layer"] {
        assert!(
            wrapper.path().join(format!("raced-{what}")).exists(),
            "the {what} was never removed: the test tested nothing"
        );
    }
    let notes = out.stderr.matches("a garbage collection removed").count();
    assert_eq!(notes, 2, "{}", out.stderr);
    let entry = read_entry(project.cache_dir(), &project).expect("entry.json");
    for pointer in ["/shell_file", "/layer/dir"] {
        let path = entry.pointer(pointer).and_then(|v| v.as_str()).unwrap();
        let deleted = Command::new("nix-store")
            .args(["--delete", path])
            .env("NIX_CONFIG", NIX_CONFIG)
            .outcome();
        deleted.code(1);
        assert!(Path::new(path).exists(), "{path} is not rooted");
    }
}
