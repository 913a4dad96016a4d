//! Checking the project's own Nix files (`nix-files`) before Nix runs, so a
//! syntax error is reported with its position and not as a Nix stack trace;
//! and the package names a file mentions, found without evaluating it (when
//! Nix stops at one unknown name, nixpy checks them all at once).

use std::collections::HashSet;
use std::path::Path;

use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use crate::error::{Error, Result};
use crate::support::source_pos;

/// Which of the three accepted shapes a file has, as far as syntax tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NixFileShape {
    /// `with pkgs; [ ffmpeg sox ]` or a plain list.
    List,
    /// `{ pkgs, ... }: [ ... ]` or `pkgs: [ ... ]`.
    Function,
    /// `{ pkgs, ... }: { home.packages = ...; }`, a home-manager style module.
    Module,
    /// Something else; Nix will decide (and nixpy reports what it got).
    Other,
}

pub(crate) fn check(path: &Path, text: &str) -> Result<NixFileShape> {
    let parsed = rnix::Root::parse(text);
    if let Some(err) = parsed.errors().first() {
        let (message, span) = describe(err, text.len());
        return Err(Error::new(source_pos::render(path, text, span, &format!("Nix syntax error: {message}")))
            .with_hint("fix the file; nixpy accepts a list (`with pkgs; [ ffmpeg ]`), a function returning one, or a module setting home.packages"));
    }
    Ok(shape(&parsed.tree()))
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

/// One mention of a package: its attribute path in nixpkgs, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackageRef {
    pub path: Vec<String>,
    /// Byte offset in the file.
    pub offset: usize,
}

/// Names a nix-file may use without binding them: builtins and the module
/// arguments.
const NOT_PACKAGES: &[&str] = &[
    "true",
    "false",
    "null",
    "builtins",
    "import",
    "map",
    "toString",
    "throw",
    "abort",
    "derivation",
    "baseNameOf",
    "dirOf",
    "isNull",
    "removeAttrs",
    "placeholder",
    "fetchTarball",
    "fetchGit",
    "fetchurl",
    "scopedImport",
    "__curPos",
    "lib",
    "pkgs",
    "config",
    "options",
    "osConfig",
    "nixosConfig",
    "inputs",
    "modulesPath",
    "specialArgs",
];

pub(crate) fn package_refs(text: &str) -> Vec<PackageRef> {
    let parsed = rnix::Root::parse(text);
    if !parsed.errors().is_empty() {
        return Vec::new();
    }
    let root = parsed.tree();
    let bound = bound_names(root.syntax());
    let mut found = Vec::new();
    for node in root.syntax().descendants() {
        if let Some(with) = ast::With::cast(node.clone()) {
            let (Some(namespace), Some(body)) = (with.namespace(), with.body()) else {
                continue;
            };
            if let Some(prefix) = pkgs_path(&namespace) {
                list_entries(&body, &prefix, &bound, &mut found);
            }
        } else if let Some(select) = ast::Select::cast(node) {
            // A `with pkgs.set;` namespace is checked through its entries.
            let is_namespace = select
                .syntax()
                .parent()
                .and_then(ast::With::cast)
                .and_then(|w| w.namespace())
                .is_some_and(|n| n.syntax() == select.syntax());
            if select.default_expr().is_some() || is_namespace {
                continue;
            }
            let is_pkgs = matches!(select.expr(), Some(ast::Expr::Ident(i)) if ident_name(&i).as_deref() == Some("pkgs"));
            if let (true, Some(attrs)) = (is_pkgs, select.attrpath().and_then(|a| static_attrs(&a)))
            {
                found.push(PackageRef {
                    path: attrs,
                    offset: usize::from(select.syntax().text_range().start()),
                });
            }
        }
    }
    let mut seen = HashSet::new();
    found.retain(|r| seen.insert((r.path.clone(), r.offset)));
    found.sort_by_key(|r| r.offset);
    found
}

/// `pkgs` -> `[]`, `pkgs.python312Packages` -> `["python312Packages"]`.
fn pkgs_path(expr: &ast::Expr) -> Option<Vec<String>> {
    match expr {
        ast::Expr::Ident(i) if ident_name(i).as_deref() == Some("pkgs") => Some(Vec::new()),
        ast::Expr::Select(s) if s.default_expr().is_none() => match s.expr()? {
            ast::Expr::Ident(i) if ident_name(&i).as_deref() == Some("pkgs") => {
                static_attrs(&s.attrpath()?)
            }
            _ => None,
        },
        ast::Expr::Paren(p) => pkgs_path(&p.expr()?),
        _ => None,
    }
}

