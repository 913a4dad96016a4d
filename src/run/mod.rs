//! Running the command: the environment it gets (the shell's variables as
//! `nix develop` applies them, the pip layer, the project's `[env]`), the
//! shell hook, and the exec that replaces nixpy with it.

mod env;
mod exec;
pub mod hook;
mod programs;

#[cfg(test)]
pub use env::compose;
pub use env::{spec, target_env, EnvSpec, LayerPaths, SpecInputs};
pub use exec::{exec, exec_in};
pub use hook::HOOK_VAR;
pub use programs::ProgramIndex;
