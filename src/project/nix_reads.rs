//! What a nix-file reads, found without evaluating it: the paths nixpy can
//! fingerprint, and the reads it cannot see.
//!
//! Nix does not report the files an evaluation read (NixOS/nix#4420), so
//! nixpy reads the syntax. A path literal (`./common.nix`), and a path
//! built from literals only (`./. + "/x.nix"`), names a file nixpy stamps.
//! Anything computed at evaluation (`import ./${name}.nix`, `readFile f`,
//! `getEnv "X"`, an absolute path, `<nixpkgs>`) is reported with its
//! position, so the user learns that changing it will not rebuild.
//! Reads of the pinned nixpkgs (`pkgs.path`, `"${pkgs.hello}/bin"`) are
//! pinned by the lock and are not reported.

use std::ops::Range;
use std::path::{Path, PathBuf};

use rnix::ast::{self, BinOpKind, Expr, InterpolPart};
use rnix::SyntaxKind;
use rowan::ast::AstNode;

use super::requirements::normalize_lexically;

/// The builtins that read a file or folder named by their (first) argument.
const PATH_READERS: &[&str] = &[
    "import",
    "scopedImport",
    "readFile",
    "readDir",
    "readFileType",
    "pathExists",
    "filterSource",
    "path",
    "hashFile",
];

/// Names whose values come from the pinned nixpkgs (or the template), so
/// a read through them is pinned by nixpy.lock.
const PINNED_ROOTS: &[&str] = &[
    "pkgs", "lib", "config", "options", "builtins", "toString", "stdenv",
];

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct NixReads {
    /// Files and folders in the project the file reads, absolute (folded
    /// lexically, as Nix folds path literals).
    pub paths: Vec<PathBuf>,
    /// Reads nixpkgs cannot see ahead of evaluation, with their positions.
    pub untracked: Vec<Untracked>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Untracked {
    pub span: Range<usize>,
    pub what: String,
    pub hint: &'static str,
}

const FILE_HINT: &str = "name the file with a path literal (./file.nix), or run `nixpy run --refresh -- ...` after changing it";
const ENV_HINT: &str = "keep the value in a file of the project and read that instead, or run `nixpy run --refresh -- ...` after changing the variable";

/// What the nix-file `text` in the folder `dir` reads (`text` parses).
pub(crate) fn reads(dir: &Path, text: &str) -> NixReads {
    let root = rnix::Root::parse(text).tree();
    let mut found = NixReads::default();
    for node in root.syntax().descendants() {
        let span = usize::from(node.text_range().start())..usize::from(node.text_range().end());
        if let Some(path) = ast::Path::cast(node.clone()) {
            match literal_path(dir, &path) {
                Some(Ok(p)) => found.paths.push(p),
                Some(Err(what)) => found.untracked.push(Untracked {
                    span,
                    what,
                    hint: FILE_HINT,
                }),
                None => {}
            }
        } else if let Some(binop) = ast::BinOp::cast(node.clone()) {
            if is_outermost_addition(&binop) {
                match fold_addition(dir, &binop) {
                    Some(Some(p)) => found.paths.push(p),
                    Some(None) => found.untracked.push(Untracked {
                        span,
                        what: format!(
                            "the path `{}` is computed at evaluation",
                            first_line(&node.text().to_string())
                        ),
                        hint: FILE_HINT,
                    }),
                    None => {}
                }
            }
        } else if let Some(apply) = ast::Apply::cast(node) {
            if let Some((what, hint)) = untracked_call(&apply) {
                found.untracked.push(Untracked { span, what, hint });
            }
        }
    }
    found.paths.dedup();
    found
}

/// A path literal: `Ok` with the file for a project path, `Err` for one
/// nixpy cannot follow, `None` for none of its business.
fn literal_path(dir: &Path, path: &ast::Path) -> Option<Result<PathBuf, String>> {
    let text = path.syntax().text().to_string();
    if text.contains("${") {
        return Some(Err(format!("the path `{text}` is computed at evaluation")));
    }
    if text.starts_with("./") || text.starts_with("../") {
        return Some(Ok(normalize_lexically(&dir.join(&text))));
    }
    let why = if text.starts_with('<') {
        "is looked up on NIX_PATH"
    } else {
        "is outside the project"
    };
    Some(Err(format!("`{text}` {why}")))
}

/// `a + b + c` is parsed as `(a + b) + c`: only the outermost is folded.
fn is_outermost_addition(binop: &ast::BinOp) -> bool {
    binop.operator() == Some(BinOpKind::Add)
        && !binop
            .syntax()
            .parent()
            .and_then(ast::BinOp::cast)
            .is_some_and(|parent| parent.operator() == Some(BinOpKind::Add))
}

/// An addition starting with a project path literal: `Some(Some(path))`
/// when every later part is a plain string (`./. + "/x.nix"`),
/// `Some(None)` when a part is computed, `None` when it is no path at all.
fn fold_addition(dir: &Path, binop: &ast::BinOp) -> Option<Option<PathBuf>> {
    let mut parts = Vec::new();
    flatten_addition(&Expr::BinOp(binop.clone()), &mut parts);
    let Some(Expr::Path(first)) = parts.first() else {
        return None;
    };
    let Some(Ok(base)) = literal_path(dir, first) else {
        return None;
    };
    // Nix appends the strings to the path's text, then folds the result.
    let mut joined = base.into_os_string();
    for part in &parts[1..] {
        match plain_string(part) {
            Some(s) => joined.push(s),
            None => return Some(None),
        }
    }
    Some(Some(normalize_lexically(Path::new(&joined))))
}

fn flatten_addition(expr: &Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::BinOp(b) if b.operator() == Some(BinOpKind::Add) => {
            if let (Some(lhs), Some(rhs)) = (b.lhs(), b.rhs()) {
                flatten_addition(&lhs, out);
                flatten_addition(&rhs, out);
            }
        }
        Expr::Paren(p) => match p.expr() {
            Some(inner) => flatten_addition(&inner, out),
            None => out.push(expr.clone()),
        },
        other => out.push(other.clone()),
    }
}

