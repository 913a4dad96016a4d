//! The index file: a header, then `attr<TAB>version<TAB>description` lines.
//! Written whole (atomically) or not at all.

use std::path::Path;

use crate::error::Result;
use crate::support::atomic_write;

/// The first line; another first line is an index of another format.
const HEADER: &str = "# nixpy search index 1\n";

/// The index's lines (after the header), or `None` when there is no
/// usable index at `path`.
pub(crate) fn read_index(path: &Path) -> Option<String> {
    let mut text = std::fs::read_to_string(path).ok()?;
    if !text.starts_with(HEADER) {
        return None;
    }
    text.replace_range(..HEADER.len(), "");
    Some(text)
}

/// Writes `(attr, version, description)` rows; tabs and line breaks in a
/// description become spaces. Returns the index's lines, as [`read_index`]
/// would read them.
pub(crate) fn write_index<'a>(
    path: &Path,
    rows: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
) -> Result<String> {
    let mut text = String::from(HEADER);
    for (attr, version, description) in rows {
        text.push_str(&one_line(attr));
        text.push('\t');
        text.push_str(&one_line(version));
        text.push('\t');
        text.push_str(&one_line(description));
        text.push('\n');
    }
    atomic_write::write_file(path, text.as_bytes())?;
    text.replace_range(..HEADER.len(), "");
    Ok(text)
}

/// `text` on one line, its runs of white space one space each.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_round_trips_on_one_line_each() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("i.tsv");
        let written = write_index(
            &path,
            [("ffmpeg", "6.1", "Record,\tconvert\nand  stream")].into_iter(),
        )
        .unwrap();
        assert_eq!(written, "ffmpeg\t6.1\tRecord, convert and stream\n");
        assert_eq!(read_index(&path).unwrap(), written);
        std::fs::write(&path, "something else\n").unwrap();
        assert_eq!(read_index(&path), None, "another format is no index");
    }
}
