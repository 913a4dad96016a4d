//! What nixpy fingerprints besides files: the values that change an
//! environment without any input file changing. (The files are stamped as
//! `project::read_inputs` reads them.)

use std::collections::BTreeMap;

use crate::flake;
use crate::nix;

/// The variables nixpkgs' check-meta reads (evaluation is `--impure`):
/// each allows refused packages for one run, so each is an input.
pub(crate) const NIXPKGS_ALLOW_VARIABLES: [&str; 4] = [
    "NIXPKGS_ALLOW_UNFREE",
    "NIXPKGS_ALLOW_BROKEN",
    "NIXPKGS_ALLOW_INSECURE",
    "NIXPKGS_ALLOW_UNSUPPORTED_SYSTEM",
];

/// The scalar naming the Nix in use.
pub(crate) const NIX: &str = "nix";
/// Its value when no `nix` is on PATH.
pub(crate) const NIX_MISSING: &str = "missing";

/// The non-file inputs of the fingerprint, cheap to compute.
pub(crate) fn scalars(nixpkgs_override: Option<&str>) -> BTreeMap<String, String> {
    let mut scalars = BTreeMap::from([
        (
            "nixpy version".to_owned(),
            env!("CARGO_PKG_VERSION").to_owned(),
        ),
        ("system".to_owned(), flake::current_system()),
        (
            "nixpkgs override".to_owned(),
            nixpkgs_override.unwrap_or_default().to_owned(),
        ),
        (
            NIX.to_owned(),
            nix::identity().unwrap_or_else(|| NIX_MISSING.to_owned()),
        ),
    ]);
    for name in NIXPKGS_ALLOW_VARIABLES {
        scalars.insert(name.to_owned(), std::env::var(name).unwrap_or_default());
    }
    scalars
}