/// The text of a string literal without interpolation.
fn plain_string(expr: &Expr) -> Option<String> {
    let Expr::Str(s) = expr else {
        return None;
    };
    let mut text = String::new();
    for part in s.normalized_parts() {
        match part {
            InterpolPart::Literal(t) => text.push_str(&t),
            InterpolPart::Interpolation(_) => return None,
        }
    }
    Some(text)
}

/// A call of a builtin that reads the file system or the environment with
/// an argument nixpy cannot follow: what it is, for the warning.
fn untracked_call(apply: &ast::Apply) -> Option<(String, &'static str)> {
    let name = builtin_name(&apply.lambda()?)?;
    let argument = apply.argument()?;
    if name == "getEnv" {
        let what = plain_string(&argument)
            .map(|var| format!("`getEnv \"{var}\"` reads the environment at evaluation"))
            .unwrap_or_else(|| "`getEnv` reads the environment at evaluation".to_owned());
        return Some((what, ENV_HINT));
    }
    if !PATH_READERS.contains(&name.as_str()) {
        return None;
    }
    if name == "readDir" {
        return Some((
            format!(
                "`readDir {}` lists a folder: nixpy follows files, not which files a folder holds",
                first_line(&argument.syntax().text().to_string())
            ),
            FILE_HINT,
        ));
    }
    // A path in the argument is reported (or followed) where it stands.
    let has_path = argument
        .syntax()
        .descendants()
        .any(|n| n.kind() == SyntaxKind::NODE_PATH);
    // Every name it uses (not attribute names: `pkgs.hello`) is pinned.
    let pinned = argument
        .syntax()
        .descendants()
        .filter(|n| {
            n.parent()
                .is_none_or(|p| p.kind() != SyntaxKind::NODE_ATTRPATH)
        })
        .filter_map(ast::Ident::cast)
        .all(|ident| PINNED_ROOTS.contains(&ident.to_string().as_str()));
    if has_path || pinned {
        return None;
    }
    Some((
        format!(
            "`{name}` reads `{}`, a path computed at evaluation",
            first_line(&argument.syntax().text().to_string())
        ),
        FILE_HINT,
    ))
}

