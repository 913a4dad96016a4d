//! nixpkgs attribute paths such as `ffmpeg` or `llvmPackages.clang`.
//!
//! Paths reach Nix as JSON data, never as code, so validation is about
//! clear errors; it also keeps every path printable in any message.

use std::fmt;

use crate::support::text::printable;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct AttrPath(Vec<String>);

impl AttrPath {
    pub(crate) fn parse(text: &str) -> Result<AttrPath, String> {
        if text.is_empty() {
            return Err("an attribute path cannot be empty".into());
        }
        let segments: Vec<String> = text.split('.').map(str::to_owned).collect();
        for segment in &segments {
            check_identifier(segment).map_err(|why| {
                format!(
                    "`{}` is not a nixpkgs attribute path: {why}",
                    printable(text)
                )
            })?;
        }
        Ok(AttrPath(segments))
    }

    pub(crate) fn segments(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

fn check_identifier(segment: &str) -> Result<(), String> {
    let mut chars = segment.chars();
    match chars.next() {
        None => return Err("it has an empty segment (two dots, or a dot at an end)".into()),
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        Some(c) => return Err(format!("a segment cannot start with {c:?}")),
    }
    if let Some(c) = chars.find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\'')))
    {
        return Err(format!(
            "{c:?} is not allowed (letters, digits, _, - and ' only)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths_split_into_segments() {
        let p = AttrPath::parse("llvmPackages.clang").unwrap();
        assert_eq!(p.segments(), ["llvmPackages", "clang"]);
        assert_eq!(p.to_string(), "llvmPackages.clang");
        assert!(AttrPath::parse("stdenv.cc.cc.lib").is_ok());
        assert!(AttrPath::parse("python312Packages.scikit-learn").is_ok());
        assert!(AttrPath::parse("_1password").is_ok());
    }

    #[test]
    fn metacharacters_and_empty_segments_are_refused() {
        for bad in [
            "",
            ".",
            "a.",
            ".a",
            "a..b",
            "ffmpeg; rm -rf /",
            "${builtins.abort \"x\"}",
            "a b",
            "a\"b",
            "a\\b",
            "a}",
            "a\nb",
            "1abc",
            "a/b",
            "''",
            "a$b",
            "a#b",
            "ümlaut",
        ] {
            assert!(AttrPath::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn errors_never_carry_raw_control_characters() {
        let err = AttrPath::parse("a\nb").unwrap_err();
        assert!(!err.contains('\n'), "{err}");
    }
}