/// The entries of every list in `expr` (through `++`, parentheses, `if`,
/// `let`, and function applications such as `lib.optionals c [ ... ]`),
/// as package paths under `prefix`.
fn list_entries(
    expr: &ast::Expr,
    prefix: &[String],
    bound: &HashSet<String>,
    out: &mut Vec<PackageRef>,
) {
    match expr {
        ast::Expr::List(list) => {
            for item in list.items() {
                match &item {
                    ast::Expr::Ident(i) => {
                        if let Some(name) = ident_name(i) {
                            if !bound.contains(&name) && !NOT_PACKAGES.contains(&name.as_str()) {
                                let mut path = prefix.to_vec();
                                path.push(name);
                                out.push(PackageRef {
                                    path,
                                    offset: offset_of(i.syntax()),
                                });
                            }
                        }
                    }
                    ast::Expr::Select(s) if s.default_expr().is_none() => {
                        let base = match s.expr() {
                            Some(ast::Expr::Ident(i)) => ident_name(&i),
                            _ => None,
                        };
                        let attrs = s.attrpath().and_then(|a| static_attrs(&a));
                        if let (Some(base), Some(attrs)) = (base, attrs) {
                            // `pkgs.x` is found on its own; bound names are not packages.
                            if base != "pkgs"
                                && !bound.contains(&base)
                                && !NOT_PACKAGES.contains(&base.as_str())
                            {
                                let mut path = prefix.to_vec();
                                path.push(base);
                                path.extend(attrs);
                                out.push(PackageRef {
                                    path,
                                    offset: offset_of(s.syntax()),
                                });
                            }
                        }
                    }
                    other => list_entries(other, prefix, bound, out),
                }
            }
        }
        ast::Expr::Paren(p) => {
            if let Some(e) = p.expr() {
                list_entries(&e, prefix, bound, out);
            }
        }
        ast::Expr::BinOp(b) => {
            for e in [b.lhs(), b.rhs()].into_iter().flatten() {
                list_entries(&e, prefix, bound, out);
            }
        }
        ast::Expr::IfElse(i) => {
            for e in [i.body(), i.else_body()].into_iter().flatten() {
                list_entries(&e, prefix, bound, out);
            }
        }
        ast::Expr::LetIn(l) => {
            if let Some(e) = l.body() {
                list_entries(&e, prefix, bound, out);
            }
        }
        ast::Expr::Apply(a) => {
            for e in [a.lambda(), a.argument()].into_iter().flatten() {
                list_entries(&e, prefix, bound, out);
            }
        }
        ast::Expr::AttrSet(set) => {
            for entry in set.attrpath_values() {
                if let Some(e) = entry.value() {
                    list_entries(&e, prefix, bound, out);
                }
            }
        }
        _ => {}
    }
}

/// Every name the file binds (let, function arguments, rec sets): an
/// identifier in a package list with one of these names is not a package.
fn bound_names(root: &rnix::SyntaxNode) -> HashSet<String> {
    let mut names = HashSet::new();
    let entries_of = |entries: &mut dyn Iterator<Item = ast::Entry>,
                      names: &mut HashSet<String>| {
        for entry in entries {
            match entry {
                ast::Entry::AttrpathValue(v) => {
                    if let Some(ast::Attr::Ident(i)) = v.attrpath().and_then(|p| p.attrs().next()) {
                        names.extend(ident_name(&i));
                    }
                }
                ast::Entry::Inherit(inherit) => {
                    for attr in inherit.attrs() {
                        if let ast::Attr::Ident(i) = attr {
                            names.extend(ident_name(&i));
                        }
                    }
                }
            }
        }
    };
    for node in root.descendants() {
        if let Some(l) = ast::LetIn::cast(node.clone()) {
            entries_of(&mut l.entries(), &mut names);
        } else if let Some(l) = ast::LegacyLet::cast(node.clone()) {
            entries_of(&mut l.entries(), &mut names);
        } else if let Some(set) = ast::AttrSet::cast(node.clone()) {
            if set.rec_token().is_some() {
                entries_of(&mut set.entries(), &mut names);
            }
        } else if let Some(lambda) = ast::Lambda::cast(node) {
            match lambda.param() {
                Some(ast::Param::IdentParam(p)) => {
                    names.extend(p.ident().and_then(|i| ident_name(&i)));
                }
                Some(ast::Param::Pattern(p)) => {
                    for e in p.pat_entries() {
                        names.extend(e.ident().and_then(|i| ident_name(&i)));
                    }
                    names.extend(
                        p.pat_bind()
                            .and_then(|b| b.ident())
                            .and_then(|i| ident_name(&i)),
                    );
                }
                None => {}
            }
        }
    }
    names
}

fn static_attrs(path: &ast::Attrpath) -> Option<Vec<String>> {
    path.attrs()
        .map(|attr| match attr {
            ast::Attr::Ident(i) => ident_name(&i),
            ast::Attr::Str(s) => {
                let parts: Vec<_> = s.normalized_parts();
                match parts.as_slice() {
                    [ast::InterpolPart::Literal(text)] => Some(text.clone()),
                    [] => Some(String::new()),
                    _ => None,
                }
            }
            ast::Attr::Dynamic(_) => None,
        })
        .collect()
}

fn ident_name(ident: &ast::Ident) -> Option<String> {
    ident.ident_token().map(|t| t.text().to_owned())
}

fn offset_of(node: &rnix::SyntaxNode) -> usize {
    usize::from(node.text_range().start())
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

    fn paths(text: &str) -> Vec<String> {
        package_refs(text)
            .into_iter()
            .map(|r| r.path.join("."))
            .collect()
    }

    #[test]
    fn the_lessons_module_names_every_package() {
        let text = "{\n  home.packages = with pkgs; [\n    ffmpeg  # video\n    yt-dlp\n    python312Packages.pip\n  ];\n}\n";
        assert_eq!(paths(text), ["ffmpeg", "yt-dlp", "python312Packages.pip"]);
        let refs = package_refs(text);
        assert_eq!(&text[refs[1].offset..refs[1].offset + 6], "yt-dlp");
    }

    #[test]
    fn selections_lists_and_bound_names() {
        let text = r#"{ config, lib, pkgs, ... }:
let mine = pkgs.hello; in
{
  imports = [ ./media.nix ../common ];
  home.packages = [ pkgs.jq (pkgs.nosuch or null) mine ]
    ++ lib.optionals true (with pkgs; [ sox mine atom ])
    ++ (with pkgs.python312Packages; [ numpy ]);
}
"#;
        assert_eq!(
            paths(text),
            ["hello", "jq", "sox", "atom", "python312Packages.numpy"]
        );
    }

    #[test]
    fn files_that_do_not_parse_give_nothing() {
        assert!(package_refs("with pkgs; [ sox").is_empty());
    }
}
