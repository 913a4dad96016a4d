//! The pip layer: project-specific packages installed with uv (or pip),
//! each distribution into a content-addressed store path of its own, and
//! composed into one layer; never re-installing what Nix provides.
//!
//! Resolution sees the Nix-provided distributions as stub wheels pinned at
//! their Nix versions, so the resolver keeps them fixed; the resulting pins
//! minus the Nix-provided ones are installed with `--no-deps`.
//!
//! ```text
//! ensure: pins (lock or resolve) -> layer: keys -> index -> install the
//! missing (installer) -> split by RECORD -> bytecode -> compose -> add -> root
//! ```

mod bytecode;
mod compose;
mod dist_info;
mod dist_key;
mod ensure;
mod groups;
mod inputs;
mod installer;
mod interpreter;
mod layer;
mod resolve;
mod scratch;
mod split;
mod wheel_stub;

pub(crate) use dist_info::{dist_infos, name_and_version};
pub(crate) use ensure::{ensure, PipOutcome};
pub(crate) use inputs::PipInputs;
pub(crate) use interpreter::{interpreter_facts, nix_provided, InterpreterFacts};
pub(crate) use layer::LayerRef;
