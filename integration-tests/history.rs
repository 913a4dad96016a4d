//! Generations (issue 18): every change to a project's environment is
//! kept, `nixpy history` lists them, `nixpy rollback` goes back at once
//! (refusing when the user changed the files since), and `nixpy gc`
//! leaves what the kept generations need.

use crate::harness::*;

/// `nixpy history`'s stdout with its dates as `YYYY-MM-DD HH:MM`.
fn history_of(project: &Project) -> String {
    let out = nixpy(project).arg("history").outcome();
    out.success();
    let mut text = String::new();
    for line in out.stdout.lines() {
        let date_at = line.match_indices("20").find(|(i, _)| {
            line.get(*i..i + 16).is_some_and(|d| {
                d.as_bytes().iter().enumerate().all(|(j, b)| match j {
                    4 | 7 => *b == b'-',
                    10 => *b == b' ',
                    13 => *b == b':',
                    _ => b.is_ascii_digit(),
                })
            })
        });
        match date_at {
            Some((i, _)) => {
                text.push_str(&line[..i]);
                text.push_str("YYYY-MM-DD HH:MM");
                text.push_str(&line[i + 16..]);
            }
            None => text.push_str(line),
        }
        text.push('\n');
    }
    text
}

fn generation_dirs(project: &Project) -> Vec<String> {
    let dir = project_cache_dir(project.cache_dir(), project).join("generations");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.parse::<u32>().is_ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort_by_key(|n| n.parse::<u32>().unwrap_or(0));
    names
}

#[test]
fn history_lists_every_change_snapshot() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n")
        .file("requirements.txt", &local_requirements(&[]));
    add_wheel(&project, "nixpy-h-a", "1.0");
    nixpy_run(&project, ["true"]).outcome().success();
    nixpy(&project).args(["add", "jq"]).outcome().success();
    nixpy(&project)
        .args(["add", "--pip", "nixpy-h-a"])
        .outcome()
        .success();
    // The user's own edit, then a run: recorded too.
    project.write("requirements.txt", &local_requirements(&["nixpy-h-a<2"]));
    nixpy_run(&project, ["true"]).outcome().success();
    nixpy(&project).args(["remove", "jq"]).outcome().success();
    // A run that changes nothing records nothing.
    nixpy_run(&project, ["true"]).outcome().success();
    nixpy(&project).args(["lock"]).outcome().success();
    assert_eq!(
        history_of(&project),
        "  #  date (UTC)        command       change
* 5  YYYY-MM-DD HH:MM  nixpy remove  packages -jq
  4  YYYY-MM-DD HH:MM  nixpy run     requirements.txt +nixpy-h-a<2 -nixpy-h-a
  3  YYYY-MM-DD HH:MM  nixpy add     requirements.txt +nixpy-h-a; pip +nixpy-h-a 1.0
  2  YYYY-MM-DD HH:MM  nixpy add     packages +jq
  1  YYYY-MM-DD HH:MM  nixpy run     first environment
"
    );
}

#[test]
fn rollback_restores_the_files_and_the_next_run_is_warm() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy_run(&project, ["hello"]).outcome().success();
    let first_manifest = project.read("nixpy.toml");
    let first_lock = project.read("nixpy.lock");
    nixpy(&project).args(["add", "jq"]).outcome().success();
    nixpy_run(&project, ["jq"]).outcome().success();

    let out = nixpy(&project).arg("rollback").outcome();
    out.success()
        .stderr_has("restored generation 1")
        .stderr_has("nixpy.toml")
        .stderr_has("the next run needs no build");
    assert_eq!(project.read("nixpy.toml"), first_manifest);
    assert_eq!(project.read("nixpy.lock"), first_lock);
    assert!(
        !project.listing().iter().any(|f| f.contains(".nixpy-tmp")),
        "{:?}",
        project.listing()
    );
    // Warm: no build, and the stand-in's jq is gone again (the host may
    // have its own).
    assert_warm(&project, &["hello"]);
    let out = nixpy_run(&project, ["sh", "-c", "jq --version || true"]).outcome();
    assert!(!out.stdout.contains("nixpy stand-in"), "{}", out.stdout);
    assert!(
        history_of(&project).contains("* 1  "),
        "{}",
        history_of(&project)
    );

    // Forward again, by number.
    nixpy(&project).args(["rollback", "2"]).outcome().success();
    assert_warm(&project, &["jq"]);
    // No such generation: refused, naming the kept ones.
    nixpy(&project)
        .args(["rollback", "9"])
        .outcome()
        .nixpy_error()
        .stderr_has("there is no generation 9")
        .stderr_has("kept generations: 1, 2");
}

