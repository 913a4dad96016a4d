//! pip requirement files: `-r`/`-c` includes, comments, line continuations,
//! markers, `--hash`, index options, URL and path requirements.
//!
//! nixpy reads them itself (to fingerprint every included file, to report a
//! syntax error by file and line, and to check requirements against what Nix
//! provides) and hands the installer one normalised file with absolute paths.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::support::input_file;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requirement {
    /// The requirement as the installer should read it (paths made absolute,
    /// per-requirement options such as `--hash` kept).
    pub line: String,
    /// Normalised distribution name, when the requirement names one.
    pub name: Option<String>,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IndexOptions {
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    pub find_links: Vec<String>,
    pub no_index: bool,
    pub pre: bool,
}

impl IndexOptions {
    /// As command-line arguments, understood by both `uv pip` and `pip`.
    pub(crate) fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(url) = &self.index_url {
            args.extend(["--index-url".to_owned(), url.clone()]);
        }
        for url in &self.extra_index_urls {
            args.extend(["--extra-index-url".to_owned(), url.clone()]);
        }
        for link in &self.find_links {
            args.extend(["--find-links".to_owned(), link.clone()]);
        }
        if self.no_index {
            args.push("--no-index".to_owned());
        }
        if self.pre {
            args.push("--pre".to_owned());
        }
        args
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RequirementSet {
    /// Every file read, includes first-seen order, for the fingerprint.
    pub files: Vec<PathBuf>,
    /// The same files as their includes name them (absolute, symlinks not
    /// resolved): the links on the way are fingerprinted too.
    pub written: Vec<PathBuf>,
    pub requirements: Vec<Requirement>,
    pub constraints: Vec<Requirement>,
    pub index: IndexOptions,
    /// Local projects the requirements install (`-e ./lib`), with what in
    /// their metadata decides the resolution.
    pub local_projects: Vec<crate::project::local_project::LocalProject>,
    /// Every PEP 735 dependency group of the project (includes expanded),
    /// by normalised name: resolved with the requirements, installed when
    /// selected.
    pub groups: std::collections::BTreeMap<String, Vec<Requirement>>,
    /// The environment variables the files name as `${NAME}`: inputs too.
    pub variables: BTreeSet<String>,
}

impl RequirementSet {
    /// No requirement at all, in no group: no pip layer.
    pub(crate) fn is_empty(&self) -> bool {
        self.requirements.is_empty() && self.groups.values().all(Vec::is_empty)
    }

    /// The requirements with those of `groups` added (each once), and no
    /// groups left to select: what one resolution of a selection reads.
    pub(crate) fn with_groups(&self, groups: &[String]) -> RequirementSet {
        let mut set = RequirementSet {
            groups: std::collections::BTreeMap::new(),
            ..self.clone()
        };
        for name in groups {
            for requirement in self.groups.get(name).into_iter().flatten() {
                if !set.requirements.iter().any(|r| r.line == requirement.line) {
                    set.requirements.push(requirement.clone());
                }
            }
        }
        set
    }

    /// The groups' requirements, one `[group]` heading each, for keys.
    pub(crate) fn groups_text(&self) -> String {
        self.groups
            .iter()
            .map(|(name, list)| {
                let lines: String = list.iter().map(|r| format!("{}\n", r.line)).collect();
                format!("[{name}]\n{lines}")
            })
            .collect()
    }

    /// The normalised requirements file given to the installer.
    pub(crate) fn requirements_text(&self) -> String {
        self.requirements
            .iter()
            .map(|r| format!("{}\n", r.line))
            .collect()
    }

    /// `--hash` values the user wrote, by distribution name.
    pub(crate) fn user_hashes(&self) -> std::collections::HashMap<String, Vec<String>> {
        self.requirements
            .iter()
            .filter_map(|r| {
                let hashes: Vec<String> = r
                    .line
                    .split_whitespace()
                    .filter_map(|t| t.strip_prefix("--hash="))
                    .map(str::to_owned)
                    .collect();
                Some((r.name.clone()?, hashes)).filter(|(_, h)| !h.is_empty())
            })
            .collect()
    }

