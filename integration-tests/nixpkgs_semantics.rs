//! Real nixpkgs semantics (issue 15), against the stand-in that imitates
//! them: the Python setup hook, Python applications and their module twins,
//! names that throw, and home-manager/NixOS-style modules as users write
//! them (the lesson's `modules/media.nix` and `modules/python.nix` exactly).

use crate::harness::*;

/// The lesson's media module, as the lesson prints it: no header, `pkgs`
/// free, `home.packages = with pkgs; [ ... ]`.
pub(crate) const LESSON_MEDIA_NIX: &str = r#"# modules/media.nix
{
  home.packages = with pkgs; [
    ffmpeg         # Video and audio processing
    gifski         # GIF creation
    libavif        # AVIF image format
    exiftool       # Image metadata
    tesseract      # OCR
    yt-dlp         # YouTube downloader
    openai-whisper # Speech recognition (CLI + Python)
    sox            # Audio processing and effects
    ffmpegthumbnailer  # Generate video thumbnails
    mediainfo      # Media file information
  ];
}
"#;

/// The lesson's Python module: an interpreter, pip and setuptools.
pub(crate) const LESSON_PYTHON_NIX: &str = r#"# modules/python.nix
{
  home.packages = with pkgs; [
    python312      # Python runtime
    
    # Development tools
    python312Packages.pip
    python312Packages.setuptools
    
    # Add other Python packages here as needed
  ];
}
"#;

fn lesson_project() -> Project {
    Project::with_manifest(
        "python = \"python312\"\nnix-files = [\"modules/media.nix\", \"modules/python.nix\"]\n",
    )
    .file("modules/media.nix", LESSON_MEDIA_NIX)
    .file("modules/python.nix", LESSON_PYTHON_NIX)
}

/// The PATH entries (store folders) of `nixpy run`, in order.
fn path_entries(project: &Project) -> Vec<String> {
    let out = nixpy_run(
        project,
        ["python3", "-c", "import os; print(os.environ['PATH'])"],
    )
    .outcome();
    out.success()
        .stdout
        .trim()
        .split(':')
        .map(str::to_owned)
        .collect()
}

/// Index of the first PATH entry whose store name contains `name`.
fn position_of(entries: &[String], name: &str) -> Option<usize> {
    entries
        .iter()
        .position(|e| e.starts_with("/nix/store/") && e.contains(&format!("-{name}-")))
}

// ---------------------------------------------------------------------------
// The lesson's modules, exactly as written
// ---------------------------------------------------------------------------

#[test]
fn the_lessons_modules_give_clis_and_importable_modules() {
    needs_nix!();
    let project = lesson_project();
    // `import whisper` and `import yt_dlp` from the project's interpreter
    // (python312), beside pip and setuptools from modules/python.nix.
    let script = "import json, sys, yt_dlp, whisper, setuptools, pip; \
                  print(json.dumps([yt_dlp.__version__, whisper.__version__, setuptools.__version__, \
                  '%d.%d' % sys.version_info[:2], yt_dlp.__file__, sys.executable]))";
    let out = nixpy_python(&project, script).outcome();
    let v = out.success().json();
    assert_eq!(v[0], "2025.1.12");
    assert_eq!(v[1], "20240930");
    assert_eq!(v[2], "69.5.1");
    let python312 = standin()
        .host
        .python_alt
        .as_ref()
        .map_or(standin().host.python_version.clone(), |(_, v)| v.clone());
    assert_eq!(
        v[3],
        python312.as_str(),
        "the project's interpreter is python312"
    );
    let module = v[4].as_str().unwrap();
    assert!(
        module.contains(&format!("/lib/python{python312}/site-packages/")),
        "yt_dlp comes from the python312 environment (its twin), not the application: {module}"
    );
    // The CLIs stay as nixpkgs built them (for the default python3).
    nixpy_run(&project, ["yt-dlp"])
        .outcome()
        .success()
        .stdout_is("yt-dlp 2025.1.12 mutagen 1.47.0\n");
    nixpy_run(&project, ["whisper", "audio.mp3"])
        .outcome()
        .success()
        .stdout_is("whisper 20240930 torch 2.5.1 audio.mp3\n");
    for (tool, version) in [
        ("ffmpeg", "6.1.1"),
        ("gifski", "1.32.0"),
        ("exiftool", "12.76"),
        ("tesseract", "5.3.4"),
        ("sox", "14.4.2"),
        ("ffmpegthumbnailer", "2.2.3"),
        ("mediainfo", "24.06"),
    ] {
        nixpy_run(&project, [tool])
            .outcome()
            .success()
            .stdout_is(&standin_version(tool, version));
    }
    nixpy_run(&project, ["avifenc"])
        .outcome()
        .success()
        .stdout_is(&standin_version("libavif", "1.1.1"));
}

