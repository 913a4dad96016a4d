//! Papercuts found by trying nixpy as a new user would (issue 18, item 7):
//! each test is the user's step and what they should see.

use crate::harness::*;

#[test]
fn a_misspelled_flag_before_the_command_names_the_flag_meant() {
    // Found while parsing: no Nix needed.
    let project = Project::with_manifest("");
    let out = nixpy(&project)
        .args(["run", "--refesh", "--", "true"])
        .outcome();
    out.nixpy_error()
        .stderr_has("error: unknown flag `--refesh`\n")
        .stderr_has("hint: did you mean `--refresh`?")
        .stderr_lacks("command not found");
    // The command's own flags are still its own.
    let out = nixpy(&project).args(["lock", "--chek"]).outcome();
    out.nixpy_error().stderr_has("did you mean `--check`?");
}

#[test]
fn add_pip_takes_every_requirement_after_it() {
    needs_nix!();
    let project =
        Project::with_manifest("").file("requirements.txt", "--no-index\n--find-links wheels\n");
    let wheels = project.mkdir("wheels");
    for (name, module) in [("nixpy-pc-a", "nixpy_pc_a"), ("nixpy-pc-b", "nixpy_pc_b")] {
        for version in ["1.0", "2.0"] {
            make_wheel(
                &wheels,
                name,
                version,
                &[],
                &[(
                    &format!("{module}/__init__.py"),
                    &format!("V = '{version}'\n"),
                )],
                &[],
            );
        }
    }
    nixpy(&project)
        .args(["add", "--pip", "nixpy-pc-a", "nixpy-pc-b<2"])
        .outcome()
        .success();
    assert_eq!(
        project.read("requirements.txt"),
        "--no-index\n--find-links wheels\nnixpy-pc-a\nnixpy-pc-b<2\n"
    );
    nixpy_python(
        &project,
        "import nixpy_pc_a, nixpy_pc_b; print(nixpy_pc_a.V, nixpy_pc_b.V)",
    )
    .outcome()
    .success()
    .stdout_is("2.0 1.0\n");
}
