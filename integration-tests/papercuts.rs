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