/// The lesson's modules list python312 while a manifest written for them
/// may name no `python`: the project's interpreter is then nixpkgs' default
/// python3, and nixpy says so, with the key that picks the listed one.
#[test]
fn a_listed_interpreter_of_another_version_is_named_with_the_key_to_choose_it() {
    needs_nix!();
    let host = &standin().host;
    let listed_version = host
        .python_alt
        .as_ref()
        .map_or(host.python_version.clone(), |(_, v)| v.clone());
    let project =
        Project::with_manifest("nix-files = [\"modules/media.nix\", \"modules/python.nix\"]\n")
            .file("modules/media.nix", LESSON_MEDIA_NIX)
            .file("modules/python.nix", LESSON_PYTHON_NIX);
    let out = nixpy_python(
        &project,
        "import sys; print('%d.%d' % sys.version_info[:2])",
    )
    .outcome();
    out.success()
        .stdout_is(&format!("{}\n", host.python_version));
    let note = format!("modules/python.nix lists python3-{listed_version}");
    if listed_version == host.python_version {
        // Without a second Python on the host the stand-in's python312 has
        // the same version: nothing to choose between, nothing said.
        out.stderr_lacks("but the project's interpreter is");
    } else {
        out.stderr_has(&note).stderr_has(&format!(
            "but the project's interpreter is `python3` (Python {}): `python` and the Python \
             packages of the environment are its; to use Python {listed_version}, set \
             `python = \"python{}\"` in nixpy.toml",
            host.python_version,
            listed_version.replace('.', "")
        ));
    }
    // Chosen in the manifest, the listed interpreter is the project's: no note.
    let chosen = lesson_project();
    nixpy_python(&chosen, "print()")
        .outcome()
        .success()
        .stderr_lacks("but the project's interpreter is");
}

#[test]
fn an_application_is_importable_through_its_twin_for_the_default_interpreter_too() {
    needs_nix!();
    // python3 is the interpreter yt-dlp was built for; the application
    // itself (pythonModule = false, or none at all) is still not a module,
    // so withPackages would drop it: its twin joins.
    let project = Project::with_manifest("packages = [\"yt-dlp\", \"openai-whisper\"]\n");
    let out = nixpy_python(
        &project,
        "import json, yt_dlp, whisper; print(json.dumps([yt_dlp.__version__, whisper.__version__, yt_dlp.__file__]))",
    )
    .outcome();
    let v = out.success().json();
    assert_eq!(v[0], "2025.1.12");
    assert_eq!(v[1], "20240930");
    let module = v[2].as_str().unwrap();
    // Not through the application's own folder (which the Python setup hook
    // would put on PYTHONPATH): through the environment.
    assert!(
        !module.contains("-yt-dlp-2025.1.12/"),
        "yt_dlp was imported from the application, not its twin: {module}"
    );
}

// ---------------------------------------------------------------------------
// The Python setup hook
// ---------------------------------------------------------------------------

