//! `nixpy search` (issue 18): packages of the pinned nixpkgs, or of the
//! interpreter's set, by name and description, best first, marking what
//! the project has; indexed once per pinned revision, with progress, then
//! answered from the index without Nix.

use crate::harness::*;

/// A project with `hello` and `numpy` from Nix and `mutagen` from pip,
/// locked.
fn searched_project() -> Project {
    let project = Project::with_manifest("packages = [\"hello\"]\npython-packages = [\"numpy\"]\n")
        .file("requirements.txt", &local_requirements(&["mutagen"]));
    let wheels = project.mkdir("wheels");
    make_wheel(
        &wheels,
        "mutagen",
        "1.0",
        &[],
        &[("mutagen/__init__.py", "")],
        &[],
    );
    nixpy(&project).arg("lock").outcome().success();
    project
}

#[test]
fn search_finds_names_and_descriptions_best_first_and_marks_the_project() {
    needs_nix!();
    let project = searched_project();
    let out = nixpy(&project).args(["search", "audio"]).outcome();
    out.success().stdout_is(
        "\
sox (14.4.2)
  Command-line audio processing: convert formats, mix, add effects
ffmpeg (6.1.1)
  Tools to record, convert and stream audio and video
yt-dlp (2025.1.12)
  Downloads audio and video from YouTube and other sites
exiftool (12.76)
  Reads and writes metadata of images, audio and video files
mediainfo (24.06)
  Shows technical information about audio and video files
openai-whisper (20240930)
  Speech recognition: transcribes audio to text
",
    );
    // A name first; what the project has is marked.
    let out = nixpy(&project).args(["search", "hello"]).outcome();
    out.success()
        .stdout_is("hello (2.12.1)  [in packages]\n  Prints a friendly greeting\n");
    let out = nixpy(&project).args(["search", "ffmpeg"]).outcome();
    let first = out
        .success()
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(first, "ffmpeg (6.1.1)", "{}", out.stdout);
    // Every word must match.
    nixpy(&project)
        .args(["search", "audio", "metadata"])
        .outcome()
        .success()
        .stdout_is(
            "exiftool (12.76)\n  Reads and writes metadata of images, audio and video files\n",
        );

    // The interpreter's package set.
    let out = nixpy(&project)
        .args(["search", "--python", "tags"])
        .outcome();
    out.success()
        .stdout_is("mutagen (1.47.0)  [pip 1.0]\n  Reads and writes audio metadata tags\n")
        .stderr_has("nixpy add --python NAME");
    nixpy(&project)
        .args(["search", "--python", "numpy"])
        .outcome()
        .success()
        .stdout_has("numpy (1.26.4)  [in python-packages]\n");

    // Nothing: exit 1, said on stderr.
    let out = nixpy(&project).args(["search", "no-such-thing"]).outcome();
    out.code(1)
        .stdout_is("")
        .stderr_has("nothing in the pinned nixpkgs matches `no-such-thing`");
}

#[test]
fn the_index_is_built_once_per_revision_with_progress() {
    needs_nix!();
    let nixpkgs = GitNixpkgs::new();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    let search = |args: &[&str]| {
        nixpy(&project)
            .env("NIXPY_NIXPKGS", nixpkgs.flake_ref())
            .args(args)
            .outcome()
    };
    search(&["lock"]).success();
    let first = search(&["search", "greeting"]);
    first
        .success()
        .stdout_is("hello (2.12.1)  [in packages]\n  Prints a friendly greeting\n")
        .stderr_has("nixpy: indexing nixpkgs of the pinned revision (once per revision) ...")
        .stderr_has(" names\n");
    // From the index: no Nix at all (-v prints every Nix command).
    let again = search(&["-v", "search", "greeting"]);
    again
        .success()
        .stdout_is(&first.stdout)
        .stderr_lacks("indexing")
        .stderr_lacks("nixpy: $ ");
    // A new revision is indexed anew.
    nixpkgs.bump_hello("2.13.0", "2026-03-01T12:00:00Z");
    search(&["lock", "--upgrade-nixpkgs"]).success();
    search(&["search", "greeting"])
        .success()
        .stdout_is("hello (2.13.0)  [in packages]\n  Prints a friendly greeting\n")
        .stderr_has("indexing nixpkgs");
}

#[test]
fn gc_removes_the_search_indexes_not_used_lately() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy(&project).arg("lock").outcome().success();
    nixpy(&project).args(["search", "jq"]).outcome().success();
    let dir = project.cache_dir().join("v1/search");
    let indexes = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&dir)
            .map(|e| e.flatten().map(|f| f.path()).collect())
            .unwrap_or_default()
    };
    assert_eq!(indexes().len(), 1);
    // A search used it: gc keeps it.
    nixpy(&project).arg("gc").outcome().success();
    assert_eq!(indexes().len(), 1);
    // Unused for 40 days: gc removes it, and the next search indexes again.
    let index = indexes().remove(0);
    std::process::Command::new("touch")
        .args(["-d", "40 days ago"])
        .arg(&index)
        .outcome()
        .success();
    nixpy(&project)
        .arg("gc")
        .outcome()
        .success()
        .stdout_has("search index not used lately");
    assert!(indexes().is_empty());
    nixpy(&project)
        .args(["search", "jq"])
        .outcome()
        .success()
        .stderr_has("indexing nixpkgs");
}
