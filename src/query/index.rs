//! Every package of the project's pinned nixpkgs (or of its interpreter's
//! package set) with its version and description: what `nixpy search`
//! indexes, once per pinned revision. Real nixpkgs is large, so the
//! evaluation reports its progress (`builtins.trace`) as it goes.

use std::path::Path;

use serde::Deserialize;

use super::package_set::prelude;
use crate::error::{Error, Result};
use crate::flake::ShellPlan;
use crate::nix::Nix;

/// Which package set to index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetChoice {
    /// nixpkgs' top level, with the sets it recurses into (as `nix search`
    /// does), less the Python package sets.
    Nixpkgs,
    /// The project interpreter's package set (`python3.pkgs`).
    Python,
}

/// One package: its attribute path in the set, version and description.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct IndexEntry {
    #[serde(rename = "a")]
    pub attr: String,
    #[serde(rename = "v")]
    pub version: String,
    #[serde(rename = "d")]
    pub description: String,
}

/// The trace line an evaluation writes every so often: `done total`.
const PROGRESS: &str = "nixpy-progress ";

/// Evaluates the index through the generated flake in `flake_dir`;
/// `on_progress(done, total)` counts the top-level names looked at.
pub(crate) fn evaluate_index(
    nix: &Nix,
    flake_dir: &Path,
    plan: &ShellPlan,
    choice: SetChoice,
    on_progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<IndexEntry>> {
    let expr = index_expr(flake_dir, plan, choice);
    let mut on_line = |line: &str| {
        if let Some((done, total)) = progress_of(line) {
            on_progress(done, total);
        }
    };
    let value = nix.eval_json_reporting("index the packages", &expr, &mut on_line)?;
    serde_json::from_value(value).map_err(|e| {
        Error::new(format!(
            "unexpected answer while indexing the packages: {e}"
        ))
    })
}

/// `trace: nixpy-progress 500 21000` -> (500, 21000).
fn progress_of(line: &str) -> Option<(usize, usize)> {
    let rest = &line[line.find(PROGRESS)? + PROGRESS.len()..];
    let mut numbers = rest.split_whitespace().map(str::parse::<usize>);
    Some((numbers.next()?.ok()?, numbers.next()?.ok()?))
}

/// Walks the set as `nix search` does (derivations, and the sets marked
/// `recurseForDerivations`, two levels deep), guarding every value: a name
/// that throws (a removed alias) or is not a package is left out.
fn index_expr(flake_dir: &Path, plan: &ShellPlan, choice: SetChoice) -> String {
    let python = matches!(choice, SetChoice::Python);
    format!(
        "{prelude}let \
           interpreter = at pkgs plan.python; \
           set = if {python} then (if interpreter == null then {{ }} else (try interpreter.pkgs)) else pkgs; \
           skip = name: !{python} && builtins.match \"python[0-9]*Packages\" name != null; \
           text = v: if builtins.isString v then v else \"\"; \
           field = f: let r = builtins.tryEval (text (f null)); in if r.success then r.value else \"\"; \
           entry = path: v: {{ \
             a = path; \
             v = field (_: if v ? version then v.version \
                           else let n = v.name or null; in if builtins.isString n then (builtins.parseDrvName n).version else \"\"); \
             d = field (_: if v ? meta && builtins.isAttrs v.meta then (v.meta.description or \"\") else \"\"); \
           }}; \
           visit = prefix: depth: parent: name: \
             let r = builtins.tryEval parent.${{name}}; v = r.value; path = prefix + name; in \
             if !r.success || !(builtins.isAttrs v) then [ ] \
             else if (try (v.type or null)) == \"derivation\" then [ (entry path v) ] \
             else if depth < 2 && (try (v.recurseForDerivations or false)) == true \
               then builtins.concatMap (visit (path + \".\") (depth + 1) v) (builtins.attrNames v) \
             else [ ]; \
           names = if builtins.isAttrs set then builtins.filter (n: !(skip n)) (builtins.attrNames set) else [ ]; \
           total = builtins.length names; \
           step = if total < 20 then 1 else total / 20; \
         in builtins.concatLists (builtins.genList (i: \
           let found = visit \"\" 0 set (builtins.elemAt names i); in \
           if i - (i / step) * step == 0 \
           then builtins.trace \"nixpy-progress ${{toString i}} ${{toString total}}\" found \
           else found) total)",
        prelude = prelude(flake_dir, plan),
        python = if python { "true" } else { "false" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expression_traces_what_is_read() {
        let m = crate::project::manifest::parse(
            Path::new("/p/nixpy.toml"),
            crate::project::manifest::ManifestKind::NixpyToml,
            "",
        )
        .unwrap();
        let plan = ShellPlan::new(&m, &m.nixpkgs, false);
        let expr = index_expr(Path::new("/c/flake"), &plan, SetChoice::Nixpkgs);
        assert!(
            expr.contains(&format!("builtins.trace \"{PROGRESS}${{toString i}}")),
            "{expr}"
        );
    }

    #[test]
    fn progress_lines_are_read() {
        assert_eq!(
            progress_of("trace: nixpy-progress 500 21000"),
            Some((500, 21000))
        );
        assert_eq!(progress_of("warning: something else"), None);
    }
}