#[test]
fn the_python_setup_hook_does_not_reach_commands() {
    needs_nix!();
    // yt-dlp propagates its interpreter, whose setup hook would export
    // PYTHONPATH (its own site-packages and mutagen's) and turn hash
    // randomisation off.
    let project = Project::with_manifest("packages = [\"yt-dlp\"]\n");
    let script = "import json, os, sys; print(json.dumps([os.environ.get(n) for n in \
                  ['PYTHONPATH', 'PYTHONHASHSEED', 'DETERMINISTIC_BUILD', 'dontAddPythonPath']] \
                  + [sys.flags.hash_randomization]))";
    let mine = temp_dir("nixpy-it-mine-");
    let mine = mine.path().to_str().unwrap().to_owned();
    let out = nixpy_run(&project, ["python3", "-c", script])
        .env("PYTHONPATH", &mine)
        .outcome();
    let v = out.success().json();
    assert_eq!(
        v[0],
        mine.as_str(),
        "the caller's PYTHONPATH survives, alone"
    );
    assert_eq!(v[1], serde_json::Value::Null);
    assert_eq!(v[2], serde_json::Value::Null);
    assert_eq!(v[3], serde_json::Value::Null);
    assert_eq!(v[4], 1, "hash randomisation stays on");
}

// ---------------------------------------------------------------------------
// Modules as home-manager and NixOS users write them
// ---------------------------------------------------------------------------

#[test]
fn module_trees_follow_imports_and_honour_properties() {
    needs_nix!();
    let project = Project::with_manifest("nix-files = [\"home.nix\"]\n")
        .file(
            "home.nix",
            r#"{ config, lib, pkgs, osConfig, inputs, ... }:
{
  imports = [
    ./modules/media.nix
    ./modules/tools
    ({ pkgs, ... }: { home.packages = [ pkgs.gifski ]; })
  ];
  home.packages = lib.mkMerge [
    (lib.mkIf true [ pkgs.jq ])
    (lib.mkIf false [ pkgs.exiftool ])
  ];
}
"#,
        )
        .file(
            "modules/media.nix",
            "{ pkgs, ... }: { home.packages = with pkgs; [ ffmpeg sox ]; imports = [ ../common.nix ]; }\n",
        )
        // Imported twice (here and from media.nix): evaluated once.
        .file("common.nix", "{ lib, pkgs, ... }: { home.packages = lib.mkAfter [ pkgs.hello ]; }\n")
        .file(
            "modules/tools/default.nix",
            r#"{ lib, pkgs, ... }:
{
  imports = [ ../../common.nix ];
  options = { };
  config = {
    home.packages = lib.mkBefore [ pkgs.pnpm ];
    environment.systemPackages = lib.mkMerge [
      (lib.mkDefault [ pkgs.tesseract ])
      (lib.mkForce [ pkgs.mediainfo ])
    ];
  };
}
"#,
        );
    let entries = path_entries(&project);
    let at = |name: &str| position_of(&entries, name);
    for present in [
        "jq",
        "ffmpeg",
        "sox",
        "hello",
        "pnpm",
        "gifski",
        "mediainfo",
    ] {
        assert!(
            at(present).is_some(),
            "{present} is missing from PATH: {entries:#?}"
        );
    }
    for absent in ["exiftool", "tesseract"] {
        assert!(
            at(absent).is_none(),
            "{absent} should not be on PATH: {entries:#?}"
        );
    }
    // mkBefore first, mkAfter last, the rest in import order.
    let order: Vec<usize> = ["pnpm", "jq", "ffmpeg", "gifski", "hello"]
        .iter()
        .map(|n| at(n).unwrap())
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "home.packages order: {entries:#?}");
    let hellos = entries.iter().filter(|e| e.contains("-hello-")).count();
    assert_eq!(hellos, 1, "common.nix was imported twice but counts once");
}

