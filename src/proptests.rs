//! Property tests of nixpy's pure core, which are its fuzz targets (stable
//! toolchain, run by `cargo test` in CI): parsers that read what users
//! write (manifest, requirement files with BOMs, `${VAR}`s and
//! continuation lines, the lock, Nix files, attribute paths), the edits of
//! `add`/`remove`, the environment composition of the warm path, error
//! positions, and cache keys.
//!
//! Every property runs a bounded number of cases so the whole module takes
//! seconds. (Shell quoting has its own property tests elsewhere.)

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

use crate::project::manifest::{self, ManifestKind};
use crate::project::requirements::{self, normalize_name};
use crate::project::AttrPath;
use crate::run::{compose, EnvSpec};
use crate::support::hash::key_of;

const CASES: u32 = 256;

/// A UTF-8 byte order mark, as Windows editors start files with.
const BOM: char = '\u{feff}';

/// `CASES`, or `PROPTEST_CASES` for a longer fuzzing run by hand
/// (`PROPTEST_CASES=100000 cargo test --bin nixpy proptests`); CI keeps
/// the bound.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(CASES),
        // Failures are reported by the test itself; no regression files in src/.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

/// A TOML basic string holding exactly `text`.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Short strings rich in the characters that matter to Nix, shells and TOML.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z_0-9.'\\-]{0,12}",
        "[a-z.;$\\{\\}\"\\\\'` \n#/0-9\u{0}\u{1b}é-]{0,12}",
        Just(String::new()),
        Just("${builtins.abort \"x\"}".to_owned()),
        Just("''".to_owned()),
    ]
}

/// A TOML value, usually well formed, of any type a key might get.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        nasty_string().prop_map(|s| toml_string(&s)),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        vec(nasty_string(), 0..5).prop_map(|items| format!(
            "[{}]",
            items
                .iter()
                .map(|s| toml_string(s))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        vec(any::<i32>(), 0..3).prop_map(|items| format!("{items:?}")),
        (nasty_string(), nasty_string()).prop_map(|(k, v)| format!(
            "{{ {} = {} }}",
            toml_string(&k),
            toml_string(&v)
        )),
        // Raw text: usually not TOML at all.
        "[ -~]{0,16}",
    ]
}

fn manifest_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "nixpkgs",
            "python",
            "packages",
            "python-packages",
            "nix-files",
            "shell-hook",
            "requirements",
            "pip-extras",
            "installer",
            "libraries",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z][a-z_-]{0,10}",
        1 => nasty_string().prop_map(|s| toml_string(&s)),
    ]
}

/// Manifest-shaped text: top-level keys, then maybe an `[env]` table and
/// maybe a stray table.
fn manifest_text() -> impl Strategy<Value = String> {
    (
        vec((manifest_key(), toml_value()), 0..6),
        prop::option::of(vec((nasty_string(), toml_value()), 0..4)),
        prop::option::of("[ -~]{0,12}"),
    )
        .prop_map(|(top, env, stray)| {
            let mut text = String::new();
            for (k, v) in top {
                text += &format!("{k} = {v}\n");
            }
            if let Some(env) = env {
                text += "[env]\n";
                for (k, v) in env {
                    text += &format!("{} = {v}\n", toml_string(&k));
                }
            }
            if let Some(stray) = stray {
                text += &format!("[{stray}]\n");
            }
            text
        })
}

