//! Command-line interface definitions.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "nixpy",
    version,
    about = "Nix for system packages, uv/pip for the rest: one cached Python environment",
    propagate_version = true
)]
pub(crate) struct Cli {
    /// Work in DIR: find the project from there and run commands there (as `git -C`).
    #[arg(short = 'C', long = "project", global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,

    /// Use this flake reference for nixpkgs instead of the manifest's (a local checkout or mirror) [env: NIXPY_NIXPKGS].
    // Read from the variable by `commands`, not by clap: clap would show
    // `--nixpkgs <REF>` in every usage line when only the variable is set.
    #[arg(long, global = true, value_name = "REF")]
    pub nixpkgs: Option<String>,

    /// Also fetch store paths from this binary cache (any `nix copy` store URI); repeatable.
    #[arg(long = "substituter", global = true, value_name = "URI")]
    pub substituters: Vec<String>,

    /// Trust signatures by this public key (`name:base64`) for --substituter; repeatable.
    #[arg(long = "trusted-public-key", global = true, value_name = "KEY")]
    pub trusted_public_keys: Vec<String>,

    /// Colour in messages: auto (a terminal without NO_COLOR), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Print nothing but errors and warnings.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// More detail (-vv for debug logs; NIXPY_LOG takes a tracing filter).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a command inside the project's environment.
    Run(RunArgs),
    /// Add Nix packages (or --python packages, or --pip requirements) to the project.
    Add(EditArgs),
    /// Remove Nix packages (or --python packages, or --pip requirements) from the project.
    Remove(EditArgs),
    /// Bring nixpy.lock up to date (or move it: --upgrade*) and say what changed.
    Lock(LockArgs),
    /// Copy both layers of the environment (closures included) to a Nix store or binary cache.
    Push(PushArgs),
    /// Print one key covering both layers of the environment (for CI caches).
    CacheKey,
    /// Show where each part of the environment comes from, and whether the cache is fresh.
    Show(ShowArgs),
    /// Check the Nix set-up, the cache folder and the project; each finding with its fix.
    Doctor,
    /// Remove cache entries of projects that are gone or unused, and what only they used.
    Gc(GcArgs),
    /// Find packages of the pinned nixpkgs (or, with --python, of the interpreter's set) by name and description.
    Search(SearchArgs),
    /// List the project's generations: each change to its environment, when, by what command.
    History,
    /// Go back to a generation (default: the one before the current): its files and environment.
    Rollback(RollbackArgs),
    /// Print the environment as shell code to eval (sh, bash, zsh, fish) or as JSON.
    Env(EnvArgs),
    /// Start an interactive shell (bash, zsh or fish) inside the environment.
    Shell(ShellArgs),
    /// Print the `use nixpy` function for direnv: `eval "$(nixpy direnvrc)"` in .envrc.
    Direnvrc,
    /// Install or remove a Jupyter kernel that runs the project's interpreter.
    #[command(subcommand)]
    Kernel(KernelCommand),
    /// Write a starting nixpy.toml in the current folder.
    Init(InitArgs),
    /// Print shell completions for bash, zsh or fish.
    Completions(CompletionsArgs),
    /// Print nixpy's man page (roff).
    #[command(hide = true)]
    Man,
}

#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    /// nixpkgs attribute paths (ffmpeg, llvmPackages.clang); with --python, attributes of the interpreter's package set.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// The names are Python packages built by Nix (python-packages).
    #[arg(long)]
    pub python: bool,
    /// pip requirements ('requests>=2' 'rich<14'); for remove, distribution
    /// names. Takes every word after it (and is repeatable).
    #[arg(long, value_name = "REQUIREMENT", num_args = 1..)]
    pub pip: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KernelCommand {
    /// Write a kernelspec into the user's Jupyter data folder.
    Install(KernelInstallArgs),
    /// Remove a kernelspec `nixpy kernel install` wrote.
    Remove(KernelRemoveArgs),
}

#[derive(Debug, Args)]
pub(crate) struct KernelInstallArgs {
    /// The kernel's name (default: nixpy-<project folder>).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The name notebooks show (default: Python (<project folder>, nixpy)).
    #[arg(long, value_name = "TEXT")]
    pub display_name: Option<String>,
    #[command(flatten)]
    pub build: BuildFlags,
}