#[test]
fn a_module_that_gives_no_packages_is_an_error_naming_it() {
    needs_nix!();
    let project = Project::with_manifest("nix-files = [\"modules/git.nix\"]\n").file(
        "modules/git.nix",
        "{ ... }: { programs.git.enable = true; }\n",
    );
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("modules/git.nix")
        .stderr_has("neither home.packages nor environment.systemPackages");
}

// ---------------------------------------------------------------------------
// Applications: what `nixpy show` says, the key that turns twins off, and
// the application's own dependencies
// ---------------------------------------------------------------------------

#[test]
fn show_says_where_each_cli_and_module_come_from() {
    needs_nix!();
    let project = lesson_project();
    let out = nixpy_run(&project, ["true"]).outcome();
    let note = "the Python modules of yt-dlp, openai-whisper come from python312's package set, not nixpkgs' default python3";
    out.success().stderr_has(note);
    // Said once: the warm path does not repeat it.
    nixpy_run(&project, ["true"])
        .outcome()
        .success()
        .stderr_lacks(note);
    nixpy(&project)
        .arg("show")
        .outcome()
        .success()
        .stdout_has("python modules:   yt-dlp (modules/media.nix): CLI from nixpkgs, module from python312Packages.yt-dlp\n")
        .stdout_has("                  openai-whisper (modules/media.nix): CLI from nixpkgs, module from python312Packages.openai-whisper\n")
        .stdout_has("                  pip (modules/python.nix): module from python312Packages.pip\n")
        .stdout_has("                  setuptools (modules/python.nix): module from python312Packages.setuptools\n");
}

#[test]
fn app_modules_false_keeps_the_twins_out() {
    needs_nix!();
    let project = Project::with_manifest("app-modules = false\npackages = [\"yt-dlp\"]\n");
    nixpy_python(
        &project,
        "import importlib.util as u; print(u.find_spec('yt_dlp'))",
    )
    .outcome()
    .success()
    .stdout_is("None\n");
    nixpy_run(&project, ["yt-dlp"])
        .outcome()
        .success()
        .stdout_is("yt-dlp 2025.1.12 mutagen 1.47.0\n");
}

/// The pip layer reaches the project interpreter through its venv, not
/// through PYTHONPATH (which every Python program would inherit, the
/// application's script among them).
#[test]
fn an_applications_cli_keeps_its_own_dependencies() {
    needs_nix!();
    // yt-dlp is built for python3; the project uses python312 and, in its
    // pip layer, another mutagen.
    let project = Project::with_manifest(
        "python = \"python312\"\napp-modules = false\npackages = [\"yt-dlp\"]\n",
    );
    make_wheel(
        &project.mkdir("wheels"),
        "mutagen",
        "9.9.9",
        &[],
        &[("mutagen/__init__.py", "version_string = '9.9.9'\n")],
        &[],
    );
    project.write("requirements.txt", &local_requirements(&["mutagen==9.9.9"]));
    nixpy_python(&project, "import mutagen; print(mutagen.version_string)")
        .outcome()
        .success()
        .stdout_is("9.9.9\n");
    nixpy_run(&project, ["yt-dlp"])
        .outcome()
        .success()
        .stdout_is("yt-dlp 2025.1.12 mutagen 1.47.0\n");
}

// ---------------------------------------------------------------------------
// Names that are not in nixpkgs, or that nixpkgs removed
// ---------------------------------------------------------------------------

