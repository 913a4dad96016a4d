//! The pip layer: project-specific packages installed with uv (or pip) into
//! a content-addressed store path, never re-installing what Nix provides.
//!
//! Resolution sees the Nix-provided distributions as stub wheels pinned at
//! their Nix versions, so the resolver keeps them fixed; the resulting pins
//! minus the Nix-provided ones are installed with `--no-deps`.

mod ensure;
mod groups;
mod inputs;
mod installer;
mod layer;
mod nix_provided;
mod resolve;
mod scratch;
mod wheel_stub;

pub(crate) use ensure::{ensure, PipOutcome};
pub(crate) use inputs::PipInputs;
pub(crate) use layer::LayerRef;
pub(crate) use nix_provided::nix_provided;
