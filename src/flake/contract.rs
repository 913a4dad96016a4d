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

/// The generated flake's output with the template's name lookup:
/// `names SET PATHS` gives `[{status, depth, siblings}]` for "nixpkgs" or
/// "python" (the interpreter's package set).
pub(crate) const NAMES_OUTPUT: &str = "nixpy.names";

/// Each marker is followed by one line of JSON (or, for a refusal, the
/// reason), as the error's message or as error context that Nix prints with
/// `--show-trace`.
///
/// `{"total", "problems": [{"attr", "list", "set", "source", "status",
/// "at"}], "quoted"}`: every missing (`unknown`) or `removed` name of the
/// plan's lists; nixpkgs' removal note of `quoted` is the error's message.
pub(crate) const MARKER_NAMES: &str = "nixpy-names: ";
/// `<reason>` then nixpkgs' own message: check-meta refused a package
/// (through `config.handleEvalIssue`).
pub(crate) const MARKER_REFUSED: &str = "nixpy-refused: ";
/// `{"attr", "name", "list", "source", "module"}` (context): the listed
/// package being evaluated.
pub(crate) const MARKER_LISTED: &str = "nixpy-listed: ";
/// `{"file"}` (context): the nix-file (or module it imports) being evaluated.
pub(crate) const MARKER_MODULE: &str = "nixpy-module: ";
/// `{"file", "reason"}`: a nix-file nixpy cannot read.
pub(crate) const MARKER_NIX_FILE_SHAPE: &str = "nixpy-nix-file-shape: ";
/// `{"attr", "source"}`: `python` names a package that is not an interpreter.
pub(crate) const MARKER_NOT_PYTHON: &str = "nixpy-not-python: ";

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
    fn the_template_writes_every_marker() {
        for marker in [
            MARKER_NAMES,
            MARKER_REFUSED,
            MARKER_LISTED,
            MARKER_MODULE,
            MARKER_NIX_FILE_SHAPE,
            MARKER_NOT_PYTHON,
        ] {
            assert!(
                SHELL_TEMPLATE.contains(&format!("\"{marker}")),
                "shells/default.nix does not write {marker:?}"
            );
        }
    }
}
