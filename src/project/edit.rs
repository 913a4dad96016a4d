//! Editing the manifest and requirement files in place (`nixpy add` and
//! `nixpy remove`), keeping the user's comments, order and formatting.

use toml_edit::{Array, DocumentMut, Item, TableLike, Value};

use crate::project::requirements::normalize_name;

/// Which list of the manifest an edit goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKey {
    Packages,
    PythonPackages,
}

impl ListKey {
    pub(crate) fn key(self) -> &'static str {
        match self {
            ListKey::Packages => "packages",
            ListKey::PythonPackages => "python-packages",
        }
    }
}

/// Where nixpy's keys live: the root of nixpy.toml, or `[tool.nixpy]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    Root,
    ToolNixpy,
}

/// nixpy's table: the document, or `tool.nixpy` in any TOML spelling
/// (`[tool.nixpy]`, `nixpy = { ... }` under `[tool]`, `tool = { ... }`).
fn nixpy_table(doc: &mut DocumentMut, location: Location) -> Result<&mut dyn TableLike, String> {
    match location {
        Location::Root => Ok(doc.as_table_mut()),
        Location::ToolNixpy => doc
            .get_mut("tool")
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.get_mut("nixpy"))
            .and_then(Item::as_table_like_mut)
            .ok_or_else(|| "pyproject.toml has no [tool.nixpy] table".to_owned()),
    }
}

/// Runs `edit` on the TOML document `text` and gives the document back as
/// text. toml_edit writes the lines it adds with LF, so a file whose every
/// line ends in CRLF (an editor on Windows) is edited with LF and given
/// back in CRLF.
fn edit_toml<T>(
    text: &str,
    edit: impl FnOnce(&mut DocumentMut) -> Result<T, String>,
) -> Result<(String, T), String> {
    let crlf = text.contains("\r\n") && text.matches('\n').count() == text.matches("\r\n").count();
    let text = if crlf {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.to_string())?;
    let touched = edit(&mut doc)?;
    let out = doc.to_string();
    Ok((if crlf { out.replace('\n', "\r\n") } else { out }, touched))
}

/// Adds `items` not already present; returns the ones added.
pub(crate) fn add_to_list(
    text: &str,
    location: Location,
    list: ListKey,
    items: &[String],
) -> Result<(String, Vec<String>), String> {
    edit_toml(text, |doc| {
        let table = nixpy_table(doc, location)?;
        let array = array_of(table, list.key())?;
        let mut added = Vec::new();
        for item in items {
            if !array.iter().any(|v| v.as_str() == Some(item)) {
                push_keeping_layout(array, item);
                added.push(item.clone());
            }
        }
        Ok(added)
    })
}

/// Removes `items`, every time each appears; returns the ones that were there.
pub(crate) fn remove_from_list(
    text: &str,
    location: Location,
    list: ListKey,
    items: &[String],
) -> Result<(String, Vec<String>), String> {
    edit_toml(text, |doc| {
        let table = nixpy_table(doc, location)?;
        let mut removed = Vec::new();
        if let Some(array) = table.get_mut(list.key()).and_then(Item::as_array_mut) {
            for item in items {
                loop {
                    let found = array.iter().position(|v| v.as_str() == Some(item));
                    let Some(index) = found else { break };
                    remove_keeping_layout(array, index);
                    if !removed.contains(item) {
                        removed.push(item.clone());
                    }
                }
            }
        }
        Ok(removed)
    })
}

fn array_of<'t>(table: &'t mut dyn TableLike, key: &str) -> Result<&'t mut Array, String> {
    if !table.contains_key(key) {
        table.insert(key, Item::Value(Value::Array(Array::new())));
    }
    table
        .get_mut(key)
        .and_then(Item::as_array_mut)
        .ok_or_else(|| format!("`{key}` is not a list"))
}