#[test]
fn removed_and_unknown_names_are_reported_at_once_quoting_nixpkgs() {
    needs_nix!();
    let project = Project::with_manifest(
        "packages = [\n  \"hello\",\n  \"nodePackages.pnpm\",\n  \"nosuchpkg\",\n  \"atom\",\n]\n",
    );
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has(
            "error: 3 names in the project's package lists cannot be used:\n  \
             `nodePackages.pnpm` (nixpy.toml:3) is no longer usable (through `nodePackages`); nixpkgs says: nodePackages has been removed. Many packages are now available at the top level (e.g. `pkgs.package-name`). Check on https://search.nixos.org to see if the package is still available.\n  \
             `nosuchpkg` (nixpy.toml:4) is not in nixpkgs\n  \
             `atom` (nixpy.toml:5) is no longer usable: it throws an error in nixpkgs\n",
        )
        .stderr_lacks("… ");
    // One removed name alone: nixpkgs' note, the file and the line.
    let one = Project::with_manifest("python-packages = [\"pytorch\"]\n");
    nixpy_run(&one, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("error: `pytorch` (listed in nixpy.toml:1) is no longer usable; nixpkgs says: 'pytorch' has been renamed to/replaced by 'torch'\n");
}

#[test]
fn every_unknown_name_of_the_nix_files_is_reported_with_its_line() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"nosuchpkg\"]\nnix-files = [\"modules/media.nix\"]\n")
        .file(
            "modules/media.nix",
            "{\n  imports = [ ./extra.nix ];\n  home.packages = with pkgs; [\n    ffmpeg\n    nosuchtool\n    atom\n  ];\n}\n",
        )
        .file(
            "modules/extra.nix",
            "{ pkgs, ... }:\n{\n  home.packages = [ pkgs.sox pkgs.nosuchother ];\n}\n",
        );
    let expected = "error: 4 names in the project's package lists cannot be used:\n  \
                    `nosuchpkg` (nixpy.toml:1) is not in nixpkgs\n  \
                    `nosuchtool` (modules/media.nix:5) is not in nixpkgs\n  \
                    `atom` (modules/media.nix:6) is no longer usable: it throws an error in nixpkgs\n  \
                    `nosuchother` (modules/extra.nix:3) is not in nixpkgs\n";
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has(expected);
    // Without the manifest's name, Nix stops inside the module first: the
    // same names are found.
    project.write("nixpy.toml", "nix-files = [\"modules/media.nix\"]\n");
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("error: 3 names in the project's package lists cannot be used:\n  `nosuchtool` (modules/media.nix:5) is not in nixpkgs\n");
    // Only a removed name left: nixpkgs' note is quoted.
    project.write(
        "modules/media.nix",
        "{\n  home.packages = with pkgs; [\n    ffmpeg\n    atom\n  ];\n}\n",
    );
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("error: `atom` (listed in modules/media.nix:4) is no longer usable; nixpkgs says: 'atom' has been removed because discontinued and deprecated. Consider using 'pulsar', a maintained fork\n");
}

#[test]
fn add_quotes_nixpkgs_for_removed_names_and_never_suggests_them() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let before = project.read("nixpy.toml");
    nixpy(&project)
        .args(["add", "nodePackages.pnpm"])
        .outcome()
        .nixpy_error()
        .stderr_has("error: `nodePackages.pnpm` was removed from the pinned nixpkgs; nothing was changed\n  hint: nixpkgs says: nodePackages has been removed.");
    nixpy(&project)
        .args(["add", "atom"])
        .outcome()
        .nixpy_error()
        .stderr_has("  hint: nixpkgs says: 'atom' has been removed because discontinued");
    // `atom` is close to `atomm`, but throws: not a suggestion.
    nixpy(&project)
        .args(["add", "atomm"])
        .outcome()
        .nixpy_error()
        .stderr_has("error: `atomm` is not in the pinned nixpkgs; nothing was changed\n")
        .stderr_lacks("`atom`");
    assert_eq!(project.read("nixpy.toml"), before);
}

#[test]
fn a_module_value_nixpy_cannot_read_names_the_file() {
    needs_nix!();
    let project = Project::with_manifest("nix-files = [\"modules/bad.nix\"]\n").file(
        "modules/bad.nix",
        "{ pkgs, ... }: { home.packages = \"ffmpeg\"; }\n",
    );
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("error: modules/bad.nix: `home.packages` is a string, not a list\n");
}