    pub(crate) fn constraints_text(&self) -> String {
        self.constraints
            .iter()
            .map(|r| format!("{}\n", r.line))
            .collect()
    }

    /// Requirements given as plain strings (pyproject dependencies).
    /// Each string's origin is its line in `origin_file`, found by looking
    /// for the quoted string after the previous one.
    pub(super) fn add_strings(
        &mut self,
        origin_file: &Path,
        base: &Path,
        lines: &[String],
    ) -> Result<()> {
        let source = input_file::read(origin_file)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        let mut from = 0;
        for text in lines {
            let found = [format!("\"{text}\""), format!("'{text}'")]
                .iter()
                .filter_map(|quoted| source[from..].find(quoted.as_str()))
                .min()
                .map(|i| from + i);
            if let Some(at) = found {
                from = at + 1;
            }
            let origin = Origin {
                file: origin_file.to_path_buf(),
                line: found.map_or(0, |at| source[..at].matches('\n').count() + 1),
            };
            let req = parse_requirement(text, base, &origin)?;
            self.requirements.push(req);
        }
        Ok(())
    }
}

/// Reads `files` and everything they include.
pub(crate) fn read_files(files: &[PathBuf]) -> Result<RequirementSet> {
    let mut set = RequirementSet::default();
    let mut stack = Vec::new();
    for file in files {
        read_file(file, Kind::Requirements, &mut set, &mut stack, None)?;
    }
    Ok(set)
}

/// How deep `-r`/`-c` includes may nest: far beyond any real project, and
/// far below what the stack holds (reading recurses).
const MAX_INCLUDE_DEPTH: usize = 100;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Requirements,
    Constraints,
}

fn read_file(
    path: &Path,
    kind: Kind,
    set: &mut RequirementSet,
    stack: &mut Vec<PathBuf>,
    from: Option<&Origin>,
) -> Result<()> {
    let canonical = path.canonicalize().map_err(|e| {
        let place = from.map(|o| format!("{o}: ")).unwrap_or_default();
        Error::new(format!(
            "{place}cannot open requirements file {}: {e}",
            path.display()
        ))
        .with_hint("create the file or fix the include path (relative to the including file)")
    })?;
    if stack.len() >= MAX_INCLUDE_DEPTH {
        let place = from.map(|o| format!("{o}: ")).unwrap_or_default();
        return Err(Error::new(format!(
            "{place}requirement files include each other more than {MAX_INCLUDE_DEPTH} deep (from {})",
            stack[0].display()
        ))
        .with_hint("include the files from one top-level file instead of each from the last"));
    }
    if stack.contains(&canonical) {
        let cycle: Vec<String> = stack
            .iter()
            .chain([&canonical])
            .map(|p| p.display().to_string())
            .collect();
        return Err(Error::new(format!(
            "requirement files include each other in a cycle: {}",
            cycle.join(" -> ")
        ))
        .with_hint("remove one of the -r/-c lines"));
    }
    if !set.files.contains(&canonical) {
        set.files.push(canonical.clone());
    }
    if canonical != path && !set.written.iter().any(|w| w == path) {
        set.written.push(path.to_path_buf());
    }
    let bytes = input_file::read(&canonical)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        Error::new(format!(
            "{}:{line}: the file is not valid UTF-8",
            canonical.display()
        ))
        .with_hint("requirement files must be UTF-8 text; re-save the file as UTF-8")
    })?;
    // A UTF-8 byte order mark, as Windows editors write: pip and uv skip it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let base = canonical.parent().unwrap_or(Path::new("/")).to_path_buf();
    stack.push(canonical.clone());
    for (line_no, line) in logical_lines(text) {
        let origin = Origin {
            file: canonical.clone(),
            line: line_no,
        };
        parse_line(&line, &base, kind, &origin, set, stack)?;
    }
    stack.pop();
    Ok(())
}

