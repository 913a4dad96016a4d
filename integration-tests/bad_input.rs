//! Bad input, table-driven: malformed and mistyped manifests, attribute
//! paths carrying Nix or shell metacharacters, bad `[env]` names and values,
//! files that are missing, unreadable, cyclic or outside the project, bad
//! nixpkgs references, and injection attempts through every value nixpy
//! passes on (each must leave a marker file uncreated).
//!
//! Each case runs `nixpy run -- CMD` in a fresh project and expects either
//! nixpy's own error (exit 2, an `error:` line with the given fragments,
//! nothing on stdout) or success (optionally with exact stdout). No case may
//! make nixpy panic. All cases of a table run, then every failure is reported
//! together.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::harness::*;

enum Expect {
    /// nixpy's own failure, with each fragment somewhere on stderr.
    Error(Vec<String>),
    /// Success, with exactly this on stdout when given.
    Success(Option<String>),
    /// Success, stdout being one JSON string with this value.
    JsonString(String),
}

type Setup = Box<dyn Fn(&Project) -> Vec<tempfile::TempDir>>;

struct Case {
    name: String,
    files: Vec<(String, Vec<u8>)>,
    setup: Option<Setup>,
    /// Arguments before `run` (such as `--nixpkgs REF`).
    global: Vec<String>,
    env: Vec<(String, String)>,
    command: Vec<String>,
    expect: Expect,
    /// The case gets as far as Nix (so it is skipped without Nix).
    needs_nix: bool,
    /// Start from an empty nixpy.toml (the case's files may replace it).
    default_manifest: bool,
}

fn case(name: impl Into<String>) -> Case {
    Case {
        name: name.into(),
        files: Vec::new(),
        setup: None,
        global: Vec::new(),
        env: Vec::new(),
        command: vec!["true".into()],
        expect: Expect::Success(None),
        needs_nix: false,
        default_manifest: true,
    }
}

impl Case {
    fn manifest(self, text: &str) -> Case {
        self.bytes("nixpy.toml", text.as_bytes())
    }

    fn file(self, rel: &str, text: &str) -> Case {
        self.bytes(rel, text.as_bytes())
    }

    fn bytes(mut self, rel: &str, bytes: &[u8]) -> Case {
        self.files.push((rel.to_owned(), bytes.to_vec()));
        self
    }

    fn setup(mut self, f: impl Fn(&Project) -> Vec<tempfile::TempDir> + 'static) -> Case {
        self.setup = Some(Box::new(f));
        self
    }

    fn env(mut self, vars: &[(&str, &str)]) -> Case {
        self.env
            .extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self
    }

    fn global(mut self, args: &[&str]) -> Case {
        self.global = args.iter().map(std::string::ToString::to_string).collect();
        self
    }

    fn command(mut self, args: &[&str]) -> Case {
        self.command = args.iter().map(std::string::ToString::to_string).collect();
        self
    }

    fn error(mut self, fragments: &[&str]) -> Case {
        self.expect = Expect::Error(
            fragments
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
        );
        self
    }

    /// Success; building the shell needs Nix.
    fn success(mut self) -> Case {
        self.expect = Expect::Success(None);
        self.needs_nix = true;
        self
    }

    fn stdout(mut self, text: &str) -> Case {
        self.expect = Expect::Success(Some(text.to_owned()));
        self.needs_nix = true;
        self
    }

    /// Success, with the command printing one JSON string equal to `value`.
    fn json_string(mut self, value: &str) -> Case {
        self.expect = Expect::JsonString(value.to_owned());
        self.needs_nix = true;
        self
    }

    fn no_manifest(mut self) -> Case {
        self.default_manifest = false;
        self
    }

    fn needs_nix(mut self) -> Case {
        self.needs_nix = true;
        self
    }
}