/// A requirements file as its entries: each a logical line (a line and
/// the lines its trailing `\` continues, such as `--hash` lines), with
/// their line endings as they are.
fn entries(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        at += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        if !content.ends_with('\\') {
            out.push(&text[start..at]);
            start = at;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// The file's line ending: CRLF when it has one, else LF.
fn line_ending(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// Adds requirement lines to a requirements file, replacing the entry for
/// the same distribution (so `add --pip 'rich>=13'` updates `rich`, with
/// its `--hash` continuation lines), in the file's own line endings.
pub(crate) fn add_requirements(text: &str, lines: &[(String, String)]) -> String {
    let eol = line_ending(text);
    let mut out: Vec<String> = entries(text).into_iter().map(str::to_owned).collect();
    if let Some(last) = out.last_mut() {
        if !last.ends_with('\n') {
            last.push_str(eol);
        }
    }
    for (name, line) in lines {
        let entry = format!("{line}{eol}");
        match out
            .iter()
            .position(|e| requirement_name(e).as_deref() == Some(name))
        {
            Some(i) => out[i] = entry,
            None => out.push(entry),
        }
    }
    out.concat()
}

/// Removes the entries naming `names` (with their continuation lines);
/// returns the new text and the names removed, each once.
pub(crate) fn remove_requirements(text: &str, names: &[String]) -> (String, Vec<String>) {
    let mut removed: Vec<String> = Vec::new();
    let kept: String = entries(text)
        .into_iter()
        .filter(|entry| match requirement_name(entry) {
            Some(n) if names.contains(&n) => {
                if !removed.contains(&n) {
                    removed.push(n);
                }
                false
            }
            _ => true,
        })
        .collect();
    (kept, removed)
}

/// The same, for `[project].dependencies` of pyproject.toml.
pub(crate) fn edit_pyproject_dependencies(
    text: &str,
    add: &[(String, String)],
    remove: &[String],
) -> Result<(String, Vec<String>), String> {
    edit_toml(text, |doc| {
        let project = doc
            .get_mut("project")
            .and_then(Item::as_table_like_mut)
            .ok_or_else(|| "pyproject.toml has no [project] table".to_owned())?;
        let deps = array_of(project, "dependencies")?;
        let mut touched = Vec::new();
        for name in remove {
            while let Some(i) = position_of(deps, name) {
                remove_keeping_layout(deps, i);
                if !touched.contains(name) {
                    touched.push(name.clone());
                }
            }
        }
        for (name, line) in add {
            match position_of(deps, name) {
                Some(i) => {
                    deps.replace(i, line.as_str());
                }
                None => push_keeping_layout(deps, line),
            }
            touched.push(name.clone());
        }
        Ok(touched)
    })
}

/// toml_edit keeps a comment that follows an item (`"jq",  # json`) in the
/// next item's prefix, or in the array's trailing text after the last item.
/// These two functions move that text so every comment stays with its item.
fn push_keeping_layout(array: &mut Array, item: &str) {
    let multiline = array.iter().any(|v| {
        v.decor()
            .prefix()
            .and_then(|p| p.as_str())
            .is_some_and(|p| p.contains('\n'))
    });
    if !multiline {
        array.push(item);
        return;
    }
    let indent = array
        .get(0)
        .and_then(|v| v.decor().prefix().and_then(|p| p.as_str()))
        .and_then(|p| p.rsplit('\n').next())
        .unwrap_or("  ")
        .to_owned();
    let trailing = array.trailing().as_str().unwrap_or("").to_owned();
    // Up to the last newline, the trailing text ends the last item's line.
    let (last_line_end, closing) = match trailing.rfind('\n') {
        Some(i) => (trailing[..=i].to_owned(), trailing[i + 1..].to_owned()),
        None => ("\n".to_owned(), trailing.clone()),
    };
    let mut value = toml_edit::Value::from(item);
    value
        .decor_mut()
        .set_prefix(format!("{last_line_end}{indent}"));
    value.decor_mut().set_suffix("");
    array.push_formatted(value);
    array.set_trailing(format!("\n{closing}"));
    array.set_trailing_comma(true);
}

fn remove_keeping_layout(array: &mut Array, index: usize) {
    let removed = array.remove(index);
    let prefix = removed
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or("")
        .to_owned();
    if index < array.len() {
        // The removed item's prefix carries the previous item's comment.
        if let Some(next) = array.get_mut(index) {
            next.decor_mut().set_prefix(prefix);
        }
    } else if let Some(i) = prefix.rfind('\n') {
        let trailing = array.trailing().as_str().unwrap_or("").to_owned();
        let closing = trailing.rsplit('\n').next().unwrap_or("").to_owned();
        array.set_trailing(format!("{}{closing}", &prefix[..=i]));
    }
}

fn position_of(deps: &Array, name: &str) -> Option<usize> {
    deps.iter()
        .position(|v| v.as_str().and_then(requirement_name).as_deref() == Some(name))
}

/// The normalised name a requirement line starts with, if it names one.
fn requirement_name(line: &str) -> Option<String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with('-') {
        return None;
    }
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(line.len());
    (end > 0).then(|| normalize_name(&line[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_keeps_comments_and_order() {
        let text = "# my project\npython = \"python3\"  # pinned\npackages = [\n  \"ffmpeg\", # video\n]\n";
        let (out, added) = add_to_list(
            text,
            Location::Root,
            ListKey::Packages,
            &["sox".into(), "ffmpeg".into()],
        )
        .unwrap();
        assert_eq!(added, ["sox"]);
        assert!(
            out.starts_with("# my project\npython = \"python3\"  # pinned\n"),
            "{out}"
        );
        assert!(out.contains("# video"), "{out}");
        assert!(out.contains("\"sox\""), "{out}");
        let (out, removed) =
            remove_from_list(&out, Location::Root, ListKey::Packages, &["ffmpeg".into()]).unwrap();
        assert_eq!(removed, ["ffmpeg"]);
        assert!(!out.contains("\"ffmpeg\""), "{out}");
    }

    #[test]
    fn missing_lists_are_created_in_tool_nixpy() {
        let text = "[project]\nname = \"x\"\n\n[tool.nixpy]\npython = \"python3\"\n";
        let (out, _) = add_to_list(
            text,
            Location::ToolNixpy,
            ListKey::PythonPackages,
            &["numpy".into()],
        )
        .unwrap();
        let doc: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(
            doc["tool"]["nixpy"]["python-packages"].as_array().unwrap()[0].as_str(),
            Some("numpy")
        );
    }

    #[test]
    fn comments_stay_with_their_items_in_multiline_lists() {
        let text = "packages = [\n  \"hello\", # greeting\n  \"jq\",    # json\n]\n";
        let (out, _) = add_to_list(
            text,
            Location::Root,
            ListKey::Packages,
            &["ffmpeg".into(), "sox".into()],
        )
        .unwrap();
        assert_eq!(out, "packages = [\n  \"hello\", # greeting\n  \"jq\",    # json\n  \"ffmpeg\",\n  \"sox\",\n]\n");
        let text = "packages = [\n  \"hello\", # greeting\n  \"jq\",    # json\n  \"sox\",\n]\n";
        let (out, _) =
            remove_from_list(text, Location::Root, ListKey::Packages, &["jq".into()]).unwrap();
        assert_eq!(
            out,
            "packages = [\n  \"hello\", # greeting\n  \"sox\",\n]\n"
        );
        let (out, _) =
            remove_from_list(text, Location::Root, ListKey::Packages, &["sox".into()]).unwrap();
        assert_eq!(
            out,
            "packages = [\n  \"hello\", # greeting\n  \"jq\",    # json\n]\n"
        );
    }

    #[test]
    fn one_line_lists_stay_tidy() {
        let (out, _) = remove_from_list(
            "p = [\"six\", \"numpy\"]\n",
            Location::Root,
            ListKey::Packages,
            &[],
        )
        .unwrap();
        assert_eq!(out, "p = [\"six\", \"numpy\"]\n");
        let (out, _) = remove_from_list(
            "packages = [\"six\", \"numpy\"]\n",
            Location::Root,
            ListKey::Packages,
            &["six".into()],
        )
        .unwrap();
        assert_eq!(out, "packages = [\"numpy\"]\n");
        let (out, _) = add_to_list(
            "packages = [\"six\"]\n",
            Location::Root,
            ListKey::Packages,
            &["jq".into()],
        )
        .unwrap();
        assert_eq!(out, "packages = [\"six\", \"jq\"]\n");
    }

    #[test]
    fn requirement_lines_are_replaced_by_name() {
        let text = "# deps\nrequests>=2\nRich==12 # old\n";
        let out = add_requirements(
            text,
            &[
                ("rich".into(), "rich>=13".into()),
                ("attrs".into(), "attrs".into()),
            ],
        );
        assert_eq!(out, "# deps\nrequests>=2\nrich>=13\nattrs\n");
        let (out, removed) = remove_requirements(&out, &["requests".into()]);
        assert_eq!(out, "# deps\nrich>=13\nattrs\n");
        assert_eq!(removed, ["requests"]);
    }

    /// Issue 13, item 20 (and issue 18): a pinned entry with `--hash`
    /// continuation lines is replaced and removed whole, CRLF endings stay.
    #[test]
    fn entries_with_continuation_lines_are_edited_whole() {
        let text = "--no-index\r\nrich==13.7.0 \\\r\n    --hash=sha256:aa \\\r\n    --hash=sha256:bb\r\nattrs\r\n";
        let (out, removed) = remove_requirements(text, &["rich".into()]);
        assert_eq!(out, "--no-index\r\nattrs\r\n");
        assert_eq!(removed, ["rich"]);
        let out = add_requirements(
            text,
            &[
                ("rich".into(), "rich>=14".into()),
                ("six".into(), "six".into()),
            ],
        );
        assert_eq!(out, "--no-index\r\nrich>=14\r\nattrs\r\nsix\r\n");
        // Without a final newline, and a duplicate removed once.
        let (out, removed) = remove_requirements("six\nattrs\nsix", &["six".into()]);
        assert_eq!((out.as_str(), removed), ("attrs\n", vec!["six".to_owned()]));
        assert_eq!(
            add_requirements("attrs", &[("six".into(), "six".into())]),
            "attrs\nsix\n"
        );
    }

    /// Issue 13, item 22: an inline `[tool]` table is edited (add said
    /// there was no [tool.nixpy]); a duplicated item is removed every
    /// time, so it does not stay while reported removed; CRLF stays CRLF.
    #[test]
    fn inline_tables_duplicates_and_crlf() {
        for text in [
            "[tool]\nnixpy = { packages = [\"hello\"] }\n",
            "tool = { nixpy = { packages = [\"hello\"] } }\n",
            "[tool]\nnixpy = { python = \"python3\" }\n",
        ] {
            let (out, added) =
                add_to_list(text, Location::ToolNixpy, ListKey::Packages, &["jq".into()]).unwrap();
            assert_eq!(added, ["jq"]);
            let doc: toml::Table = toml::from_str(&out).unwrap();
            let packages = doc["tool"]["nixpy"]["packages"].as_array().unwrap();
            assert_eq!(packages.last().unwrap().as_str(), Some("jq"), "{out}");
        }
        let (out, removed) = remove_from_list(
            "packages = [\"jq\", \"hello\", \"jq\"]\n",
            Location::Root,
            ListKey::Packages,
            &["jq".into()],
        )
        .unwrap();
        assert_eq!(
            (out.as_str(), removed),
            ("packages = [\"hello\"]\n", vec!["jq".to_owned()])
        );
        let crlf = "# tools\r\npackages = [\r\n  \"hello\",\r\n]\r\n";
        let (out, _) =
            add_to_list(crlf, Location::Root, ListKey::Packages, &["jq".into()]).unwrap();
        assert_eq!(
            out,
            "# tools\r\npackages = [\r\n  \"hello\",\r\n  \"jq\",\r\n]\r\n"
        );
        let (out, _) = edit_pyproject_dependencies(
            "[project]\r\nname = \"x\"\r\ndependencies = [\"six\", \"six\"]\r\n",
            &[("rich".into(), "rich".into())],
            &["six".into()],
        )
        .unwrap();
        assert_eq!(
            out,
            "[project]\r\nname = \"x\"\r\ndependencies = [\"rich\"]\r\n"
        );
    }

    #[test]
    fn pyproject_dependencies_are_edited() {
        let text = "[project]\nname = \"x\"\ndependencies = [\"requests>=2\"]\n";
        let (out, _) = edit_pyproject_dependencies(
            text,
            &[("rich".into(), "rich".into())],
            &["requests".into()],
        )
        .unwrap();
        let doc: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(doc["project"]["dependencies"].as_array().unwrap().len(), 1);
        assert_eq!(doc["project"]["dependencies"][0].as_str(), Some("rich"));
    }
}