/// Joins `\` continuations and drops comments; yields (first line number, text).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if current.is_empty() {
            start = i + 1;
        }
        let line = strip_comment(raw);
        if let Some(stripped) = line.strip_suffix('\\') {
            current.push_str(stripped);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        let trimmed = current.trim();
        if !trimmed.is_empty() {
            out.push((start, trimmed.to_owned()));
        }
        current.clear();
    }
    if !current.trim().is_empty() {
        out.push((start, current.trim().to_owned()));
    }
    out
}

/// pip's rule: `#` starts a comment at the line start or after white space.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return line[..i].trim_end();
        }
    }
    line.trim_end()
}

fn syntax_error(origin: &Origin, message: impl std::fmt::Display) -> Error {
    Error::new(format!("{origin}: {message}"))
        .with_hint("see https://pip.pypa.io/en/stable/reference/requirements-file-format/")
}

/// Splits `--opt=value` or `--opt value` forms.
fn option_value<'a>(tokens: &[&'a str]) -> (&'a str, Option<&'a str>, usize) {
    let first = tokens[0];
    if let Some((opt, value)) = first.split_once('=') {
        if opt.starts_with("--") {
            return (opt, Some(value), 1);
        }
    }
    // Short options may be glued to their value: -rreqs.txt
    for short in ["-r", "-c", "-e", "-i", "-f"] {
        if first.len() > 2 && first.starts_with(short) && !first.starts_with("--") {
            return (short, Some(&first[2..]), 1);
        }
    }
    (first, tokens.get(1).copied(), 2)
}