/// Runs every case; returns the failures' descriptions.
fn run_case(case: &Case, marks: Option<&Path>) -> Result<Duration, String> {
    let project = Project::new();
    if case.default_manifest {
        project.write("nixpy.toml", "");
    }
    for (rel, bytes) in &case.files {
        let path = project.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, bytes).unwrap();
    }
    let _guards = case.setup.as_ref().map(|f| f(&project));
    let mut cmd = nixpy(&project);
    cmd.args(&case.global)
        .arg("run")
        .arg("--")
        .args(&case.command);
    for (k, v) in &case.env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let out = cmd.outcome();
    let took = started.elapsed();
    let mut problems = Vec::new();
    if out.stderr.contains("panicked") || out.stderr.contains("RUST_BACKTRACE") {
        problems.push("nixpy panicked".to_owned());
    }
    // Messages quote what the user wrote, escaped: nothing that a terminal
    // would act on.
    if let Some(c) = out.stderr.chars().find(|c| c.is_control() && *c != '\n') {
        problems.push(format!("stderr carries the control character {c:?}"));
    }
    match &case.expect {
        Expect::Error(fragments) => {
            if out.status.code() != Some(2) {
                problems.push(format!("expected exit 2, got {:?}", out.status));
            }
            if !out.stderr.contains("error:") {
                problems.push("no `error:` line".into());
            }
            if !out.stdout.is_empty() {
                problems.push("stdout is not empty".into());
            }
            for f in fragments {
                if !out.stderr.contains(f.as_str()) {
                    problems.push(format!("stderr lacks {f:?}"));
                }
            }
        }
        Expect::JsonString(value) => {
            if !out.status.success() {
                problems.push(format!("expected success, got {:?}", out.status));
            }
            match serde_json::from_str::<String>(&out.stdout) {
                Ok(got) if &got == value => {}
                Ok(got) => problems.push(format!("the command saw {got:?}, expected {value:?}")),
                Err(e) => problems.push(format!("stdout is not a JSON string: {e}")),
            }
        }
        Expect::Success(stdout) => {
            if !out.status.success() {
                problems.push(format!("expected success, got {:?}", out.status));
            }
            if let Some(expected) = stdout {
                if &out.stdout != expected {
                    problems.push(format!("stdout {:?}, expected {expected:?}", out.stdout));
                }
            }
        }
    }
    if let Some(marks) = marks {
        let made: Vec<PathBuf> = walk(marks)
            .into_iter()
            .chain(walk(project.root()).into_iter().filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("marker"))
            }))
            .collect();
        if !made.is_empty() {
            problems.push(format!("INJECTED: {made:?} were created"));
            for p in made {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    if problems.is_empty() {
        Ok(took)
    } else {
        Err(format!(
            "case {:?}: {}\n  status: {:?}\n  stdout: {:?}\n  stderr:\n{}",
            case.name,
            problems.join("; "),
            out.status,
            out.stdout,
            indent(&out.stderr)
        ))
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// Runs a table (skipping the cases that need Nix when it is absent) and
/// fails once with every failing case.
fn run_table(cases: Vec<Case>, marks: Option<&Path>) {
    let have_nix = require_nix().is_some();
    let names: std::collections::HashSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), cases.len(), "case names must be unique");
    let mut failures = Vec::new();
    for case in cases.iter().filter(|c| have_nix || !c.needs_nix) {
        if let Err(why) = run_case(case, marks) {
            failures.push(why);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} case(s) failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// `python3 -c` printing the named variable's value as JSON.
fn print_var(name: &str) -> Vec<String> {
    vec![
        "python3".into(),
        "-c".into(),
        format!("import json, os; print(json.dumps(os.environ.get({name:?})))"),
    ]
}

/// A file outside the project (in a sibling folder under /tmp), and the
/// relative path from the project to it.
fn outside_file(project: &Project, name: &str, text: &str) -> (tempfile::TempDir, PathBuf, String) {
    let dir = temp_dir("nixpy-it-outside-");
    let file = dir.path().join(name);
    std::fs::write(&file, text).unwrap();
    let relative = format!(
        "../{}/{name}",
        dir.path().file_name().unwrap().to_string_lossy()
    );
    assert!(project.path(&relative).exists());
    (dir, file, relative)
}

// ---------------------------------------------------------------------------
// The manifest as TOML
// ---------------------------------------------------------------------------

#[test]
fn malformed_and_mistyped_manifests() {
    let cases = vec![
        case("unclosed array").manifest("packages = [\n").error(&["nixpy.toml:"]),
        case("unterminated string").manifest("python = \"python3\n").error(&["nixpy.toml:1:"]),
        case("bare word value").manifest("python = python3\n").error(&["nixpy.toml:1:"]),
        case("duplicate key")
            .manifest("python = \"python3\"\npython = \"python311\"\n")
            .error(&["nixpy.toml:2:1", "duplicate key"]),
        case("packages is a string")
            .manifest("packages = \"ffmpeg\"\n")
            .error(&["nixpy.toml:1:12", "expected a sequence"]),
        case("python is a number").manifest("python = 3\n").error(&["nixpy.toml:1:", "invalid type"]),
        case("packages of numbers")
            .manifest("packages = [1, 2]\n")
            .error(&["nixpy.toml:1:", "invalid type: integer"]),
        case("nested list")
            .manifest("packages = [[\"hello\"]]\n")
            .error(&["nixpy.toml:1:", "invalid type"]),
        case("env is a string").manifest("env = \"A=1\"\n").error(&["nixpy.toml:1:", "invalid type"]),
        case("env value is a number").manifest("[env]\nA = 1\n").error(&["nixpy.toml:2:", "invalid type"]),
        case("env value is a table").manifest("[env.A]\nB = \"x\"\n").error(&["nixpy.toml:1:", "invalid type"]),
        case("unknown key")
            .manifest("pakages = []\n")
            .error(&["nixpy.toml:1:1", "unknown field `pakages`"]),
        case("unknown table").manifest("[tool]\nx = 1\n").error(&["unknown field `tool`"]),
        case("unknown installer").manifest("installer = \"conda\"\n").error(&["nixpy.toml:1:", "conda"]),
        case("shell-hook is a list").manifest("shell-hook = [\"echo\"]\n").error(&["nixpy.toml:1:"]),
        case("shell-hook with NUL")
            .manifest("shell-hook = \"echo \\u0000\"\n")
            .error(&["nixpy.toml:1:", "NUL"]),
        case("not UTF-8")
            .bytes("nixpy.toml", b"# ok\npackages = [\"hello\xff\"]\n")
            .error(&["nixpy.toml:2:", "not valid UTF-8"]),
        case("manifest is a folder")
            .no_manifest()
            .setup(|p| {
                p.mkdir("nixpy.toml");
                vec![]
            })
            .error(&["is a folder"]),
        case("pyproject tool.nixpy wrong type")
            .no_manifest()
            .file("pyproject.toml", "[project]\nname = \"x\"\n[tool.nixpy]\npackages = \"hello\"\n")
            .error(&["pyproject.toml:4:", "expected a sequence"]),
        case("nixpkgs empty").manifest("nixpkgs = \"\"\n").error(&["nixpy.toml:1:", "empty"]),
        case("nixpkgs without a scheme")
            .manifest("nixpkgs = \"nixpkgs\"\n")
            .error(&["nixpy.toml:1:", "not a flake reference"]),
        case("nixpkgs with a space")
            .manifest("nixpkgs = \"path:/a b\"\n")
            .error(&["nixpy.toml:1:", "not allowed"]),
        case("empty manifest").manifest("").success(),
        case("only comments").manifest("# nothing yet\n\n# really\n").success(),
        case("every list empty")
            .manifest(
                "packages = []\npython-packages = []\nnix-files = []\nrequirements = []\npip-extras = []\nlibraries = []\nshell-hook = \"\"\n[env]\n",
            )
            .success(),
        case("duplicates are one package")
            .manifest("packages = [\"hello\", \"hello\", \"hello\"]\n")
            .command(&["hello"])
            .stdout("hello version 2.12.1 (nixpy stand-in)\n"),
    ];
    run_table(cases, None);
}

// ---------------------------------------------------------------------------
// Attribute paths
// ---------------------------------------------------------------------------

/// Issue 13, item 5: a pyproject.toml whose [tool.nixpy] does not parse is
/// an error at its position; it used to be skipped, so a parent folder's
/// project was used instead, or `nixpy init` wrote a shadowing nixpy.toml.
#[test]
fn a_pyproject_with_a_broken_nixpy_table_is_an_error_not_skipped() {
    let project = Project::with_manifest("packages = [\"hello\"]\n").file(
        "sub/pyproject.toml",
        "[project]\nname = \"x\"\n\n[tool.nixpy]\npackages = [\"jq\"\n",
    );
    for args in [&["run", "--", "true"][..], &["show"], &["init"]] {
        nixpy(&project)
            .current_dir(project.path("sub"))
            .args(args)
            .outcome()
            .nixpy_error()
            .stderr_has_position("sub/pyproject.toml", 6)
            .stderr_has("hint:");
    }
    assert!(
        !project.path("sub/nixpy.toml").exists(),
        "nixpy init wrote a nixpy.toml over the broken [tool.nixpy]"
    );
}

#[test]
fn attribute_paths_with_metacharacters_are_refused_at_their_position() {
    let bad = [
        "ffmpeg;",
        "a$b",
        "a{b",
        "a}b",
        "a\"b",
        "a\\b",
        "'a",
        "a`b",
        "a b",
        "a\nb",
        "a\tb",
        "a#b",
        "a/b",
        "a..b",
        "..",
        ".",
        ".a",
        "a.",
        "1a",
        "a.1b",
        "",
        "-a",
        "ümlaut",
        "a=b",
        "a(b)",
        "a,b",
        "a\u{0}b",
        "a\u{1b}[31mb",
    ];
    let mut cases: Vec<Case> = bad
        .iter()
        .map(|attr| {
            case(format!("packages {attr:?}"))
                .manifest(&format!("packages = [\"hello\", {}]\n", toml_string(attr)))
                .error(&[
                    "nixpy.toml:1:",
                    if attr.is_empty() {
                        "cannot be empty"
                    } else {
                        "is not a nixpkgs attribute path"
                    },
                ])
        })
        .collect();
    for (key, value) in [
        ("python", "\"1python\""),
        ("python", "\"python3 (x)\""),
        ("python-packages", "[\"six\", \"a b\"]"),
        ("libraries", "[\"zlib;\"]"),
    ] {
        cases.push(
            case(format!("{key} = {value}"))
                .manifest(&format!("{key} = {value}\n"))
                .error(&["nixpy.toml:1:", "is not a nixpkgs attribute path"]),
        );
    }
    // A quote inside an identifier is valid Nix (`foo'`): it reaches Nix,
    // which says it does not exist.
    cases.push(
        case("packages a'b")
            .manifest("packages = [\"a'b\"]\n")
            .error(&["`a'b` is not in nixpkgs"])
            .needs_nix(),
    );
    run_table(cases, None);
}

#[test]
fn a_huge_package_list_is_handled_quickly() {
    needs_nix!();
    let unknown: Vec<String> = (0..10_000)
        .map(|i| format!("\"nixpyNoSuchPkg{i}\""))
        .collect();
    let project = Project::with_manifest(&format!("packages = [{}]\n", unknown.join(", ")));
    let started = Instant::now();
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("10000 names in the project's package lists cannot be used:")
        .stderr_has("`nixpyNoSuchPkg0` (nixpy.toml:1) is not in nixpkgs")
        .stderr_has("`nixpyNoSuchPkg19` (nixpy.toml:1) is not in nixpkgs")
        .stderr_has("\n  ... and 9980 more\n")
        .stderr_lacks("nixpyNoSuchPkg20`");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(60),
        "10 000 unknown packages took {took:?}"
    );

    // The same size of list, all one real package: deduplicated, it builds.
    let same: Vec<&str> = vec!["\"hello\""; 10_000];
    let project = Project::with_manifest(&format!("packages = [{}]\n", same.join(", ")));
    let started = Instant::now();
    nixpy_run(&project, ["hello"])
        .outcome()
        .success()
        .stdout_is("hello version 2.12.1 (nixpy stand-in)\n");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(60),
        "10 000 copies of hello took {took:?}"
    );
}

// ---------------------------------------------------------------------------
// [env]
// ---------------------------------------------------------------------------

#[test]
fn env_names_must_be_names_and_values_are_verbatim() {
    let mut cases = Vec::new();
    for (name, why) in [
        ("1A", "not a valid environment variable name"),
        ("A-B", "not a valid environment variable name"),
        ("A B", "not a valid environment variable name"),
        ("", "not a valid environment variable name"),
        ("A=B", "not a valid environment variable name"),
        ("É", "not a valid environment variable name"),
        ("A\nB", "not a valid environment variable name"),
        ("A$B", "not a valid environment variable name"),
        ("NIXPY_LAYER", "reserved"),
    ] {
        cases.push(
            case(format!("env name {name:?}"))
                .manifest(&format!("[env]\n{} = \"x\"\n", toml_string(name)))
                .error(&["nixpy.toml:2:", why]),
        );
    }
    cases.push(
        case("env value with NUL")
            .manifest("[env]\nA = \"a\\u0000b\"\n")
            .error(&["nixpy.toml:2:", "NUL"]),
    );
    for (label, value) in [
        ("newline", "line one\nline two\n"),
        ("dollar brace", "${HOME} ${builtins.abort \"x\"}"),
        ("two single quotes", "''"),
        ("backslashes", "C:\\x\\\\y\\n\\"),
        ("command substitution", "$(echo no)"),
        ("quotes", "it's \"quoted\""),
        ("unicode", "naïve — ✓"),
        ("empty", ""),
        ("100 kB", &"x".repeat(100_000)),
    ] {
        cases.push(
            case(format!("env value {label}"))
                .manifest(&format!("[env]\nVALUE = {}\n", toml_string(value)))
                .command(
                    &print_var("VALUE")
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                )
                .json_string(value),
        );
    }
    cases.push(
        case("env name underscore")
            .manifest("[env]\n_ = \"u\"\nlower_case = \"l\"\n")
            .command(
                &print_var("lower_case")
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            )
            .stdout("\"l\"\n"),
    );
    run_table(cases, None);
}

// ---------------------------------------------------------------------------
// Files the manifest names
// ---------------------------------------------------------------------------

#[test]
fn nix_files_must_be_readable_files_inside_the_project() {
    let cases = vec![
        case("nix-file missing")
            .manifest("nix-files = [\"nix/none.nix\"]\n")
            .error(&[
                "nixpy.toml:1:",
                "cannot open nix-files entry `nix/none.nix`",
            ]),
        case("nix-file empty name")
            .manifest("nix-files = [\"\"]\n")
            .error(&["nixpy.toml:1:", "non-empty"]),
        case("nix-file is a folder")
            .manifest("nix-files = [\"nix\"]\n")
            .setup(|p| {
                p.mkdir("nix");
                vec![]
            })
            .error(&["nixpy.toml:1:", "is not a file"]),
        case("nix-file in the parent folder")
            .setup(|p| {
                let (dir, _, rel) = outside_file(p, "x.nix", "[ ]\n");
                p.write(
                    "nixpy.toml",
                    &format!("nix-files = [{}]\n", toml_string(&rel)),
                );
                vec![dir]
            })
            .error(&["nixpy.toml:1:", "outside the project"]),
        case("nix-file absolute outside")
            .manifest("nix-files = [\"/etc/hostname\"]\n")
            .error(&["nixpy.toml:1:", "outside the project"]),
        case("nix-file symlink escaping")
            .manifest("nix-files = [\"link.nix\"]\n")
            .setup(|p| {
                let (dir, file, _) = outside_file(p, "x.nix", "[ ]\n");
                symlink(&file, p.path("link.nix")).unwrap();
                vec![dir]
            })
            .error(&["nixpy.toml:1:", "outside the project"]),
        case("nix-file dot-dot through a subfolder")
            .manifest("nix-files = [\"sub/../../etc/hostname\"]\n")
            .setup(|p| {
                p.mkdir("sub");
                vec![]
            })
            .error(&["nixpy.toml:1:"]),
        case("nix-file syntax error")
            .manifest("nix-files = [\"x.nix\"]\n")
            .file("x.nix", "with pkgs; [ sox\n")
            .error(&["x.nix:", "Nix syntax error"]),
        case("nix-file not UTF-8")
            .manifest("nix-files = [\"x.nix\"]\n")
            .bytes("x.nix", b"[ \xff ]\n")
            .error(&["x.nix:1:", "not valid UTF-8"]),
        case("nix-file of the wrong shape")
            .manifest("nix-files = [\"x.nix\"]\n")
            .file("x.nix", "42\n")
            .error(&["x.nix", "neither a list"])
            .needs_nix(),
        case("nix-file symlink inside the project")
            .manifest("nix-files = [\"link.nix\"]\n")
            .file("real/x.nix", "with pkgs; [ sox ]\n")
            .setup(|p| {
                symlink("real/x.nix", p.path("link.nix")).unwrap();
                vec![]
            })
            .command(&["sox"])
            .stdout("sox version 14.4.2 (nixpy stand-in)\n"),
    ];
    run_table(cases, None);
}

#[test]
fn requirement_files_must_exist_be_text_and_not_loop() {
    let cases = vec![
        case("requirements entry missing")
            .manifest("requirements = [\"missing.txt\"]\n")
            .error(&["nixpy.toml:1:", "cannot open requirements entry `missing.txt`"]),
        case("requirements entry is a folder")
            .manifest("requirements = [\"requirements.txt\"]\n")
            .setup(|p| {
                p.mkdir("requirements.txt");
                vec![]
            })
            .error(&["nixpy.toml:1:", "is not a file"]),
        // Unreadable files: the tests run as root, which chmod 000 does not
        // stop, so a folder and a FIFO stand in for files nixpy cannot read.
        case("requirements entry is a FIFO")
            .manifest("requirements = [\"pipe.txt\"]\n")
            .setup(|p| {
                let path = std::ffi::CString::new(p.path("pipe.txt").into_os_string().into_encoded_bytes()).unwrap();
                // SAFETY: a valid NUL-terminated path.
                assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
                vec![]
            })
            .error(&["nixpy.toml:1:", "is not a file"]),
        case("requirements symlink escaping")
            .manifest("requirements = [\"reqs.txt\"]\n")
            .setup(|p| {
                let (dir, file, _) = outside_file(p, "reqs.txt", "six\n");
                symlink(&file, p.path("reqs.txt")).unwrap();
                vec![dir]
            })
            .error(&["nixpy.toml:1:", "outside the project"]),
        case("requirements in the parent folder")
            .setup(|p| {
                let (dir, _, rel) = outside_file(p, "reqs.txt", "six\n");
                p.write("nixpy.toml", &format!("requirements = [{}]\n", toml_string(&rel)));
                vec![dir]
            })
            .error(&["nixpy.toml:1:", "outside the project"]),
        case("include cycle")
            .file("requirements.txt", "-r a.txt\n")
            .file("a.txt", "-r b.txt\n")
            .file("b.txt", "-r a.txt\n")
            .error(&["cycle", "a.txt", "b.txt"]),
        case("self include").file("requirements.txt", "six\n-r requirements.txt\n").error(&["cycle"]),
        case("constraint cycle")
            .file("requirements.txt", "-c c.txt\nsix\n")
            .file("c.txt", "-c c.txt\n")
            .error(&["cycle"]),
        case("include missing")
            .file("requirements.txt", "six\n-r missing.txt\n")
            .error(&["requirements.txt:2: cannot open requirements file"]),
        // Issue 13, item 3: this deep it overflowed the stack (SIGSEGV).
        case("include chain 20000 deep")
            .file("requirements.txt", "-r r0.txt\n")
            .setup(|p| {
                for i in 0..20_000 {
                    p.write(&format!("deep/r{i}.txt"), &format!("-r r{}.txt\n", i + 1));
                }
                p.write("deep/r20000.txt", "six\n");
                p.write("requirements.txt", "-r deep/r0.txt\n");
                vec![]
            })
            .error(&["r98.txt:1:", "more than 100 deep", "hint:"]),
        case("include without a value").file("requirements.txt", "-r\n").error(&["requirements.txt:1:", "needs a value"]),
        case("requirements not UTF-8")
            .bytes("requirements.txt", b"six\nbad\xfe\xff\n")
            .error(&["requirements.txt:2:", "not valid UTF-8"]),
        case("included file not UTF-8")
            .file("requirements.txt", "-r more.txt\n")
            .bytes("more.txt", b"\xff\n")
            .error(&["more.txt:1:", "not valid UTF-8"]),
        case("requirement syntax error")
            .file("requirements.txt", "# deps\nrequests>=>2\n")
            .error(&["requirements.txt:2:", "invalid requirement"]),
        case("unknown option").file("requirements.txt", "--frobnicate\n").error(&["requirements.txt:1:", "unknown option"]),
        case("malformed hash")
            .file("requirements.txt", "six==1.16.0 --hash=nonsense\n")
            .error(&["requirements.txt:1:", "--hash"]),
        case("malformed pyproject dependencies")
            .manifest("packages = []\n")
            .file("pyproject.toml", "[project]\nname = \"x\"\ndependencies = \"six\"\n")
            .error(&["pyproject.toml:3:"]),
        case("unknown pip extra")
            .manifest("pip-extras = [\"gpu\"]\n")
            .file(
                "pyproject.toml",
                "[project]\nname = \"x\"\ndependencies = []\n[project.optional-dependencies]\ncpu = []\n",
            )
            .error(&["`gpu`", "not a group"]),
        case("bad pip extra name").manifest("pip-extras = [\"a b\"]\n").error(&["nixpy.toml:1:", "not a valid extra name"]),
        case("requirements only comments")
            .file("requirements.txt", "# nothing\n\n   # still nothing\n")
            .command(&["python3", "-c", "import os; print(os.environ.get('NIXPY_LAYER'))"])
            .stdout("None\n"),
    ];
    run_table(cases, None);
}

/// Makes a FIFO at `path`.
fn mkfifo(path: &Path) {
    let path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
}

/// Issue 13, item 2: a FIFO, a device or a link to /dev/zero in place of
/// an input file is refused at once (it used to block forever or fill
/// memory), by `run` and by what direnv calls (`env --watch-files`,
/// `cache-key`); an input larger than nixpy ever reads is refused too.
#[test]
fn inputs_that_are_not_regular_files_are_refused_without_blocking() {
    type Place = fn(&Project, &str);
    let fifo: Place = |p, rel| mkfifo(&p.path(rel));
    let zero: Place = |p, rel| symlink("/dev/zero", p.path(rel)).unwrap();
    let huge: Place = |p, rel| {
        let file = std::fs::File::create(p.path(rel)).unwrap();
        file.set_len(9 << 20).unwrap();
    };
    let cases: Vec<(&str, &str, Place, &str, &str)> = vec![
        (
            "requirements.txt FIFO",
            "",
            fifo,
            "requirements.txt",
            "is a FIFO",
        ),
        (
            "requirements.txt /dev/zero",
            "",
            zero,
            "requirements.txt",
            "is a device",
        ),
        (
            "requirements.txt huge",
            "",
            huge,
            "requirements.txt",
            "larger than 8 MiB",
        ),
        (
            "included FIFO",
            "-r more.txt\n",
            fifo,
            "more.txt",
            "is a FIFO",
        ),
        (
            "included /dev/zero",
            "-r more.txt\n",
            zero,
            "more.txt",
            "is a device",
        ),
        ("manifest FIFO", "", fifo, "nixpy.toml", "is a FIFO"),
        ("manifest /dev/zero", "", zero, "nixpy.toml", "is a device"),
        ("manifest huge", "", huge, "nixpy.toml", "larger than 8 MiB"),
        ("lock FIFO", "", fifo, "nixpy.lock", "is a FIFO"),
    ];
    let limit = Duration::from_secs(60);
    let mut failures = Vec::new();
    for (name, requirements, place, rel, message) in cases {
        let project = Project::new();
        if rel != "nixpy.toml" {
            project.write("nixpy.toml", "");
        }
        if !requirements.is_empty() {
            project.write("requirements.txt", requirements);
        }
        place(&project, rel);
        for args in [&["run", "--", "true"][..], &["cache-key"]] {
            let out = nixpy(&project).args(args).outcome_within(limit);
            if out.status.code() != Some(2)
                || !out.stderr.contains(message)
                || !out.stderr.contains("hint:")
                || out.stderr.contains("panicked")
            {
                failures.push(format!(
                    "{name}, {args:?}: {:?}\n{}",
                    out.status, out.stderr
                ));
            }
        }
        // direnv's watch list: whatever it lists, it answers at once.
        let out = nixpy(&project)
            .args(["env", "--watch-files"])
            .outcome_within(limit);
        if out.stderr.contains("panicked") {
            failures.push(format!(
                "{name}, env --watch-files panicked:\n{}",
                out.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Issue 13, item 22, the messages that need no Nix: a huge one-line
/// manifest gives a short error (it echoed the whole line: 1.8 MB), a lock
/// that is not UTF-8 has its position and a hint, and the usage line does
/// not show `--nixpkgs <REF>` when only NIXPY_NIXPKGS is set.
#[test]
fn messages_stay_short_positioned_and_true() {
    let project = Project::new();
    let huge = format!("packages = [{}]x\n", "\"x\", ".repeat(150_000));
    project.write("nixpy.toml", &huge);
    let out = nixpy_run(&project, ["true"]).outcome();
    out.nixpy_error().stderr_has_position("nixpy.toml", 1);
    assert!(out.stderr.len() < 2000, "a {} byte error", out.stderr.len());

    project.write("nixpy.toml", "packages = []\n");
    std::fs::write(project.path("nixpy.lock"), b"version = 1\n# caf\xe9\n").unwrap();
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has_position("nixpy.lock", 2)
        .stderr_has("not valid UTF-8")
        .stderr_has("hint:");

    for args in [
        &["completions"][..],
        &["gc", "--older-than"],
        &["run", "--refresh"],
    ] {
        let out = nixpy(&project).args(args).outcome();
        assert!(!out.status.success(), "{args:?}");
        assert!(
            !out.stderr.contains("--nixpkgs"),
            "{args:?}: the usage line shows --nixpkgs, which only the variable set:\n{}",
            out.stderr
        );
    }
    // --nixpkgs still wins over the variable (checked once Nix is found).
    if require_nix().is_some() {
        std::fs::remove_file(project.path("nixpy.lock")).unwrap();
        nixpy(&project)
            .args(["--nixpkgs", "not a ref", "run", "--", "true"])
            .outcome()
            .nixpy_error()
            .stderr_has("--nixpkgs / NIXPY_NIXPKGS");
    }
}

/// Valid input that nixpy used to refuse (issue 13, items 19 and 20).
#[test]
fn valid_requirement_files_are_accepted() {
    let six_version = ["python3", "-c", "import six; print(six.__version__)"];
    let cases = vec![
        // Item 19: the marker leaves the requirement out on Python 3, so
        // Nix's six 1.16 is no conflict.
        case("a marker leaves out a requirement Nix would conflict with")
            .manifest("python-packages = [\"six\"]\n")
            .file(
                "requirements.txt",
                "--no-index\nsix<1.10; python_version < \"3.0\"\n",
            )
            .command(&six_version)
            .stdout("1.16.0\n"),
        // Item 20: a UTF-8 byte order mark, as Windows editors write.
        case("a byte order mark")
            .manifest("python-packages = [\"six\"]\n")
            .bytes("requirements.txt", b"\xef\xbb\xbf--no-index\nsix==1.16.0\n")
            .command(&six_version)
            .stdout("1.16.0\n"),
        // Item 20: `${VAR}` in an option, expanded as pip and uv do.
        case("a variable in --find-links")
            .file(
                "requirements.txt",
                "--no-index\n--find-links ${NIXPY_IT_WHEELS}\nnixpy-it-varwheel\n",
            )
            .setup(|p| {
                make_wheel(
                    &p.mkdir("vendor/wheels"),
                    "nixpy-it-varwheel",
                    "1.0.0",
                    &[],
                    &[("nixpy_it_varwheel/__init__.py", "V = 'from the variable'\n")],
                    &[],
                );
                vec![]
            })
            .env(&[("NIXPY_IT_WHEELS", "vendor/wheels")])
            .command(&["python3", "-c", "import nixpy_it_varwheel as w; print(w.V)"])
            .stdout("from the variable\n"),
    ];
    run_table(cases, None);
}

#[test]
// Regression: pep508_rs 0.9 panicked on these (exit 101, SIGABRT in release).
fn requirement_names_ending_in_a_separator_are_errors_not_crashes() {
    let cases = vec![
        case("name ending in dash")
            .file("requirements.txt", "A-==0\n")
            .error(&["requirements.txt:1:"]),
        case("name ending in underscore with extras")
            .file("requirements.txt", "a_[x]\n")
            .error(&["requirements.txt:1:"]),
        case("pyproject dependency ending in a dot")
            .manifest("packages = []\n")
            .file(
                "pyproject.toml",
                "[project]\nname = \"x\"\ndependencies = [\"name.>=1\"]\n",
            )
            .error(&["pyproject.toml"]),
    ];
    run_table(cases, None);
}

#[test]
// Regression: error snippets once echoed the raw line to the terminal.
fn manifest_errors_do_not_echo_raw_control_characters() {
    let cases = vec![
        case("raw SOH in a string")
            .bytes("nixpy.toml", b"python = \"py\x01thon\"\n")
            .error(&["nixpy.toml:1:"]),
        case("raw ESC sequence")
            .bytes("nixpy.toml", b"pakages = \"\x1b]0;owned\x07\"\n")
            .error(&["nixpy.toml:1:"]),
    ];
    run_table(cases, None);
}

#[test]
fn bad_nixpkgs_references_are_refused() {
    let cases = vec![
        case("--nixpkgs with a space")
            .global(&["--nixpkgs", "path:/a b"])
            .error(&["--nixpkgs", "not allowed"]),
        case("--nixpkgs with a quote")
            .global(&["--nixpkgs", "path:/a\"b"])
            .error(&["--nixpkgs", "not allowed"]),
        case("--nixpkgs without a scheme")
            .global(&["--nixpkgs", "nixpkgs"])
            .error(&["--nixpkgs", "not a flake reference"]),
        case("--nixpkgs that does not exist")
            .global(&["--nixpkgs", "path:/nonexistent/nixpy-it-nixpkgs"])
            .error(&["/nonexistent/nixpy-it-nixpkgs"])
            .needs_nix(),
        case("--nixpkgs that is not a flake")
            .global(&["--nixpkgs", "path:/etc"])
            .error(&["/etc"])
            .needs_nix(),
        case("NIXPY_NIXPKGS with interpolation").error(&["NIXPY_NIXPKGS", "not allowed"]),
    ];
    let mut cases = cases;
    // NIXPY_NIXPKGS rather than the flag, for the last case.
    cases.last_mut().unwrap().env = vec![("NIXPY_NIXPKGS".into(), "path:/x${y}".into())];
    run_table(cases, None);
}

// ---------------------------------------------------------------------------
// Injection
// ---------------------------------------------------------------------------

#[test]
fn injection_through_any_value_never_runs_anything() {
    let marks = temp_dir("nixpy-it-marks-");
    let m = marks.path().join("m").display().to_string();
    let touch = format!("touch {m}");
    let mut cases = vec![
        case("package with ;")
            .manifest(&format!("packages = [{}]\n", toml_string(&format!("ffmpeg; {touch}"))))
            .error(&["nixpy.toml:1:"]),
        case("package with $()")
            .manifest(&format!("packages = [{}]\n", toml_string(&format!("$({touch})"))))
            .error(&["nixpy.toml:1:"]),
        case("package closing the list")
            .manifest(&format!(
                "packages = [{}]\n",
                toml_string(&format!("hello ] ++ [ (derivation {{ name = \"x\"; builder = \"/bin/sh\"; args = [\"-c\" \"{touch}\"]; system = builtins.currentSystem; }}) ] ++ [ hello"))
            ))
            .error(&["nixpy.toml:1:"]),
        case("python attribute")
            .manifest(&format!("python = {}\n", toml_string(&format!("python3$({touch})"))))
            .error(&["nixpy.toml:1:"]),
        case("python-packages entry")
            .manifest(&format!("python-packages = [{}]\n", toml_string(&format!("six`{touch}`"))))
            .error(&["nixpy.toml:1:"]),
        case("libraries entry")
            .manifest(&format!("libraries = [{}]\n", toml_string(&format!("zlib && {touch}"))))
            .error(&["nixpy.toml:1:"]),
        case("env name")
            .manifest(&format!("[env]\n{} = \"x\"\n", toml_string(&format!("A$({touch})"))))
            .error(&["nixpy.toml:2:"]),
        case("pip extra")
            .manifest(&format!("pip-extras = [{}]\n", toml_string(&format!("x; {touch}"))))
            .error(&["nixpy.toml:1:"]),
        case("requirement marker")
            .file("requirements.txt", &format!("six; $({touch})\n"))
            .error(&["requirements.txt:1:"]),
        case("requirement backticks")
            .file("requirements.txt", &format!("six`{touch}`\n"))
            .error(&["requirements.txt:1:"]),
        case("requirement option value")
            .file("requirements.txt", &format!("--index-url $({touch})\n"))
            .error(&["requirements.txt:1:"]),
        case("requirement editable path")
            .file("requirements.txt", &format!("-e ./$({touch})\n"))
            .error(&[])
            .needs_nix(),
        case("requirement url")
            .file("requirements.txt", &format!("six @ file:///x;$({touch})\n"))
            .error(&[])
            .needs_nix(),
        case("pyproject dependency")
            .manifest("packages = []\n")
            .file(
                "pyproject.toml",
                &format!("[project]\nname = \"x\"\ndependencies = [{}]\n", toml_string(&format!("six; $({touch})"))),
            )
            .error(&["pyproject.toml:3:"]),
        case("--nixpkgs with $()")
            .global(&["--nixpkgs", &format!("path:/x$({touch})")])
            .error(&["--nixpkgs"]),
        case("--nixpkgs with ; and &")
            .global(&["--nixpkgs", &format!("path:/nonexistent;touch&{m}")])
            .error(&[])
            .needs_nix(),
        case("nixpkgs key with a quote")
            .manifest(&format!("nixpkgs = {}\n", toml_string(&format!("path:/x\"; {touch}; \""))))
            .error(&["nixpy.toml:1:"]),
    ];
    // Values that are data, not names: accepted and passed on verbatim.
    for (label, value) in [
        ("env value $()", format!("$({touch})")),
        ("env value backticks", format!("`{touch}`")),
        ("env value quote break", format!("'; {touch}; '")),
        (
            "env value nix interpolation",
            format!("${{builtins.readFile \"{m}\"}}"),
        ),
    ] {
        cases.push(
            case(label)
                .manifest(&format!("[env]\nVALUE = {}\n", toml_string(&value)))
                .command(
                    &print_var("VALUE")
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                )
                .json_string(&value),
        );
    }
    // A nix-file whose *name* is full of metacharacters is still just a path.
    let weird = "x$(touch marker-nixfile);'\"${y}` .nix";
    cases.push(
        case("nix-file name")
            .manifest(&format!("nix-files = [{}]\n", toml_string(weird)))
            .file(weird, "with pkgs; [ sox ]\n")
            .command(&["sox"])
            .stdout("sox version 14.4.2 (nixpy stand-in)\n"),
    );
    run_table(cases, Some(marks.path()));
}