#[derive(Debug, Args)]
pub(crate) struct KernelRemoveArgs {
    /// The kernel's name (default: nixpy-<project folder>).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PushArgs {
    /// Destination store URI: file:///path, s3://bucket?region=..., https://..., ssh://host;
    /// signing options pass through (file:///cache?secret-key=/path/key.sec).
    #[arg(long, value_name = "STORE_URI")]
    pub to: String,
    #[command(flatten)]
    pub build: BuildFlags,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct GcArgs {
    /// Also remove entries of projects not used for this long (30d, 12h, 90m).
    #[arg(long, default_value = "30d", value_name = "AGE")]
    pub older_than: String,
    /// List what would be removed, and remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// Words to find in the attribute names and descriptions; every word must match.
    #[arg(required = true, value_name = "TERM")]
    pub terms: Vec<String>,
    /// Search the project interpreter's package set (for python-packages) instead of nixpkgs.
    #[arg(long)]
    pub python: bool,
    /// List every match, not only the best ones.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    /// The generation to restore, as `nixpy history` numbers it.
    #[arg(value_name = "N")]
    pub generation: Option<u32>,
    /// Restore it even though the files nixpy manages changed since the
    /// current generation (those changes are lost).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Args, Default)]
pub(crate) struct BuildFlags {
    /// Rebuild the environment even if the cache is fresh.
    #[arg(long)]
    pub refresh: bool,
    /// Fail if nixpy.lock is missing or out of date instead of rewriting it.
    #[arg(long)]
    pub locked: bool,
    /// Install exactly what nixpy.lock says, without resolving.
    #[arg(long, conflicts_with = "locked")]
    pub frozen: bool,
    /// Install pip packages from the installer's cache only.
    #[arg(long)]
    pub offline: bool,
    /// Add this dependency group of pyproject.toml ([dependency-groups],
    /// PEP 735) to the environment, besides the manifest's `groups`; repeatable.
    #[arg(long = "group", value_name = "NAME")]
    pub groups: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub build: BuildFlags,

    /// The command and its arguments, passed on verbatim (everything from
    /// the first word that is not a flag of nixpy's, or after `--`).
    // No `allow_hyphen_values`: a misspelled flag of nixpy's before the
    // command (`--refesh`) must be an error, not a command to run.
    #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub(crate) struct LockArgs {
    /// Move everything: nixpkgs to the newest revision of its reference, and
    /// every pip pin (as --upgrade-nixpkgs --upgrade-pip).
    #[arg(long)]
    pub upgrade: bool,
    /// Move nixpkgs to the newest revision of its reference; pip pins stay
    /// where they still fit.
    #[arg(long)]
    pub upgrade_nixpkgs: bool,
    /// Resolve the pip requirements again, letting every pin move; nixpkgs stays.
    #[arg(long)]
    pub upgrade_pip: bool,
    /// Let only this pip package move (repeatable); every other pin stays.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["upgrade", "upgrade_pip"])]
    pub upgrade_package: Vec<String>,
    /// Fail if nixpy.lock would change in any way, writing nothing (for CI).
    #[arg(long, conflicts_with_all = ["upgrade", "upgrade_nixpkgs", "upgrade_pip", "upgrade_package"])]
    pub check: bool,
    /// Record the store paths of the Nix shell and the pip layer, so machines
    /// with a binary cache fetch them instead of building.
    #[arg(long)]
    pub record_paths: bool,
    /// Resolve and install pip packages from the installer's cache only.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// `export NAME='value'` lines, for sh, bash and zsh.
    Sh,
    /// `set -gx NAME 'value'` lines.
    Fish,
    /// One JSON object of names and values (`null` for a removed variable).
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct EnvArgs {
    #[command(flatten)]
    pub build: BuildFlags,
    /// Output syntax.
    #[arg(long, value_enum, default_value_t = Format::Sh)]
    pub format: Format,
    /// Print only the variables that differ from the current environment.
    #[arg(long)]
    pub diff: bool,
    /// Also print code that runs the shell hook after the variables are set
    /// (the hook is bash: meant for bash, as direnv runs it; sh format only).
    #[arg(long)]
    pub hook: bool,
    /// Print the files the environment depends on, one per line, and build
    /// nothing (for direnv's watch_file).
    #[arg(long, conflicts_with_all = ["format", "diff", "hook"])]
    pub watch_files: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ShellArgs {
    #[command(flatten)]
    pub build: BuildFlags,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Also write an .envrc that loads the environment with direnv (and add
    /// .direnv/ to .gitignore).
    #[arg(long)]
    pub direnv: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every flag and argument of every subcommand says what it does.
    #[test]
    fn every_argument_has_help() {
        fn check(command: &clap::Command, path: &str) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" {
                    assert!(arg.get_help().is_some(), "{path} {id} has no help text");
                }
            }
            for sub in command.get_subcommands() {
                assert!(
                    sub.get_about().is_some(),
                    "{path} {} has no help text",
                    sub.get_name()
                );
                check(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        let mut command = Cli::command();
        command.build();
        check(&command, "nixpy");
    }
}
