//! Parsing the command line, with nixpy's own message for the mistake a
//! person makes most: a misspelled flag ("did you mean `--refresh`?").

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::Parser;

use crate::cli::Cli;
use crate::error::Error;

/// The parsed command line; for `--help` and `--version` the text, and for
/// a mistake the error: clap's for most, nixpy's for an unknown flag.
pub(crate) fn parse(args: Vec<OsString>) -> Result<Cli, ParseFailure> {
    Cli::try_parse_from(args).map_err(|err| match unknown_flag(&err) {
        Some(own) => ParseFailure::Nixpy(own),
        None => ParseFailure::Clap(err),
    })
}

pub(crate) enum ParseFailure {
    Nixpy(Error),
    Clap(clap::Error),
}

/// An unknown flag as one `error:` with a `hint:` naming the flag meant.
fn unknown_flag(err: &clap::Error) -> Option<Error> {
    if err.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let text = |kind| match err.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(list)) => list.first().cloned(),
        _ => None,
    };
    let flag = text(ContextKind::InvalidArg)?;
    let hint = match text(ContextKind::SuggestedArg) {
        Some(meant) => format!("did you mean `{}`?", meant.trim_start_matches('\'').trim_end_matches('\'')),
        None => "`nixpy help` lists the commands, `nixpy COMMAND --help` their flags; a command's own flags go after `--` (`nixpy run -- CMD --flag`)".to_owned(),
    };
    Some(Error::new(format!("unknown flag `{flag}`")).with_hint(hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Cli, ParseFailure> {
        parse(line.split(' ').map(OsString::from).collect())
    }

    fn own_error(line: &str) -> Error {
        match parse_str(line) {
            Err(ParseFailure::Nixpy(err)) => err,
            Err(ParseFailure::Clap(err)) => panic!("clap's error for {line:?}: {err}"),
            Ok(_) => panic!("{line:?} parsed"),
        }
    }

    #[test]
    fn a_misspelled_flag_before_the_command_is_named() {
        let err = own_error("nixpy run --refesh -- x");
        assert_eq!(err.message, "unknown flag `--refesh`");
        assert_eq!(err.hint.as_deref(), Some("did you mean `--refresh`?"));
        assert_eq!(err.exit_code, 2);
        let err = own_error("nixpy lock --chek");
        assert_eq!(err.hint.as_deref(), Some("did you mean `--check`?"));
    }

    #[test]
    fn the_command_keeps_its_own_flags() {
        let Ok(cli) = parse_str("nixpy run python -c print(1)") else {
            panic!("did not parse");
        };
        let crate::cli::Command::Run(run) = cli.command else {
            panic!("not run");
        };
        assert_eq!(run.command, ["python", "-c", "print(1)"]);
        assert!(parse_str("nixpy run -- --weird").is_ok());
    }

    #[test]
    fn pip_takes_every_requirement_after_it() {
        let Ok(cli) = parse(
            ["nixpy", "add", "--pip", "A", "B<2"]
                .map(OsString::from)
                .to_vec(),
        ) else {
            panic!("did not parse");
        };
        let crate::cli::Command::Add(add) = cli.command else {
            panic!("not add");
        };
        assert_eq!(add.pip, ["A", "B<2"]);
        assert!(add.names.is_empty());
    }
}
