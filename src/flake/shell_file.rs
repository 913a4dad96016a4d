//! The shell file: the environment nixpy keeps of a Nix shell (its
//! [`ShellEnv`]), as nixpy writes it into the store (`nixpy-shell.json`).
//!
//! The environment file `print-dev-env` builds is Nix's own (made by a
//! `get-env.sh` that changes between Nix versions), so its store path
//! differs between versions for the same shell. The shell file holds only
//! what nixpy derived from it, with Nix references to exactly the store
//! paths it names: the same inputs give the same file, and the same
//! content-addressed store path, whichever Nix built the shell. One root
//! keeps its whole closure alive, `nix copy` pushes it, and a substituter
//! serves it without a signature (content-addressed paths need none).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ShellEnv;
use crate::error::{Error, Result};

/// The file's store name.
pub(crate) const SHELL_FILE_NAME: &str = "nixpy-shell.json";

/// Raised whenever the meaning of the file changes; a file of another
/// format is not used (the shell is built again).
const SHELL_FILE_FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct ShellFile {
    format: u32,
    #[serde(flatten)]
    env: ShellEnv,
}

/// The file's text: the same environment always gives the same bytes
/// (fields in a fixed order, variables sorted).
pub(crate) fn render(env: &ShellEnv) -> String {
    let file = ShellFile {
        format: SHELL_FILE_FORMAT,
        env: env.clone(),
    };
    let mut text = serde_json::to_string_pretty(&file).expect("the shell serialises");
    text.push('\n');
    text
}

pub(crate) fn parse(text: &str) -> Result<ShellEnv> {
    #[derive(Deserialize)]
    struct Format {
        format: u32,
    }
    let format: Format = serde_json::from_str(text)
        .map_err(|e| Error::new(format!("not a shell file of nixpy's: {e}")))?;
    if format.format != SHELL_FILE_FORMAT {
        return Err(Error::new(format!(
            "a shell file of format {}, this nixpy reads format {SHELL_FILE_FORMAT}",
            format.format
        )));
    }
    let file: ShellFile = serde_json::from_str(text)
        .map_err(|e| Error::new(format!("unreadable shell file: {e}")))?;
    Ok(file.env)
}

/// The shell file at `store_path`.
pub(crate) fn read(store_path: &str) -> Result<ShellEnv> {
    let text = std::fs::read_to_string(store_path)
        .map_err(|e| Error::io("read", Path::new(store_path), e))?;
    parse(&text).map_err(|e| Error::new(format!("{store_path}: {}", e.message)))
}

/// The store paths among `candidates` that `text` names (by their hash,
/// as Nix finds references): the references the file must carry.
pub(crate) fn references<'a>(text: &str, candidates: &'a [String]) -> Vec<&'a str> {
    candidates
        .iter()
        .map(String::as_str)
        .filter(|path| hash_part(path).is_some_and(|hash| text.contains(hash)))
        .collect()
}

/// `/nix/store/<hash>-name` -> `<hash>`.
fn hash_part(store_path: &str) -> Option<&str> {
    let base = store_path.rsplit('/').next()?;
    let (hash, _) = base.split_once('-')?;
    (hash.len() == 32).then_some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> ShellEnv {
        ShellEnv {
            vars: [
                ("B".to_owned(), "2".to_owned()),
                ("A".to_owned(), "1".to_owned()),
            ]
            .into(),
            path: vec!["/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-hello/bin".into()],
            python: "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-python3/bin/python3".into(),
            ..ShellEnv::default()
        }
    }

    #[test]
    fn the_file_round_trips_and_renders_the_same_every_time() {
        let text = render(&env());
        assert_eq!(parse(&text).unwrap(), env());
        assert_eq!(render(&parse(&text).unwrap()), text);
        assert!(text.find("\"A\"").unwrap() < text.find("\"B\"").unwrap());
    }

    #[test]
    fn another_format_is_refused() {
        let text = render(&env()).replace("\"format\": 1", "\"format\": 99");
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("format 99"), "{}", err.message);
        assert!(
            parse("{\"variables\": {}}").is_err(),
            "Nix's own file is not one"
        );
    }

    #[test]
    fn references_are_the_candidates_the_text_names() {
        let candidates = vec![
            "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-hello".to_owned(),
            "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-python3".to_owned(),
            "/nix/store/cccccccccccccccccccccccccccccccc-get-env.sh".to_owned(),
        ];
        assert_eq!(
            references(&render(&env()), &candidates),
            [candidates[0].as_str(), candidates[1].as_str()]
        );
    }
}