/// `${NAME}` replaced by the variable's value where it is set, as pip and
/// uv do (NAME: capitals, digits, `_`); every name met goes into `used`
/// (unset ones too: setting one later changes the requirements).
fn expand_variables(line: &str, used: &mut BTreeSet<String>) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        if name_len > 0 && after[name_len..].starts_with('}') {
            let name = &after[..name_len];
            used.insert(name.to_owned());
            match std::env::var(name) {
                Ok(value) => out.push_str(&value),
                Err(_) => out.push_str(&rest[start..start + 3 + name_len]),
            }
            rest = &after[name_len + 1..];
        } else {
            out.push_str("${");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn parse_line(
    written: &str,
    base: &Path,
    kind: Kind,
    origin: &Origin,
    set: &mut RequirementSet,
    stack: &mut Vec<PathBuf>,
) -> Result<()> {
    let expanded = expand_variables(written, &mut set.variables);
    let line = expanded.as_str();
    let tokens: Vec<&str> = line.split_whitespace().collect();
    if !tokens[0].starts_with('-') {
        let mut req = parse_requirement(line, base, origin)?;
        // A URL or a name keeps its `${VAR}`s for the installer to expand:
        // a token in it never reaches nixpy.lock. A path is made absolute.
        if written != line && !is_local_path(line) {
            req.line = written.trim().to_owned();
        }
        match kind {
            Kind::Requirements => set.requirements.push(req),
            Kind::Constraints => set.constraints.push(req),
        }
        return Ok(());
    }
    let (opt, value, used) = option_value(&tokens);
    let needs_value =
        || value.ok_or_else(|| syntax_error(origin, format!("`{opt}` needs a value")));
    let no_extra = |used: usize| {
        if tokens.len() > used && !matches!(opt, "-e" | "--editable") {
            Err(syntax_error(
                origin,
                format!("unexpected `{}` after `{opt}`", tokens[used]),
            ))
        } else {
            Ok(())
        }
    };
    match opt {
        "-r" | "--requirement" | "-c" | "--constraint" => {
            let target = base.join(needs_value()?);
            no_extra(used)?;
            let inner = if matches!(opt, "-c" | "--constraint") {
                Kind::Constraints
            } else {
                kind
            };
            read_file(&target, inner, set, stack, Some(origin))
        }
        "-e" | "--editable" => {
            let target = needs_value()?;
            let rest = tokens[used.min(tokens.len())..].join(" ");
            let location = absolutize_location(target, base);
            let name = editable_name(&location);
            let line = if rest.is_empty() {
                format!("-e {location}")
            } else {
                format!("-e {location} {rest}")
            };
            set.requirements.push(Requirement {
                line,
                name,
                origin: origin.clone(),
            });
            Ok(())
        }
        "-i" | "--index-url" => {
            set.index.index_url = Some(needs_value()?.to_owned());
            no_extra(used)
        }
        "--extra-index-url" => {
            set.index.extra_index_urls.push(needs_value()?.to_owned());
            no_extra(used)
        }
        "-f" | "--find-links" => {
            set.index
                .find_links
                .push(absolutize_location(needs_value()?, base));
            no_extra(used)
        }
        "--no-index" => {
            set.index.no_index = true;
            no_extra(1)
        }
        "--pre" => {
            set.index.pre = true;
            no_extra(1)
        }
        // Accepted for compatibility; they do not change what gets installed.
        "--prefer-binary" | "--trusted-host" | "--only-binary" | "--no-binary"
        | "--use-feature" => Ok(()),
        other => Err(syntax_error(origin, format!("unknown option `{other}`"))),
    }
}

fn parse_requirement(text: &str, base: &Path, origin: &Origin) -> Result<Requirement> {
    // Per-requirement options (--hash=...) follow the requirement itself.
    let (spec, options) = match text.find(" --") {
        Some(i) => (text[..i].trim(), text[i..].trim()),
        None => (text.trim(), ""),
    };
    for option in options.split_whitespace() {
        if !(option.starts_with("--hash=")
            || option.starts_with("--config-settings")
            || option.starts_with("--global-option"))
        {
            return Err(syntax_error(
                origin,
                format!("unknown option `{option}` after a requirement"),
            ));
        }
        if let Some(hash) = option.strip_prefix("--hash=") {
            if !hash.split_once(':').is_some_and(|(alg, hex)| {
                !alg.is_empty() && !hex.is_empty() && hex.chars().all(|c| c.is_ascii_alphanumeric())
            }) {
                return Err(syntax_error(
                    origin,
                    format!("`{option}` is not of the form --hash=sha256:<hex>"),
                ));
            }
        }
    }
    let (line_spec, name) = if is_location(spec) {
        let location = absolutize_location(spec, base);
        let name = editable_name(&location);
        (location, name)
    } else {
        let parsed = parse_pep508(spec)
            .map_err(|why| syntax_error(origin, format!("invalid requirement `{spec}`: {why}")))?;
        (spec.to_owned(), Some(normalize_name(parsed.name.as_ref())))
    };
    let line = if options.is_empty() {
        line_spec
    } else {
        format!("{line_spec} {options}")
    };
    Ok(Requirement {
        line,
        name,
        origin: origin.clone(),
    })
}

/// Parses one PEP 508 requirement. pep508_rs 0.9 panics on a name that
/// ends in `-`, `_` or `.` before a specifier (`A-==0`), so names are checked
/// here first: PEP 508 wants them to start and end with a letter or digit.
pub(crate) fn parse_pep508(
    spec: &str,
) -> std::result::Result<pep508_rs::Requirement<pep508_rs::VerbatimUrl>, String> {
    let trimmed = spec.trim_start();
    let name_end = trimmed
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(trimmed.len());
    let name = &trimmed[..name_end];
    if name.is_empty()
        || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err(format!(
            "`{}` is not a valid distribution name (letters, digits, - _ . inside, a letter or digit at both ends)",
            crate::support::text::printable(name)
        ));
    }
    pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(spec)
        .map_err(|e| first_line(&e.to_string()).to_owned())
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// A requirement given as a path (made absolute by nixpy), not a URL.
fn is_local_path(spec: &str) -> bool {
    let spec = spec.trim_start();
    is_location(spec) && !spec.contains("://") && !spec.starts_with("file:")
}

/// A path or URL given instead of a name: `./pkg`, `/abs/x.whl`, `file:...`, `https://...`.
fn is_location(spec: &str) -> bool {
    spec.starts_with('.')
        || spec.starts_with('/')
        || spec.contains("://")
        || spec.starts_with("file:")
}

/// Relative paths become absolute so the installer can run from anywhere.
fn absolutize_location(location: &str, base: &Path) -> String {
    if location.contains("://") || location.starts_with("file:") {
        return location.to_owned();
    }
    let joined = if location.starts_with('/') {
        PathBuf::from(location)
    } else {
        normalize_lexically(&base.join(location))
    };
    let path = joined.as_os_str().as_encoded_bytes();
    // Installers read `#` and `?` in a location as URL syntax, and a
    // requirements file is UTF-8 text: such a path goes as a
    // percent-encoded file URL instead.
    match std::str::from_utf8(path) {
        Ok(text) if !text.contains(['#', '?']) => text.to_owned(),
        _ => file_url(path),
    }
}

/// `/a#b/c` -> `file:///a%23b/c`.
fn file_url(path: &[u8]) -> String {
    let mut url = String::from("file://");
    for &byte in path {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            url.push(byte as char);
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// Drops `.` and folds `..` without touching the file system (the path may
/// not exist yet, and symlinks in it are the user's business).
pub(super) fn normalize_lexically(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The distribution name of a local project or wheel, when the path says it.
fn editable_name(location: &str) -> Option<String> {
    let file = location.trim_end_matches('/').rsplit('/').next()?;
    if let Some(stem) = file.strip_suffix(".whl") {
        return stem.split('-').next().map(normalize_name);
    }
    if let Some(fragment) = location.split("#egg=").nth(1) {
        return Some(normalize_name(fragment));
    }
    None
}

/// PEP 503 normalisation: lowercase, runs of -_. become one -.
pub(crate) fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_dash {
                out.push('-');
            }
            last_dash = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_dash = false;
        }
    }
    out
}

/// A direct requirement that Nix already provides at a version it refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NixConflict {
    pub requirement: String,
    pub origin: Origin,
    pub name: String,
    pub nix_version: String,
}

