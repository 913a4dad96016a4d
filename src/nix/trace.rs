//! Reading an evaluation error out of Nix's stderr: the message, and the
//! `… context` lines of its trace (where nixpy's template puts its markers).
//!
//! Two layouts exist. Nix 2.8 to 2.12 print the message first and the
//! context lines after it, innermost first:
//!
//! ```text
//! error: MESSAGE
//!        continued
//!
//!        … CONTEXT (innermost)
//!        … CONTEXT
//! ```
//!
//! Nix 2.13 and later print a bare `error:`, the trace from the outermost
//! frame in, and the message last:
//!
//! ```text
//! error:
//!        … CONTEXT (outermost)
//!        … CONTEXT
//!
//!        error: MESSAGE
//!        continued
//! ```
//!
//! Both come with `--show-trace`; without it Nix 2.8 prints no context at all.

use super::output::strip_ansi;

/// One evaluation error, in a layout-independent form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NixError {
    /// The message, continuation lines de-indented.
    pub(super) message: String,
    /// The trace's context lines without their `… `, innermost first.
    pub(super) contexts: Vec<String>,
}

impl NixError {
    /// The first context line that starts with `marker`, innermost first;
    /// the rest of the line.
    pub(super) fn context(&self, marker: &str) -> Option<&str> {
        self.contexts
            .iter()
            .find_map(|c| c.strip_prefix(marker).map(str::trim))
    }
}

/// Nix indents continuation lines by this much (the width of `error: `).
const INDENT: usize = 7;

pub(super) fn parse(stderr: &str) -> Option<NixError> {
    let text = strip_ansi(stderr);
    let lines: Vec<&str> = text.lines().collect();
    if let Some(header) = lines.iter().position(|l| l.trim_end() == "error:") {
        // Nix 2.13+: the message is the last `error: ` line and what follows.
        let rest = &lines[header + 1..];
        let at = rest
            .iter()
            .rposition(|l| l.trim_start().starts_with("error: "));
        let (frames, message) = match at {
            Some(at) => (&rest[..at], message_from(&rest[at..])),
            None => (rest, String::new()),
        };
        let mut contexts: Vec<String> = frames.iter().filter_map(|l| context_of(l)).collect();
        contexts.reverse();
        return Some(NixError { message, contexts });
    }
    // Nix 2.8-2.12: the first `error: ` line, its continuation, then the trace.
    let start = lines.iter().position(|l| l.starts_with("error: "))?;
    let block = &lines[start..];
    let end = block
        .iter()
        .skip(1)
        .position(|l| is_context(l) || l.trim_start().starts_with("(use '--show-trace'"))
        .map_or(block.len(), |i| i + 1);
    let message = message_from(&block[..end]);
    let contexts = block[end..].iter().filter_map(|l| context_of(l)).collect();
    Some(NixError { message, contexts })
}

