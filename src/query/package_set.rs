//! The start of every query: the project's package set, read through its
//! generated flake.

use std::path::Path;

use crate::flake::ShellPlan;
use crate::nix;

/// A `let` that binds, for the generated flake in `flake_dir`: `flake`,
/// `pkgs` (the package set the shell is built from: the flake's own
/// `legacyPackages` when it has them, with the project's config, else its
/// nixpkgs input's), `lib`, `plan` (plan.json), `at` (an attribute path in
/// a set, or null) and `try` (a value, or null when evaluating it throws).
pub(super) fn prelude(flake_dir: &Path, plan: &ShellPlan) -> String {
    let flake = nix::string_literal(&format!("path:{}", flake_dir.display()));
    let plan_file = nix::string_literal(&flake_dir.join("plan.json").display().to_string());
    let system = nix::string_literal(&plan.system);
    format!(
        "let flake = builtins.getFlake {flake}; system = {system}; \
         pkgs = flake.legacyPackages.${{system}} or flake.inputs.nixpkgs.legacyPackages.${{system}}; \
         lib = pkgs.lib; \
         plan = builtins.fromJSON (builtins.readFile (/. + {plan_file})); \
         try = v: let r = builtins.tryEval v; in if r.success then r.value else null; \
         at = set: path: try (lib.getAttrFromPath path set); \
         in "
    )
}
