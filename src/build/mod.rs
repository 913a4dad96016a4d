//! The cold path: a project's environment when the warm path cannot serve
//! it. Under the project's lock it reads the inputs, makes the shell spec,
//! builds (or fetches) the Nix shell, installs the pip layer, updates
//! nixpy.lock and publishes the cache entry that the warm path reads.

mod context;
mod nix_shell;
mod prepare;
mod shell_spec;
mod steps;

pub(crate) use context::{BuildOptions, Context};
pub(crate) use prepare::{prepare, prepare_or_last_good};
pub(crate) use shell_spec::{generated_flake, generated_flake_pinned};