/// `error: first line` and its de-indented continuation, without trailing
/// blank lines.
fn message_from(lines: &[&str]) -> String {
    let Some((first, rest)) = lines.split_first() else {
        return String::new();
    };
    let first = first.trim_start();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let mut out = vec![first.trim_end().to_owned()];
    for line in rest {
        let indent = line.len() - line.trim_start_matches(' ').len();
        out.push(line[indent.min(INDENT)..].trim_end().to_owned());
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out.join("\n")
}

fn is_context(line: &str) -> bool {
    line.trim_start().starts_with("… ")
}

fn context_of(line: &str) -> Option<String> {
    line.trim_start()
        .strip_prefix("… ")
        .map(|c| c.trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nix 2.8 with --show-trace (as printed on the test machine).
    const NIX_2_8: &str = "warning: Git tree '/p' is dirty
error: nixpy-refused: unfree
       Refusing to evaluate package 'cuda_cudart-12.4.127' in /nix/store/x-source/pkgs.nix:343 because it has an unfree license (‘CUDA EULA’)
       a) To allow unfree packages for one invocation of the nix tools, set
            $ export NIXPKGS_ALLOW_UNFREE=1

       … while evaluating the attribute 'drvPath'

       at /nix/store/x-source/pkgs.nix:66:9:

           65|         meta = meta // { available = checkMeta.available attrs; position = position; };
           66|         drvPath = assert valid; drv.drvPath;
             |         ^

       … nixpy-listed: {\"attr\":\"torch\",\"list\":\"python-packages\",\"source\":\"nixpy.toml\"}

       … while evaluating 'listed'

       … nixpy-module: {\"file\":\"modules/ml.nix\"}
";

    /// Nix 2.18's layout of the same error.
    const NIX_2_18: &str = "error:
       … while calling the 'derivationStrict' builtin

         at /builtin/derivation.nix:9:12: (source not available)

       … nixpy-module: {\"file\":\"modules/ml.nix\"}

       … while evaluating attribute 'nativeBuildInputs' of derivation 'nixpy-shell'

         at /nix/store/x-source/pkgs.nix:403:7:

          402|       inherit name system shellHook buildInputs;
          403|       nativeBuildInputs = packages ++ nativeBuildInputs;
             |       ^

       … nixpy-listed: {\"attr\":\"torch\",\"list\":\"python-packages\",\"source\":\"nixpy.toml\"}

       … while calling the 'throw' builtin

         at /nix/store/y-shell.nix/shell.nix:30:53:

           29|       handleEvalIssue = reason: message: throw \"nixpy-refused: ${reason}\\n${message}\";
             |                                                     ^

       error: nixpy-refused: unfree
       Package ‘cuda_cudart-12.2.140’ in /nix/store/x-source/pkgs/development/cuda-modules/generic-builders/manifest.nix:371 has an unfree license (‘CUDA EULA’), refusing to evaluate.

       a) To temporarily allow unfree packages, you can use an environment variable
";

    #[test]
    fn nix_2_8_puts_the_message_first() {
        let e = parse(NIX_2_8).unwrap();
        assert!(
            e.message.starts_with(
                "nixpy-refused: unfree\nRefusing to evaluate package 'cuda_cudart-12.4.127'"
            ),
            "{}",
            e.message
        );
        assert!(
            e.message.ends_with("     $ export NIXPKGS_ALLOW_UNFREE=1"),
            "{:?}",
            e.message
        );
        assert_eq!(
            e.context("nixpy-listed: "),
            Some("{\"attr\":\"torch\",\"list\":\"python-packages\",\"source\":\"nixpy.toml\"}")
        );
        assert_eq!(e.contexts[0], "while evaluating the attribute 'drvPath'");
        assert_eq!(
            e.contexts.last().unwrap(),
            "nixpy-module: {\"file\":\"modules/ml.nix\"}"
        );
    }

    #[test]
    fn nix_2_18_puts_the_message_last_and_the_outermost_frame_first() {
        let e = parse(NIX_2_18).unwrap();
        assert!(
            e.message
                .starts_with("nixpy-refused: unfree\nPackage ‘cuda_cudart-12.2.140’ in "),
            "{}",
            e.message
        );
        assert!(e.message.ends_with("you can use an environment variable"));
        assert_eq!(
            e.context("nixpy-listed: "),
            Some("{\"attr\":\"torch\",\"list\":\"python-packages\",\"source\":\"nixpy.toml\"}")
        );
        // Innermost first, as with 2.8.
        assert_eq!(e.contexts[0], "while calling the 'throw' builtin");
        assert_eq!(
            e.contexts.last().unwrap(),
            "while calling the 'derivationStrict' builtin"
        );
    }

    #[test]
    fn a_plain_error_without_trace() {
        let e = parse("error: undefined variable 'nosuch'\n\n       at /p/m.nix:1:30:\n\n            1| [ nosuch ]\n(use '--show-trace' to show detailed location information)\n").unwrap();
        assert_eq!(
            e.message,
            "undefined variable 'nosuch'\n\nat /p/m.nix:1:30:\n\n     1| [ nosuch ]"
        );
        assert!(e.contexts.is_empty());
    }

    #[test]
    fn colours_and_missing_errors() {
        let e = parse("\u{1b}[31;1merror:\u{1b}[0m boom\n").unwrap();
        assert_eq!(e.message, "boom");
        assert!(parse("warning: nothing went wrong\n").is_none());
    }
}