/// A line of a requirements file: requirements, options, includes (only of
/// the files `a.txt`..`c.txt` beside it), comments, continuations.
fn requirement_line() -> impl Strategy<Value = String> {
    let include = prop::sample::select(vec!["a.txt", "b.txt", "c.txt", "missing.txt"]);
    prop_oneof![
        "[A-Za-z][A-Za-z0-9._-]{0,10}( ?(==|>=|<=|~=|!=|<|>) ?[0-9]{1,3}(\\.[0-9]{1,3}){0,2})?",
        "[a-z]{1,8}\\[[a-z,]{0,8}\\]",
        "[a-z]{1,8} ?; ?(python_version|sys_platform|os_name) ?(==|>=|<) ?\"[a-z0-9.]{0,6}\"",
        "[a-z]{1,8} @ (https://|file:///)[a-z/.]{0,16}",
        "[a-z]{1,8}==1\\.0 --hash=(sha256:[0-9a-f]{0,8}|[a-z:]{0,6})",
        "(\\./|\\.\\./|/)[a-z/.]{0,12}",
        "-e (\\./)?[a-z/.#=]{0,12}",
        "(-i|--index-url|--extra-index-url|-f|--find-links)( |=)?[a-z:/.]{0,12}",
        "--(no-index|pre|prefer-binary|frobnicate|trusted-host [a-z.]{0,6})",
        include.clone().prop_map(|f| format!("-r {f}")),
        include.clone().prop_map(|f| format!("-c {f}")),
        include.prop_map(|f| format!("-r{f}")),
        "#[ -~]{0,12}",
        "[ -~]{0,20}",
        "[a-z]{1,6} \\\\",
        Just(String::new()),
        // Variables, set (HOME) or not, in options and requirements.
        "(-f|--find-links|--index-url) \\$\\{(HOME|NIXPY_FUZZ_UNSET|[A-Z_]{1,4})\\}[a-z/]{0,4}",
        "[a-z]{1,8} @ https://\\$\\{(HOME|TOKEN)\\}@example\\.org/[a-z]{1,4}\\.whl",
        "\\$\\{[A-Za-z_]{0,4}\\}?[a-z]{0,4}",
        // A pinned entry and its --hash continuation lines.
        "[a-z]{1,8}==1\\.0 \\\\\n    --hash=sha256:[0-9a-f]{4,8}( \\\\\n    --hash=sha256:[0-9a-f]{4,8})?",
    ]
}

/// Requirement lines, maybe after a byte order mark, in LF or CRLF.
fn requirements_text() -> impl Strategy<Value = String> {
    (vec(requirement_line(), 0..8), any::<bool>(), any::<bool>()).prop_map(|(lines, bom, crlf)| {
        let eol = if crlf { "\r\n" } else { "\n" };
        let body: String = lines
            .iter()
            .map(|l| format!("{}{eol}", l.replace('\n', eol)))
            .collect();
        if bom {
            format!("{BOM}{body}")
        } else {
            body
        }
    })
}

/// Nix-shaped text: the three shapes nix-files have, with the reads nixpy
/// follows or warns about, sometimes broken.
fn nix_text() -> impl Strategy<Value = String> {
    let read = prop_oneof![
        "\\./[a-z]{1,6}(\\.nix|\\.json)?",
        "\\.\\./[a-z]{1,4}",
        Just("./.".to_owned()),
        "\\(\\./\\. \\+ \"/[a-z]{0,4}\\.nix\"\\)",
        "\\(\\./[a-z]{1,3} \\+ \"/\\$\\{name\\}\"\\)",
        "\\./[a-z]{1,3}/\\$\\{name\\}\\.nix",
        "/[a-z]{1,6}",
        "<[a-z]{1,6}>",
        "[a-z]{1,4}",
        "pkgs\\.path",
        "\"\\$\\{pkgs\\.hello\\}/[a-z]{0,4}\"",
    ];
    let call = prop_oneof![
        Just("import"),
        Just("builtins.readFile"),
        Just("builtins.readDir"),
        Just("builtins.pathExists"),
        Just("builtins.getEnv"),
        Just("lib.importJSON"),
        Just("map"),
    ];
    (
        vec((call, read), 0..5),
        prop::sample::select(vec![
            "with pkgs; [ {} ]",
            "{ pkgs, lib, name ? \"x\", ... }: let xs = [ {} ]; in [ pkgs.hello ]",
            "{ pkgs, ... }: { home.packages = [ {} ]; }",
        ]),
        prop::option::of("[ -~]{0,6}"),
    )
        .prop_map(|(calls, shape, noise)| {
            let body: Vec<String> = calls.iter().map(|(f, a)| format!("({f} {a})")).collect();
            let mut text = shape.replace("{}", &body.join(" "));
            if let Some(noise) = noise {
                text.push_str(&noise);
            }
            text
        })
}

