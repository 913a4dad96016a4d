//! Checking the project's own Nix files (`nix-files`) before Nix runs, so a
//! syntax error is reported with its position and not as a Nix stack trace.

use std::path::Path;

use crate::error::{Error, Result};
use crate::support::source_pos;

/// Which of the three accepted shapes a file has, as far as syntax tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NixFileShape {
    /// `with pkgs; [ ffmpeg sox ]` or a plain list.
    List,
    /// `{ pkgs, ... }: [ ... ]` or `pkgs: [ ... ]`.
    Function,
    /// `{ pkgs, ... }: { home.packages = ...; }`, a home-manager style module.
    Module,
    /// Something else; Nix will decide (and nixpy reports what it got).
    Other,
}

pub(super) fn check(path: &Path, text: &str) -> Result<NixFileShape> {
    let parsed = rnix::Root::parse(text);
    if let Some(err) = parsed.errors().first() {
        let (message, span) = describe(err, text.len());
        return Err(Error::new(source_pos::render(path, text, span, &format!("Nix syntax error: {message}")))
            .with_hint("fix the file; nixpy accepts a list (`with pkgs; [ ffmpeg ]`), a function returning one, or a module setting home.packages"));
    }
    Ok(shape(&parsed.tree()))
}

/// Relative path literals (`./other.nix`, `../common`) in a file that
/// parses: the files a nix-file imports, which the environment depends on too.
pub(super) fn relative_paths(text: &str) -> Vec<String> {
    let parsed = rnix::Root::parse(text);
    parsed
        .syntax()
        .descendants()
        .filter(|node| node.kind() == rnix::SyntaxKind::NODE_PATH)
        .map(|node| node.text().to_string())
        .filter(|p| (p.starts_with("./") || p.starts_with("../")) && !p.contains("${"))
        .collect()
}

fn describe(err: &rnix::parser::ParseError, len: usize) -> (String, std::ops::Range<usize>) {
    use rnix::parser::ParseError as E;
    let range = |r: rnix::TextRange| usize::from(r.start())..usize::from(r.end());
    match err {
        E::Unexpected(r) => ("unexpected input".into(), range(*r)),
        E::UnexpectedExtra(r) => ("unexpected input after the expression".into(), range(*r)),
        E::UnexpectedWanted(got, r, wanted) => (
            format!("unexpected {got:?}, expected one of {wanted:?}"),
            range(*r),
        ),
        E::UnexpectedDoubleBind(r) => ("an attribute is bound twice".into(), range(*r)),
        E::DuplicatedArgs(r, name) => (format!("argument `{name}` is listed twice"), range(*r)),
        E::UnexpectedEOF => (
            "the file ends in the middle of an expression".into(),
            len..len,
        ),
        E::UnexpectedEOFWanted(wanted) => (
            format!("the file ends early; expected one of {wanted:?}"),
            len..len,
        ),
        E::RecursionLimitExceeded => ("the expression is nested too deeply".into(), 0..0),
        _ => (err.to_string(), 0..0),
    }
}

fn shape(root: &rnix::Root) -> NixFileShape {
    use rnix::ast::Expr;
    let Some(mut expr) = root.expr() else {
        return NixFileShape::Other;
    };
    let mut is_function = false;
    loop {
        expr = match expr {
            Expr::Lambda(l) => {
                is_function = true;
                match l.body() {
                    Some(b) => b,
                    None => return NixFileShape::Other,
                }
            }
            Expr::With(w) => match w.body() {
                Some(b) => b,
                None => return NixFileShape::Other,
            },
            Expr::LetIn(l) => match l.body() {
                Some(b) => b,
                None => return NixFileShape::Other,
            },
            Expr::Paren(p) => match p.expr() {
                Some(b) => b,
                None => return NixFileShape::Other,
            },
            Expr::List(_) if is_function => return NixFileShape::Function,
            Expr::List(_) => return NixFileShape::List,
            Expr::AttrSet(_) if is_function => return NixFileShape::Module,
            _ => return NixFileShape::Other,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_styles_are_recognised() {
        let p = Path::new("m.nix");
        assert_eq!(
            check(p, "with pkgs; [ ffmpeg sox ]").unwrap(),
            NixFileShape::List
        );
        assert_eq!(
            check(p, "{ pkgs, ... }: [ pkgs.jq ]").unwrap(),
            NixFileShape::Function
        );
        assert_eq!(
            check(
                p,
                "{ pkgs, ... }: { home.packages = with pkgs; [ hello ]; }"
            )
            .unwrap(),
            NixFileShape::Module
        );
        assert_eq!(
            check(p, "{ pkgs, lib, ... }: let x = 1; in with pkgs; [ hello ]").unwrap(),
            NixFileShape::Function
        );
    }

    #[test]
    fn relative_imports_are_found() {
        let text = "{ pkgs, ... }: let common = import ./common.nix; in { home.packages = common ++ [ (pkgs.callPackage ../tools { }) ]; src = /abs/x; }";
        assert_eq!(relative_paths(text), ["./common.nix", "../tools"]);
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = check(
            Path::new("modules/media.nix"),
            "{ pkgs, ... }:\n{ home.packages = [ pkgs.jq ;\n}\n",
        )
        .unwrap_err();
        assert!(
            err.message.starts_with("modules/media.nix:2:"),
            "{}",
            err.message
        );
        assert!(err.message.contains("Nix syntax error"), "{}", err.message);
    }
}
