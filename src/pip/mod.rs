//! The pip layer: project-specific packages installed with uv (or pip) into
//! a content-addressed store path, never re-installing what Nix provides.

mod layer;
mod wheel_stub;

pub use layer::{ensure, nix_provided, LayerRef, PipInputs};