#[test]
fn rollback_refuses_when_the_files_changed_since_and_force_overrides() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy_run(&project, ["true"]).outcome().success();
    nixpy(&project).args(["add", "jq"]).outcome().success();
    // An edit not built yet.
    let edited = project
        .read("nixpy.toml")
        .replace("\"jq\"", "\"jq\", \"sox\"");
    project.write("nixpy.toml", &edited);
    let out = nixpy(&project).args(["rollback", "1"]).outcome();
    out.nixpy_error()
        .stderr_has("the files nixpy manages changed since generation 2, the current one")
        .stderr_has("--- generation 2: nixpy.toml")
        .stderr_has("+++ now: nixpy.toml")
        .stderr_has("+packages = [\"hello\", \"jq\", \"sox\"]")
        .stderr_has("nixpy rollback 1 --force");
    assert_eq!(
        project.read("nixpy.toml"),
        edited,
        "a refused rollback changed files"
    );
    nixpy(&project)
        .args(["rollback", "1", "--force"])
        .outcome()
        .success();
    assert_eq!(project.read("nixpy.toml"), "packages = [\"hello\"]\n");
    assert_warm(&project, &["hello"]);
}

#[test]
fn old_generations_go_beyond_keep_generations() {
    needs_nix!();
    let project = Project::with_manifest("keep-generations = 2\npackages = [\"hello\"]\n");
    nixpy_run(&project, ["true"]).outcome().success();
    nixpy(&project).args(["add", "jq"]).outcome().success();
    nixpy(&project).args(["add", "sox"]).outcome().success();
    assert_eq!(generation_dirs(&project), ["2", "3"]);
    let history = history_of(&project);
    assert!(!history.contains("first environment"), "{history}");
    nixpy(&project)
        .args(["rollback", "1"])
        .outcome()
        .nixpy_error()
        .stderr_has("kept generations: 2, 3");
    // A bad value is refused at its place.
    project.write("nixpy.toml", "keep-generations = 0\n");
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("keep-generations must be a number from 1 to 1000");
}

#[test]
fn gc_keeps_what_the_generations_need() {
    needs_nix!();
    // A package of this test's own, so the first environment's store path
    // is this test's alone.
    let name = unique_name("nixpy-hist");
    let project = Project::with_manifest("packages = [\"hello\"]\nnix-files = [\"tool.nix\"]\n")
        .file("tool.nix", &scratch_package_nix(&name, 0));
    nixpy_run(&project, ["true"]).outcome().success();
    let first = read_entry(project.cache_dir(), &project).expect("an entry");
    let first_env = first["shell_file"].as_str().unwrap().to_owned();
    nixpy(&project).args(["add", "jq"]).outcome().success();
    let second = read_entry(project.cache_dir(), &project).expect("an entry");
    assert_ne!(second["shell_file"].as_str(), Some(first_env.as_str()));

    nixpy(&project).arg("gc").outcome().success();
    // Only generation 1 roots the first environment now: Nix refuses to
    // delete it.
    let delete = std::process::Command::new("nix-store")
        .args(["--delete", &first_env])
        .outcome();
    assert!(
        !delete.status.success(),
        "the first environment was not rooted:\n{}",
        delete.stderr
    );
    assert!(std::path::Path::new(&first_env).exists());
    nixpy(&project).arg("rollback").outcome().success();
    assert_warm(&project, &[&name]);
}