/// `builtins.NAME` or a bare `NAME` (under `with builtins;`, or `import`).
fn builtin_name(function: &Expr) -> Option<String> {
    match function {
        Expr::Ident(ident) => Some(ident.to_string()),
        Expr::Select(select) => {
            let Some(Expr::Ident(root)) = select.expr() else {
                return None;
            };
            if root.to_string() != "builtins" {
                return None;
            }
            let attrs: Vec<ast::Attr> = select.attrpath()?.attrs().collect();
            match attrs.as_slice() {
                [ast::Attr::Ident(name)] => Some(name.to_string()),
                _ => None,
            }
        }
        Expr::Paren(p) => builtin_name(&p.expr()?),
        _ => None,
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let short: String = line.chars().take(60).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whats(text: &str) -> Vec<String> {
        reads(Path::new("/p/nix"), text)
            .untracked
            .into_iter()
            .map(|u| u.what)
            .collect()
    }

    #[test]
    fn literal_and_folded_paths_are_followed() {
        let found = reads(
            Path::new("/p/nix"),
            "{ pkgs, ... }: let a = import ./common.nix; b = import (./. + \"/x.nix\"); c = builtins.readFile (../data + \"/\" + \"list.txt\"); in [ ]",
        );
        assert_eq!(
            found.paths,
            [
                PathBuf::from("/p/nix/common.nix"),
                PathBuf::from("/p/nix/x.nix"),
                PathBuf::from("/p/nix"),
                PathBuf::from("/p/data/list.txt"),
                PathBuf::from("/p/data"),
            ]
        );
        assert!(found.untracked.is_empty(), "{:?}", found.untracked);
    }

    /// Issue 13, item 13: what evaluation reads besides static imports is
    /// reported with its position.
    #[test]
    fn computed_reads_are_reported() {
        let text = "{ pkgs, name, ... }: let\n  a = import (./. + \"/${name}.nix\");\n  b = builtins.readFile f;\n  c = builtins.getEnv \"TOKEN\";\n  d = import ./modules/${name}.nix;\n  e = import <nixpkgs> { };\n  g = /etc/hosts;\n  h = with builtins; pathExists (toString dir);\nin [ ]";
        let found = reads(Path::new("/p"), text);
        let positions: Vec<usize> = found
            .untracked
            .iter()
            .map(|u| crate::support::source_pos::line_col(text, u.span.start).0)
            .collect();
        assert_eq!(positions, [2, 3, 4, 5, 6, 7, 8], "{:?}", found.untracked);
        let what: Vec<&str> = found.untracked.iter().map(|u| u.what.as_str()).collect();
        assert!(what[0].contains("is computed at evaluation"), "{what:?}");
        assert!(what[1].contains("`readFile` reads `f`"), "{what:?}");
        assert!(what[2].contains("getEnv \"TOKEN\""), "{what:?}");
        assert!(what[3].contains("./modules/${name}.nix"), "{what:?}");
        assert!(what[4].contains("NIX_PATH"), "{what:?}");
        assert!(what[5].contains("outside the project"), "{what:?}");
        assert!(what[6].contains("`pathExists`"), "{what:?}");
        assert_eq!(
            whats("builtins.readDir ./plugins"),
            ["`readDir ./plugins` lists a folder: nixpy follows files, not which files a folder holds"]
        );
    }

    #[test]
    fn reads_of_the_pinned_nixpkgs_are_not_reported() {
        assert!(whats(
            "{ pkgs, lib, ... }: let a = import (pkgs.path + \"/nixos/lib\"); b = builtins.readFile \"${pkgs.hello}/bin/hello\"; c = lib.importJSON ./x.json; in [ ]"
        )
        .is_empty());
    }
}
