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
    let gutter = line.to_string().len();
    format!(
        "{}:{line}:{col}: {message}\n{:gutter$} |\n{line} | {line_text}\n{:gutter$} | {}{}",
        path.display(),
        "",
        "",
        " ".repeat(col - 1),
        "^".repeat(width),
    )
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

    #[test]
    fn caret_sits_under_the_span() {
        let text = "packages = [\"ok\", \"b@d\"]\n";
        let start = text.find("\"b@d\"").unwrap();
        let out = render(Path::new("nixpy.toml"), text, start..start + 5, "bad name");
        assert!(out.starts_with("nixpy.toml:1:19: bad name"), "{out}");
        assert!(out.ends_with("  |                   ^^^^^"), "{out}");
    }
}