/// Finds direct requirements whose version specifier excludes the version
/// Nix provides, among those whose environment markers select them for the
/// Nix interpreter (`python_version`, such as `3.11`, on this machine). A
/// marker nixpy cannot decide (the interpreter's full version, the
/// kernel's) leaves the question to the resolver, as do transitive
/// conflicts.
pub(crate) fn conflicts_with_nix(
    set: &RequirementSet,
    nix_provided: &[(String, String)],
    python_version: &str,
) -> Vec<NixConflict> {
    let markers = marker_environment(python_version);
    let mut conflicts = Vec::new();
    for req in set.requirements.iter().chain(&set.constraints) {
        let Some(name) = &req.name else { continue };
        let Some((_, nix_version)) = nix_provided.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let spec = req.line.split(" --").next().unwrap_or(&req.line);
        let Ok(parsed) = parse_pep508(spec) else {
            continue;
        };
        if parsed.marker.contents().is_some() {
            // As written: pep508_rs rewrites python_version markers as
            // python_full_version ranges.
            let decidable = !UNKNOWN_MARKERS.iter().any(|key| spec.contains(key));
            let selected = markers
                .as_ref()
                .is_some_and(|env| parsed.evaluate_markers(env, &[]));
            if !(decidable && selected) {
                continue;
            }
        }
        let Some(pep508_rs::VersionOrUrl::VersionSpecifier(specifiers)) = parsed.version_or_url
        else {
            continue;
        };
        let Ok(version) = pep440_rs::Version::from_str(nix_version) else {
            continue;
        };
        if !specifiers.contains(&version) {
            conflicts.push(NixConflict {
                requirement: spec.to_owned(),
                origin: req.origin.clone(),
                name: name.clone(),
                nix_version: nix_version.clone(),
            });
        }
    }
    conflicts
}

