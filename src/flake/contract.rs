//! The contract between nixpy and its shell template (`shells/default.nix`):
//! the template itself, the plan it reads, the facts it reports back through
//! the shell's variables, and the markers in its errors. Each name is one
//! constant here; the tests check that the template uses every one.

/// The shell template, shipped inside the binary (written as `shell.nix`).
pub(super) const SHELL_TEMPLATE: &str = include_str!("../../shells/default.nix");

/// The interpreter with the `python-packages` (also left in the shell's
/// variables, as `nix develop` would).
pub(super) const FACT_PYTHON: &str = "NIXPY_PYTHON";
pub(super) const FACT_PYTHON_VERSION: &str = "NIXPY_PYTHON_VERSION";
pub(super) const FACT_SITE_PACKAGES: &str = "NIXPY_SITE_PACKAGES";
/// The `libraries`, as a folder list for `LD_LIBRARY_PATH`.
pub(super) const FACT_LIBRARY_PATH: &str = "NIXPY_LIBRARY_PATH";
/// Nix's bashInteractive, which runs shell hooks.
pub(super) const FACT_BASH: &str = "NIXPY_BASH";
/// uv, when it installs the pip layer; empty otherwise.
pub(super) const FACT_UV: &str = "NIXPY_UV";
/// The base interpreter, unwrapped (`python.interpreter`).
pub(super) const FACT_BASE_PYTHON: &str = "NIXPY_BASE_PYTHON";
/// JSON: the Python modules that joined the interpreter because a listed
/// package is a Python application (its twin) or a module.
pub(super) const FACT_APP_MODULES: &str = "NIXPY_APP_MODULES";

/// Facts that are only reports: read, never exported to the command.
pub(super) const REPORTED_ONLY: [&str; 7] = [
    FACT_BASE_PYTHON,
    FACT_APP_MODULES,
    FACT_PYTHON_VERSION,
    FACT_SITE_PACKAGES,
    FACT_LIBRARY_PATH,
    FACT_BASH,
    FACT_UV,
];

/// `MARKER_UNKNOWN_ATTRIBUTE <attr> in <set> (listed in <file>)`: an
/// attribute path the plan names is not in its package set.
pub(crate) const MARKER_UNKNOWN_ATTRIBUTE: &str = "nixpy-unknown-attribute: ";
/// `MARKER_NIX_FILE_SHAPE <message>`: a nix-file gives no package list.
pub(crate) const MARKER_NIX_FILE_SHAPE: &str = "nixpy-nix-file-shape: ";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_sets_every_fact() {
        for fact in [FACT_PYTHON].iter().chain(&REPORTED_ONLY) {
            assert!(
                SHELL_TEMPLATE.contains(&format!("  {fact} = ")),
                "shells/default.nix does not set {fact}"
            );
        }
    }

    #[test]
    fn the_template_throws_every_marker() {
        for marker in [MARKER_UNKNOWN_ATTRIBUTE, MARKER_NIX_FILE_SHAPE] {
            assert!(
                SHELL_TEMPLATE.contains(&format!("throw \"{marker}")),
                "shells/default.nix does not throw {marker:?}"
            );
        }
    }
}
