//! Running the command: the environment it gets (the shell's variables as
//! `nix develop` applies them, the pip layer, the project's `[env]`), the
//! shell hook, and the exec that replaces nixpy with it.

mod env;
mod exec;
pub(crate) mod hook;
mod programs;

#[cfg(test)]
pub(crate) use env::compose;
pub(crate) use env::{spec, target_env, EnvSpec, InterpreterPaths, SpecInputs};
pub(crate) use exec::{exec, exec_in};
pub(crate) use hook::HOOK_VAR;
pub(crate) use programs::ProgramIndex;