/// Marker variables whose value for the Nix interpreter nixpy does not
/// know without running it.
const UNKNOWN_MARKERS: [&str; 4] = [
    "python_full_version",
    "implementation_version",
    "platform_release",
    "platform_version",
];

/// The marker values of the Nix interpreter (CPython `python_version` on
/// this machine), for the variables nixpy knows.
fn marker_environment(python_version: &str) -> Option<pep508_rs::MarkerEnvironment> {
    let (system, sys_platform) = match std::env::consts::OS {
        "macos" => ("Darwin", "darwin"),
        "linux" => ("Linux", "linux"),
        other => (other, other),
    };
    let machine = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("macos", "aarch64") => "arm64",
        (_, arch) => arch,
    };
    let full_version = format!("{python_version}.0");
    pep508_rs::MarkerEnvironment::try_from(pep508_rs::MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: &full_version,
        os_name: "posix",
        platform_machine: machine,
        platform_python_implementation: "CPython",
        platform_release: "",
        platform_system: system,
        platform_version: "",
        python_full_version: &full_version,
        python_version,
        sys_platform,
    })
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_includes_comments_continuations_and_options() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().canonicalize().unwrap();
        write(&d, "dev.txt", "pytest>=7  # tests\n-c constraints.txt\n");
        write(&d, "constraints.txt", "urllib3<3\n");
        let main = write(
            &d,
            "requirements.txt",
            "# top\n--index-url https://pypi.example/simple\n-f ./wheels\nrequests>=2.31 \\\n    --hash=sha256:abc123\nrich ; python_version >= \"3.8\"\n-r dev.txt\n./localpkg\n-e ./editable\nfoo @ https://example.org/foo-1.0.tar.gz\n",
        );
        let set = read_files(&[main]).unwrap();
        assert_eq!(set.files.len(), 3);
        let lines: Vec<&str> = set.requirements.iter().map(|r| r.line.as_str()).collect();
        assert_eq!(lines[0], "requests>=2.31 --hash=sha256:abc123");
        assert_eq!(lines[1], "rich ; python_version >= \"3.8\"");
        assert_eq!(lines[2], "pytest>=7");
        assert_eq!(lines[3], format!("{}/localpkg", d.display()));
        assert_eq!(lines[4], format!("-e {}/editable", d.display()));
        assert_eq!(set.requirements[0].origin.line, 4);
        assert_eq!(set.requirements[0].name.as_deref(), Some("requests"));
        assert_eq!(set.constraints[0].line, "urllib3<3");
        assert_eq!(
            set.index.index_url.as_deref(),
            Some("https://pypi.example/simple")
        );
        assert_eq!(set.index.find_links, [format!("{}/wheels", d.display())]);
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let tmp = tempfile::tempdir().unwrap();
        let f = write(tmp.path(), "requirements.txt", "ok\nrequests>=>2\n");
        let err = read_files(&[f]).unwrap_err();
        assert!(
            err.message
                .contains("requirements.txt:2: invalid requirement `requests>=>2`"),
            "{}",
            err.message
        );
        let f = write(tmp.path(), "r2.txt", "--frobnicate\n");
        assert!(read_files(&[f])
            .unwrap_err()
            .message
            .contains("r2.txt:1: unknown option `--frobnicate`"));
    }

    #[test]
    fn include_cycles_and_missing_includes_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let a = write(tmp.path(), "a.txt", "-r b.txt\n");
        write(tmp.path(), "b.txt", "-r a.txt\n");
        assert!(read_files(&[a]).unwrap_err().message.contains("cycle"));
        let c = write(tmp.path(), "c.txt", "-r missing.txt\n");
        let err = read_files(&[c]).unwrap_err();
        assert!(
            err.message
                .contains("c.txt:1: cannot open requirements file"),
            "{}",
            err.message
        );
    }

    /// Issue 13, item 3: a very deep include chain is an error, not a
    /// stack overflow (it ended in SIGSEGV).
    #[test]
    fn a_very_deep_include_chain_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let depth = 150;
        for i in 0..depth {
            write(
                tmp.path(),
                &format!("r{i}.txt"),
                &format!("-r r{}.txt\n", i + 1),
            );
        }
        write(tmp.path(), &format!("r{depth}.txt"), "six\n");
        let err = read_files(&[tmp.path().join("r0.txt")]).unwrap_err();
        assert!(
            err.message
                .contains("r99.txt:1: requirement files include each other more than 100 deep"),
            "{}",
            err.message
        );
        assert!(err.hint.is_some());
        write(tmp.path(), "r99.txt", "six\n");
        assert!(
            read_files(&[tmp.path().join("r0.txt")]).is_ok(),
            "100 files deep is fine"
        );
    }

    #[test]
    fn non_utf8_is_reported_with_its_line() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("r.txt");
        std::fs::write(&p, b"ok\nbad\xff\n").unwrap();
        assert!(read_files(&[p])
            .unwrap_err()
            .message
            .contains("r.txt:2: the file is not valid UTF-8"));
    }

    #[test]
    fn locations_with_url_syntax_become_file_urls() {
        let base = Path::new("/tmp/a#b");
        assert_eq!(
            absolutize_location("./wheels", base),
            "file:///tmp/a%23b/wheels"
        );
        assert_eq!(
            absolutize_location("./wheels", Path::new("/tmp/a b")),
            "/tmp/a b/wheels"
        );
        assert_eq!(absolutize_location("/x?y", base), "file:///x%3Fy");
        let not_utf8 = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/caf\xe9"));
        assert_eq!(
            absolutize_location("./wheels", not_utf8),
            "file:///tmp/caf%E9/wheels"
        );
    }

    #[test]
    fn names_are_normalised() {
        assert_eq!(normalize_name("Foo__Bar.baz"), "foo-bar-baz");
    }

    #[test]
    fn conflicts_with_nix_name_both_sides() {
        let tmp = tempfile::tempdir().unwrap();
        let f = write(tmp.path(), "r.txt", "six>=2\nattrs>=20\n");
        let set = read_files(&[f]).unwrap();
        let nix = vec![
            ("six".to_owned(), "1.16.0".to_owned()),
            ("attrs".to_owned(), "23.2.0".to_owned()),
        ];
        let c = conflicts_with_nix(&set, &nix, "3.11");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].requirement, "six>=2");
        assert_eq!(c[0].nix_version, "1.16.0");
    }

    /// Issue 13, item 19: a requirement its markers leave out for the Nix
    /// interpreter is no conflict.
    #[test]
    fn conflicts_follow_environment_markers() {
        let tmp = tempfile::tempdir().unwrap();
        let f = write(
            tmp.path(),
            "r.txt",
            "six<1.10; python_version < \"3.0\"\nattrs<20; sys_platform == \"win32\"\nsix<1.12; python_version >= \"3.8\" and os_name == \"posix\"\nattrs<21; python_full_version < \"3.11.2\"\n",
        );
        let set = read_files(&[f]).unwrap();
        let nix = vec![
            ("six".to_owned(), "1.16.0".to_owned()),
            ("attrs".to_owned(), "23.2.0".to_owned()),
        ];
        let c = conflicts_with_nix(&set, &nix, "3.11");
        let found: Vec<&str> = c.iter().map(|c| c.requirement.as_str()).collect();
        assert_eq!(
            found,
            ["six<1.12; python_version >= \"3.8\" and os_name == \"posix\""]
        );
    }
}
