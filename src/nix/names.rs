//! Names that cannot be used, all reported at once: unknown ones (no such
//! attribute) and removed ones (nixpkgs' `aliases.nix` turns them into a
//! `throw` with a note, which is quoted).

use serde::Deserialize;

use crate::error::Error;

/// The template's `nixpy-names:` JSON, or the same made by nixpy for the
/// names in nix-files.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct NameReport {
    /// How many problems there are (`problems` holds the first hundred).
    pub total: usize,
    pub problems: Vec<NameProblem>,
    /// The name whose note is `note`.
    #[serde(default)]
    pub quoted: Option<String>,
    /// nixpkgs' text for `quoted` (the error's message).
    #[serde(skip)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct NameProblem {
    /// The attribute path, dotted.
    pub attr: String,
    /// `packages`, `python-packages`, `libraries`, `python` or `nix-files`.
    pub list: String,
    /// `nixpkgs`, or the interpreter's package set (`python312.pkgs`).
    pub set: String,
    /// The file that lists it, relative to the project.
    pub source: String,
    /// `unknown` or `removed` (it throws).
    pub status: String,
    /// The part of the path that throws (`nodePackages` for `nodePackages.pnpm`).
    #[serde(default)]
    pub at: String,
    /// The line in `source`, when known.
    #[serde(default)]
    pub line: Option<usize>,
}

impl NameProblem {
    fn place(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.source),
            None => self.source.clone(),
        }
    }

    fn is_removed(&self) -> bool {
        self.status == "removed"
    }
}

impl NameReport {
    /// Adds `more` (problems found elsewhere, such as in nix-files).
    pub(crate) fn extend(&mut self, more: Vec<NameProblem>) {
        self.total += more.len();
        self.problems.extend(more);
    }

    /// One error for every problem.
    pub(crate) fn explain(&self) -> Error {
        let note = self
            .note
            .as_deref()
            .map(|n| n.trim().replace('\n', "\n    "));
        let describe = |p: &NameProblem| -> String {
            if !p.is_removed() {
                return format!("is not in {}", p.set);
            }
            let part = if p.at.is_empty() || p.at == p.attr {
                String::new()
            } else {
                format!(" (through `{}`)", p.at)
            };
            match (&note, self.quoted.as_deref() == Some(p.attr.as_str())) {
                (Some(note), true) => format!("is no longer usable{part}; nixpkgs says: {note}"),
                _ => format!("is no longer usable{part}: it throws an error in {}", p.set),
            }
        };
        let message = match self.problems.as_slice() {
            [one] if self.total <= 1 && !one.is_removed() => {
                format!(
                    "`{}` {} (listed in {})",
                    one.attr,
                    describe(one),
                    one.place()
                )
            }
            [one] if self.total <= 1 => {
                format!(
                    "`{}` (listed in {}) {}",
                    one.attr,
                    one.place(),
                    describe(one)
                )
            }
            problems => {
                let mut text = format!(
                    "{} names in the project's package lists cannot be used:",
                    self.total
                );
                let shown = &problems[..problems.len().min(SHOWN)];
                for p in shown {
                    text.push_str(&format!("\n  `{}` ({}) {}", p.attr, p.place(), describe(p)));
                }
                if self.total > shown.len() {
                    text.push_str(&format!("\n  ... and {} more", self.total - shown.len()));
                }
                text
            }
        };
        let unknown = self.problems.iter().any(|p| !p.is_removed());
        let removed = self.problems.iter().any(NameProblem::is_removed);
        let hint = match (unknown, removed) {
            (true, false) => {
                "check the names on search.nixos.org/packages; `nixpy add NAME` suggests close matches"
            }
            (false, true) => {
                "replace or remove what nixpkgs removed, as its note says (search.nixos.org/packages has the current names)"
            }
            _ => {
                "check the names on search.nixos.org/packages (`nixpy add NAME` suggests close matches); replace what nixpkgs removed, as its note says"
            }
        };
        Error::new(message).with_hint(hint)
    }
}

/// How many problems one error lists.
const SHOWN: usize = 20;

/// The line of the first `"name"` (or `'name'`) in a manifest's text.
pub(super) fn line_of_quoted(text: &str, name: &str) -> Option<usize> {
    let double = format!("\"{name}\"");
    let single = format!("'{name}'");
    text.lines()
        .position(|l| l.contains(&double) || l.contains(&single))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(json: &str) -> NameReport {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn one_unknown_name_keeps_its_short_form() {
        let mut r = report(
            r#"{"total":1,"problems":[{"attr":"nosuch","list":"packages","set":"nixpkgs","source":"nixpy.toml","status":"unknown","at":""}],"quoted":null}"#,
        );
        r.problems[0].line = Some(2);
        let e = r.explain();
        assert_eq!(
            e.message,
            "`nosuch` is not in nixpkgs (listed in nixpy.toml:2)"
        );
        assert!(e.hint.unwrap().contains("nixpy add"));
    }

    #[test]
    fn every_problem_at_once_with_nixpkgs_note_quoted() {
        let mut r = report(
            r#"{"total":3,"problems":[
            {"attr":"nodePackages.pnpm","list":"packages","set":"nixpkgs","source":"nixpy.toml","status":"removed","at":"nodePackages"},
            {"attr":"nosuch","list":"packages","set":"nixpkgs","source":"nixpy.toml","status":"unknown","at":""},
            {"attr":"atom","list":"packages","set":"nixpkgs","source":"nixpy.toml","status":"removed","at":"atom"}],
            "quoted":"nodePackages.pnpm"}"#,
        );
        r.note = Some(
            "nodePackages has been removed. Many packages are\nnow available at the top level.\n"
                .into(),
        );
        assert_eq!(
            r.explain().message,
            "3 names in the project's package lists cannot be used:\n  \
             `nodePackages.pnpm` (nixpy.toml) is no longer usable (through `nodePackages`); nixpkgs says: nodePackages has been removed. Many packages are\n    now available at the top level.\n  \
             `nosuch` (nixpy.toml) is not in nixpkgs\n  \
             `atom` (nixpy.toml) is no longer usable: it throws an error in nixpkgs"
        );
    }

    #[test]
    fn a_long_list_is_cut_and_more_can_join() {
        let one = r#"{"attr":"x","list":"packages","set":"nixpkgs","source":"nixpy.toml","status":"unknown","at":""}"#;
        let mut r = report(&format!(
            r#"{{"total":250,"problems":[{one},{one}],"quoted":null}}"#
        ));
        r.extend(vec![NameProblem {
            attr: "y".into(),
            source: "m.nix".into(),
            status: "unknown".into(),
            set: "nixpkgs".into(),
            line: Some(3),
            ..NameProblem::default()
        }]);
        let message = r.explain().message;
        assert!(message.starts_with("251 names"), "{message}");
        assert!(
            message.contains("\n  `y` (m.nix:3) is not in nixpkgs"),
            "{message}"
        );
        assert!(message.ends_with("\n  ... and 248 more"), "{message}");
    }

    #[test]
    fn manifest_lines_are_found() {
        let text = "python = \"python3\"\npackages = [\n  \"hello\",\n  'nosuch',\n]\n";
        assert_eq!(line_of_quoted(text, "nosuch"), Some(4));
        assert_eq!(line_of_quoted(text, "hello"), Some(3));
        assert_eq!(line_of_quoted(text, "absent"), None);
    }
}