/// The documented grammar of attribute paths, written independently of
/// attr_path.rs: dot-separated segments, each an ASCII letter or `_`
/// followed by ASCII letters, digits, `_`, `-` or `'`.
fn is_attr_path(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|segment| {
            let bytes = segment.as_bytes();
            !bytes.is_empty()
                && (bytes[0].is_ascii_alphabetic() || bytes[0] == b'_')
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\''))
        })
}

fn no_control_chars_but_newlines(text: &str) -> bool {
    text.chars().all(|c| c == '\n' || !c.is_control())
}

/// Entries as they come from Nix (no `:`), sometimes repeated, sometimes empty.
fn path_entries() -> impl Strategy<Value = Vec<String>> {
    vec(
        prop_oneof![
            4 => "/[a-z]{1,3}(/[a-z]{1,3}){0,2}",
            1 => Just("/usr/bin".to_owned()),
            1 => Just(String::new()),
        ],
        0..6,
    )
}

/// A caller's environment: any bytes in values (PATH included), a few names
/// that matter.
fn caller_env() -> impl Strategy<Value = Vec<(OsString, OsString)>> {
    let name = prop_oneof![
        Just("PATH".to_owned()),
        Just("PYTHONPATH".to_owned()),
        Just("LD_LIBRARY_PATH".to_owned()),
        Just("HOME".to_owned()),
        "[A-Z_]{1,6}",
    ];
    let value = prop_oneof![
        vec(
            any::<u8>().prop_filter("no NUL in the environment", |b| *b != 0),
            0..24
        ),
        "(/[a-z]{0,3}|:){0,6}".prop_map(String::into_bytes),
    ];
    vec((name, value), 0..8).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(n, v)| (OsString::from(n), OsString::from_vec(v)))
            .collect()
    })
}

fn env_spec() -> impl Strategy<Value = EnvSpec> {
    (
        btree_map("[A-Z_]{1,6}", "[ -~]{0,8}", 0..4),
        path_entries(),
        path_entries(),
        vec(("[A-Z_]{1,6}", "[ -~]{0,8}"), 0..4),
    )
        .prop_map(|(set, path, xdg_data_dirs, project)| {
            let mut prepend = BTreeMap::new();
            prepend.insert("PATH".to_owned(), path);
            prepend.insert("XDG_DATA_DIRS".to_owned(), xdg_data_dirs);
            EnvSpec {
                set,
                prepend,
                // The user may set PATH in [env] (verbatim, by design); leave
                // it out so the dedup property is about nixpy's merging.
                project: project
                    .into_iter()
                    .filter(|(k, _)| k != "PATH")
                    .map(|(k, v)| (k, v.into()))
                    .collect(),
                shell_hook: String::new(),
                bash: String::new(),
                programs: crate::run::ProgramIndex::default(),
            }
        })
}

fn get<'a>(env: &'a [(OsString, OsString)], name: &str) -> Option<&'a OsString> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// Splits `bytes` at sorted `cuts` (indices into it, repeats allowed).
fn split_at(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut parts = Vec::new();
    let mut start = 0;
    for cut in cuts {
        parts.push(bytes[start..cut].to_vec());
        start = cut;
    }
    parts.push(bytes[start..].to_vec());
    parts
}

fn refs(parts: &[Vec<u8>]) -> Vec<&[u8]> {
    parts.iter().map(Vec::as_slice).collect()
}

fn manifest_path() -> PathBuf {
    PathBuf::from("/nonexistent/nixpy-proptest/nixpy.toml")
}

