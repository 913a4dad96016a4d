//! Turning byte offsets into `file:line:column` with a caret under the span.

use std::path::Path;

/// 1-based line and column of `offset` in `text` (columns count characters).
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `path:line:col: message` followed by the offending line and a caret row.
pub(crate) fn render(
    path: &Path,
    text: &str,
    span: std::ops::Range<usize>,
    message: &str,
) -> String {
    let (line, col) = line_col(text, span.start);
    // The line is echoed to a terminal: control characters are escaped.
    let line_text = super::text::printable(text.lines().nth(line - 1).unwrap_or(""));
    let width = text
        .get(span.clone())
        .map(|s| s.lines().next().unwrap_or("").chars().count())
        .unwrap_or(1)
        .clamp(1, line_text.chars().count().saturating_sub(col - 1).max(1));
    let (shown, caret_col, width) = window(&line_text, col - 1, width);
    let gutter = line.to_string().len();
    format!(
        "{}:{line}:{col}: {message}\n{:gutter$} |\n{line} | {shown}\n{:gutter$} | {}{}",
        path.display(),
        "",
        "",
        " ".repeat(caret_col),
        "^".repeat(width),
    )
}

/// The most of a line a message echoes, in characters: a generated
/// one-line file of a megabyte must not make a megabyte of error.
const MAX_SHOWN: usize = 100;

/// The part of `line` around the span (`start`, `width` characters) that
/// fits [`MAX_SHOWN`], with `…` where it is cut; and where the span is in it.
fn window(line: &str, start: usize, width: usize) -> (String, usize, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= MAX_SHOWN {
        return (line.to_owned(), start, width);
    }
    let width = width.min(MAX_SHOWN / 2);
    let from = start
        .saturating_sub(MAX_SHOWN / 4)
        .min(chars.len() - MAX_SHOWN);
    let to = from + MAX_SHOWN;
    let mut shown = String::new();
    let mut caret = start - from;
    if from > 0 {
        shown.push('…');
        caret += 1;
    }
    shown.extend(&chars[from..to]);
    if to < chars.len() {
        shown.push('…');
    }
    (shown, caret, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nbb = \"x\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 11), (2, 6));
    }

    /// Issue 13, item 22: a 900 KB one-line manifest gave a 1.8 MB error;
    /// the echoed line is cut around the span.
    #[test]
    fn a_huge_line_is_cut_around_the_span() {
        let text = format!("packages = [{}\"b@d\"]\n", "\"x\", ".repeat(150_000));
        let start = text.find("\"b@d\"").unwrap();
        let out = render(Path::new("nixpy.toml"), &text, start..start + 5, "bad name");
        assert!(out.len() < 600, "{} bytes", out.len());
        let lines: Vec<&str> = out.lines().collect();
        let caret = lines[3].chars().position(|c| c == '^').unwrap();
        let under: String = lines[2].chars().skip(caret).take(5).collect();
        assert_eq!(under, "\"b@d\"", "{out}");
        assert!(lines[2].contains('…'));
        let out = render(Path::new("nixpy.toml"), &text, 0..text.len(), "whole file");
        assert!(out.len() < 600, "{} bytes", out.len());
    }

    #[test]
    fn caret_sits_under_the_span() {
        let text = "packages = [\"ok\", \"b@d\"]\n";
        let start = text.find("\"b@d\"").unwrap();
        let out = render(Path::new("nixpy.toml"), text, start..start + 5, "bad name");
        assert!(out.starts_with("nixpy.toml:1:19: bad name"), "{out}");
        assert!(out.ends_with("  |                   ^^^^^"), "{out}");
    }
}
