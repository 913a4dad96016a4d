//! The generated flake: the shell plan made from the manifest, the files
//! nixpy writes for Nix (flake.nix, shell.nix, plan.json, flake.lock), the
//! contract with the shell template, and reading back what Nix built
//! (`print-dev-env --json`). Nothing here runs Nix.

pub(crate) mod contract;
mod dev_env;
mod generated;
mod plan;
mod shell_file;

pub(crate) use contract::NAMES_OUTPUT;
pub(crate) use dev_env::{parse as parse_dev_env, ShellEnv};
pub(crate) use generated::{files, package_set_key, source_files, write_dir, FlakeFiles};
pub(crate) use plan::{current_system, ShellPlan};
pub(crate) use shell_file::{
    read as read_shell_file, references as shell_file_references, render as render_shell_file,
    SHELL_FILE_NAME,
};