/// What must hold of any manifest parse result.
fn check_manifest_result(path: &Path, result: crate::error::Result<manifest::Manifest>) {
    match result {
        Ok(m) => {
            for p in m
                .packages
                .iter()
                .chain(&m.python_packages)
                .chain(&m.libraries)
            {
                assert!(is_attr_path(&p.to_string()), "accepted attribute {p}");
            }
            assert!(
                is_attr_path(&m.python.to_string()),
                "accepted python {}",
                m.python
            );
            for (name, value) in &m.env {
                assert!(
                    manifest::check_env_name(name).is_ok(),
                    "accepted env name {name:?}"
                );
                assert!(!value.contains('\0'), "accepted a NUL in {name}");
            }
            assert!(!m.shell_hook.contains('\0'));
            assert!(manifest::check_flake_ref(&m.nixpkgs).is_ok());
        }
        Err(e) => {
            assert!(
                e.message.starts_with(&path.display().to_string()),
                "error does not name the file: {}",
                e.message
            );
            assert!(!e.message.trim().is_empty());
        }
    }
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn manifest_parse_never_panics_on_arbitrary_text(text in any::<String>()) {
        let path = manifest_path();
        check_manifest_result(&path, manifest::parse(&path, ManifestKind::NixpyToml, &text));
        let _ = manifest::parse(&path.with_file_name("pyproject.toml"), ManifestKind::Pyproject, &text);
        let _ = manifest::pyproject_has_nixpy_table(&text);
    }

    #[test]
    fn manifest_parse_never_panics_on_toml_like_text(text in manifest_text()) {
        let path = manifest_path();
        check_manifest_result(&path, manifest::parse(&path, ManifestKind::NixpyToml, &text));
        let pyproject = format!("[project]\nname = \"x\"\n[tool.nixpy]\n{}", text.replace("[env]", "[tool.nixpy.env]"));
        let py_path = path.with_file_name("pyproject.toml");
        check_manifest_result(&py_path, manifest::parse(&py_path, ManifestKind::Pyproject, &pyproject));
    }

    #[test]
    fn requirement_files_never_panic_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..200)) {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("requirements.txt");
        std::fs::write(&file, &bytes).unwrap();
        let _ = requirements::read_files(&[file]);
    }

    #[test]
    fn requirement_files_never_panic_on_arbitrary_text(text in any::<String>()) {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("requirements.txt");
        std::fs::write(&file, &text).unwrap();
        let _ = requirements::read_files(&[file]);
    }

    #[test]
    fn requirement_files_with_includes_read_or_fail_cleanly(
        main in requirements_text(),
        a in requirements_text(),
        b in requirements_text(),
        c in requirements_text(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().canonicalize().unwrap();
        for (name, text) in [("a.txt", &a), ("b.txt", &b), ("c.txt", &c), ("requirements.txt", &main)] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let main_file = dir.join("requirements.txt");
        match requirements::read_files(std::slice::from_ref(&main_file)) {
            Ok(set) => {
                prop_assert_eq!(set.files.first(), Some(&main_file));
                for f in &set.files {
                    prop_assert!(f.is_absolute() && f.is_file(), "{}", f.display());
                    prop_assert!(f.starts_with(&dir));
                }
                for r in set.requirements.iter().chain(&set.constraints) {
                    prop_assert!(set.files.contains(&r.origin.file));
                    let lines = std::fs::read_to_string(&r.origin.file).unwrap().lines().count();
                    prop_assert!(r.origin.line >= 1 && r.origin.line <= lines.max(1), "{}", r.origin);
                    if let Some(name) = &r.name {
                        prop_assert_eq!(&normalize_name(name), name);
                    }
                    prop_assert!(!r.line.contains('\n'));
                }
            }
            Err(e) => {
                // Every failure names the file (and usually the line) it is about.
                prop_assert!(e.message.contains('/'), "error names no file: {}", e.message);
            }
        }
    }

    #[test]
    fn attr_paths_from_the_grammar_are_accepted_verbatim(
        text in "[A-Za-z_][A-Za-z0-9_'\\-]{0,8}(\\.[A-Za-z_][A-Za-z0-9_'\\-]{0,8}){0,3}"
    ) {
        let path = AttrPath::parse(&text).unwrap_or_else(|e| panic!("{text:?} refused: {e}"));
        prop_assert_eq!(path.to_string(), text.clone());
        prop_assert_eq!(path.segments().join("."), text);
    }

    #[test]
    fn attr_paths_are_accepted_exactly_by_the_grammar(
        text in prop_oneof![
            any::<String>(),
            "[a-zA-Z0-9_.'\\-]{0,10}",
            "[a-z.;$\\{\\}\"\\\\'` \n\t#/0-9é-]{0,10}",
        ]
    ) {
        let result = AttrPath::parse(&text);
        prop_assert_eq!(result.is_ok(), is_attr_path(&text), "{:?}: {:?}", text, result);
        match result {
            Ok(path) => prop_assert_eq!(path.to_string(), text),
            Err(why) => prop_assert!(no_control_chars_but_newlines(&why) && !why.contains('\n'),
                "error carries control characters: {:?}", why),
        }
    }

    #[test]
    fn compose_never_panics_and_path_has_no_duplicates(caller in caller_env(), spec in env_spec()) {
        let env = compose(caller.clone(), &spec);
        let names: Vec<&OsString> = env.iter().map(|(k, _)| k).collect();
        let unique: HashSet<&OsString> = names.iter().copied().collect();
        prop_assert_eq!(names.len(), unique.len(), "a variable appears twice");

        let path = get(&env, "PATH").expect("PATH is always set when the shell prepends to it");
        let entries: Vec<&[u8]> = path.as_bytes().split(|&b| b == b':').collect();
        let mut seen = HashSet::new();
        for e in &entries {
            prop_assert!(!e.is_empty() || path.is_empty(), "empty PATH entry in {:?}", path);
            prop_assert!(seen.insert(*e), "duplicate PATH entry {:?} in {:?}", String::from_utf8_lossy(e), path);
        }
        // The shell's entries come first, in order.
        let mut wanted: Vec<&[u8]> = Vec::new();
        for e in spec.prepend["PATH"].iter().map(std::string::String::as_bytes).filter(|e| !e.is_empty()) {
            if !wanted.contains(&e) {
                wanted.push(e);
            }
        }
        prop_assert_eq!(&entries[..wanted.len()], &wanted[..]);
        // Every entry the caller had is kept (the caller's last PATH wins, as in a BTreeMap).
        if let Some((_, caller_path)) = caller.iter().rev().find(|(k, _)| k == "PATH") {
            if !spec.set.contains_key("PATH") {
                for e in caller_path.as_bytes().split(|&b| b == b':').filter(|e| !e.is_empty()) {
                    prop_assert!(entries.contains(&e), "caller entry {:?} lost", String::from_utf8_lossy(e));
                }
            }
        }
        // The project's [env] wins over everything (its last value for a name).
        let mut project: BTreeMap<&str, &OsString> = BTreeMap::new();
        for (k, v) in &spec.project {
            project.insert(k, v);
        }
        for (k, v) in project {
            prop_assert_eq!(get(&env, k).map(|v| v.as_bytes()), Some(v.as_bytes()));
        }
    }

    #[test]
    fn key_of_separates_different_splits_of_the_same_bytes(
        bytes in vec(any::<u8>(), 0..24),
        cuts_a in vec(any::<usize>(), 0..5),
        cuts_b in vec(any::<usize>(), 0..5),
    ) {
        let a = split_at(&bytes, &cuts_a);
        let b = split_at(&bytes, &cuts_b);
        let (ka, kb) = (key_of(&refs(&a)), key_of(&refs(&b)));
        prop_assert_eq!(ka.len(), 32);
        prop_assert!(ka.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        prop_assert_eq!(&ka, &key_of(&refs(&a)), "not deterministic");
        if a == b {
            prop_assert_eq!(ka, kb);
        } else {
            prop_assert_ne!(ka, kb, "{:?} and {:?} share a key", a, b);
        }
    }

    #[test]
    fn names_normalise_idempotently(name in "[A-Za-z0-9._-]{0,16}") {
        let once = normalize_name(&name);
        prop_assert_eq!(normalize_name(&once), once.clone());
        prop_assert!(!once.contains('_') && !once.contains('.') && !once.contains("--"));
    }

    #[test]
    fn error_positions_never_panic(text in any::<String>(), start in any::<usize>(), len in 0usize..64) {
        let bound = text.len() + 2;
        let start = start % bound;
        let _ = crate::support::source_pos::line_col(&text, start);
        let _ = crate::support::source_pos::render(Path::new("f.toml"), &text, start..start + len, "msg");
        let _ = crate::support::source_pos::render(Path::new("f.toml"), &text, start + len..start, "msg");
    }
}

// Regression properties for bugs these found (overflowing ages, control
// characters echoed to the terminal, a pep508_rs panic).
proptest! {
    #![proptest_config(config())]

    #[test]
    fn gc_ages_never_panic(number in "[0-9]{1,24}", unit in prop::sample::select(vec!["", "d", "h", "m", "s"])) {
        let text = format!("{number}{unit}");
        let result = crate::commands::parse_age(&text);
        if let Ok(age) = result {
            // An age that parses is the number times its unit, exactly.
            let n: u128 = number.parse().unwrap();
            let unit_secs: u128 = match unit { "" | "d" => 86_400, "h" => 3_600, "m" => 60, _ => 1 };
            prop_assert_eq!(u128::from(age.as_secs()), n * unit_secs);
        }
    }

    #[test]
    fn manifest_errors_never_carry_raw_control_characters(
        before in "[a-z =\"\\[\\]]{0,8}",
        control in prop::char::range('\u{1}', '\u{1f}').prop_filter("not a newline", |c| *c != '\n' && *c != '\t' && *c != '\r'),
        after in "[a-z =\"\\[\\]]{0,8}",
    ) {
        let path = manifest_path();
        let text = format!("{before}{control}{after}\n");
        if let Err(e) = manifest::parse(&path, ManifestKind::NixpyToml, &text) {
            prop_assert!(no_control_chars_but_newlines(&e.message), "{:?}", e.message);
        }
    }
}

// The parsers and edits issue 13 touched: requirement files with BOMs,
// `${VAR}`s and continuation lines, their edits by add/remove, the lock,
// the Nix-file checks, error positions on huge lines.
proptest! {
    #![proptest_config(config())]

    #[test]
    fn requirement_files_with_boms_variables_and_continuations_read_cleanly(text in requirements_text()) {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("requirements.txt");
        std::fs::write(&file, &text).unwrap();
        match requirements::read_files(std::slice::from_ref(&file)) {
            Ok(set) => {
                for name in &set.variables {
                    prop_assert!(text.contains(&format!("${{{name}}}")), "{} is named nowhere", name);
                }
                for r in &set.requirements {
                    prop_assert!(!r.line.contains('\n') && !r.line.contains('\r'));
                    prop_assert!(!r.line.starts_with(BOM));
                    // A token in a URL stays a variable for the installer.
                    if let Ok(home) = std::env::var("HOME") {
                        let expanded = format!("{home}@example.org");
                        prop_assert!(!r.line.contains(&expanded), "{}", r.line);
                    }
                }
            }
            Err(e) => prop_assert!(e.message.contains("requirements.txt"), "{}", e.message),
        }
    }

    #[test]
    fn pip_edits_keep_other_entries_and_line_endings(
        text in requirements_text(),
        remove in vec("[a-z]{1,3}", 0..3),
        add in vec("[a-z]{1,3}", 0..3),
    ) {
        use crate::project::edit;
        let remove: Vec<String> = remove.iter().map(|n| normalize_name(n)).collect();
        let (after, removed) = edit::remove_requirements(&text, &remove);
        for name in &removed {
            prop_assert!(remove.contains(name));
        }
        let unique: HashSet<&String> = removed.iter().collect();
        prop_assert_eq!(unique.len(), removed.len(), "a name reported removed twice");
        // Nothing named is left, everything else is kept byte for byte.
        prop_assert!(after.len() <= text.len());
        prop_assert!(text.contains(after.trim_start_matches(BOM)) || !removed.is_empty());
        let additions: Vec<(String, String)> =
            add.iter().map(|n| (normalize_name(n), format!("{n}>=1"))).collect();
        let added = edit::add_requirements(&after, &additions);
        for (name, line) in &additions {
            prop_assert!(added.contains(line.as_str()), "{} missing", name);
        }
        let all_crlf = text.contains("\r\n") && text.matches('\n').count() == text.matches("\r\n").count();
        if all_crlf && !additions.is_empty() {
            prop_assert_eq!(added.matches('\n').count(), added.matches("\r\n").count(), "{:?}", added);
        }
    }

    #[test]
    fn the_lock_reads_or_fails_naming_itself(bytes in prop_oneof![
        vec(any::<u8>(), 0..120),
        "(version = [0-9]\n)?(\\[nixpkgs\\]\nurl = \"[a-z:/]{0,8}\"\n)?[ -~\n]{0,40}".prop_map(String::into_bytes),
    ]) {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("nixpy.lock");
        std::fs::write(&file, &bytes).unwrap();
        if let Err(e) = crate::project::lockfile::read(&file) {
            prop_assert!(e.message.contains("nixpy.lock"), "{}", e.message);
            prop_assert!(e.hint.is_some(), "no hint: {}", e.message);
        }
    }

    #[test]
    fn nix_files_are_checked_and_their_reads_found_without_panics(text in prop_oneof![nix_text(), any::<String>()]) {
        use crate::project::nix_checks;
        let dir = Path::new("/p/nix");
        if nix_checks::check(&dir.join("x.nix"), &text).is_ok() {
            let found = nix_checks::reads(dir, &text);
            for path in &found.paths {
                prop_assert!(path.is_absolute(), "{}", path.display());
                prop_assert!(!path.components().any(|c| matches!(c, std::path::Component::ParentDir | std::path::Component::CurDir)));
            }
            for u in &found.untracked {
                prop_assert!(u.span.start <= u.span.end && u.span.end <= text.len());
                prop_assert!(!u.what.is_empty() && !u.hint.is_empty());
            }
        }
    }

    #[test]
    fn errors_on_huge_lines_stay_short(
        filler in "[a-z\", ]{0,4}",
        repeat in 200usize..5000,
        at in any::<usize>(),
        len in 0usize..10_000,
    ) {
        let text = filler.repeat(repeat) + "x\n";
        let start = at % text.len();
        let out = crate::support::source_pos::render(Path::new("nixpy.toml"), &text, start..start + len, "msg");
        for line in out.lines() {
            prop_assert!(line.chars().count() <= 130, "{} characters", line.chars().count());
        }
    }
}

#[test]
fn requirement_names_ending_in_a_separator_are_errors_not_crashes() {
    let tmp = tempfile::tempdir().unwrap();
    for text in ["A-==0\n", "a_[0\n", "name.>=1\n"] {
        let file = tmp.path().join("requirements.txt");
        std::fs::write(&file, text).unwrap();
        let result =
            std::panic::catch_unwind(|| requirements::read_files(std::slice::from_ref(&file)));
        match result {
            Ok(Err(e)) => assert!(e.message.contains("requirements.txt:1:"), "{}", e.message),
            Ok(Ok(_)) => panic!("{text:?} accepted"),
            Err(_) => panic!("{text:?} panicked"),
        }
    }
}
