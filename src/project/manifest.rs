//! The project's manifest: `nixpy.toml`, or `[tool.nixpy]` in `pyproject.toml`.
//!
//! Parsing is strict (unknown keys and wrong types are errors) and every
//! error names the file, line and column with a caret under the value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::nixpkgs_config::{self, NixpkgsConfig, RawNixpkgsConfig};
use crate::error::{Error, Result};
use crate::project::attr_path::AttrPath;
use crate::support::text::printable;
use crate::support::{input_file, source_pos};

pub(crate) const DEFAULT_NIXPKGS: &str = "github:NixOS/nixpkgs/nixpkgs-unstable";
pub(crate) const DEFAULT_PYTHON: &str = "python3";
pub(super) const DEFAULT_LIBRARIES: [&str; 2] = ["stdenv.cc.cc.lib", "zlib"];
pub(crate) const DEFAULT_KEEP_GENERATIONS: u32 = 5;

/// The keys of a manifest, as written. `deny_unknown_fields` turns a typo
/// into an error that lists the valid keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawManifest {
    nixpkgs: Option<Spanned<String>>,
    python: Option<Spanned<String>>,
    packages: Option<Vec<Spanned<String>>>,
    python_packages: Option<Vec<Spanned<String>>>,
    nix_files: Option<Vec<Spanned<String>>>,
    env: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    shell_hook: Option<Spanned<String>>,
    requirements: Option<Vec<Spanned<String>>>,
    pip_extras: Option<Vec<Spanned<String>>>,
    installer: Option<Spanned<Installer>>,
    libraries: Option<Vec<Spanned<String>>>,
    app_modules: Option<Spanned<bool>>,
    substituters: Option<Vec<Spanned<String>>>,
    trusted_public_keys: Option<Vec<Spanned<String>>>,
    nixpkgs_config: Option<RawNixpkgsConfig>,
    keep_generations: Option<Spanned<i64>>,
    groups: Option<Vec<Spanned<String>>>,
    venv: Option<Spanned<RawVenv>>,
}

/// `venv = true | false | "path"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawVenv {
    On(bool),
    At(String),
}

/// Where the link to the project interpreter goes (key `venv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VenvLink {
    /// `venv = false`: no link (the interpreter is still made).
    Off,
    /// The link, absolute: `.venv` in the project folder by default.
    At(PathBuf),
}

/// The default place of the project interpreter's link.
pub(crate) const DEFAULT_VENV: &str = ".venv";

#[derive(Debug, Deserialize)]
struct RawPyproject {
    project: Option<RawProjectTable>,
    tool: Option<RawToolTable>,
}

#[derive(Debug, Deserialize)]
struct RawToolTable {
    nixpy: Option<RawManifest>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawProjectTable {
    dependencies: Option<Vec<String>>,
    optional_dependencies: Option<BTreeMap<String, Vec<String>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Installer {
    Auto,
    Uv,
    Pip,
}

impl Installer {
    /// The installer actually used: `auto` means uv.
    pub(crate) fn effective(self) -> Installer {
        match self {
            Installer::Auto | Installer::Uv => Installer::Uv,
            Installer::Pip => Installer::Pip,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Installer::Auto => "auto",
            Installer::Uv => "uv",
            Installer::Pip => "pip",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ManifestKind {
    NixpyToml,
    Pyproject,
}

/// A validated manifest: every value checked, every path absolute.
#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    pub path: PathBuf,
    pub root: PathBuf,
    pub nixpkgs: String,
    pub python: AttrPath,
    pub packages: Vec<AttrPath>,
    pub python_packages: Vec<AttrPath>,
    pub nix_files: Vec<PathBuf>,
    pub env: Vec<(String, String)>,
    pub shell_hook: String,
    /// `requirements = [...]` when given; `None` means "use the default".
    pub requirements: Option<Vec<PathBuf>>,
    pub pip_extras: Vec<String>,
    pub installer: Installer,
    pub libraries: Vec<AttrPath>,
    /// Whether a listed Python application's module twin joins the
    /// interpreter (`app-modules`, default true).
    pub app_modules: bool,
    /// Extra binary caches (`substituters`) and the keys that sign them.
    pub substituters: Vec<String>,
    pub trusted_public_keys: Vec<String>,
    /// `[nixpkgs-config]`.
    pub nixpkgs_config: NixpkgsConfig,
    /// How many generations (`nixpy history`) stay, rooted.
    pub keep_generations: u32,
    /// PEP 735 dependency groups in the environment (`groups`), normalised.
    pub groups: Vec<String>,
    /// The files the manifest names (nix-files, requirements) as written,
    /// before symlinks are resolved: the links on the way are inputs too.
    pub written_paths: Vec<PathBuf>,
    pub venv: VenvLink,
}

/// `[project]` of pyproject.toml, the default source of pip requirements.
#[derive(Debug, Clone, Default)]
pub(crate) struct PyprojectDependencies {
    pub dependencies: Vec<String>,
    pub optional: BTreeMap<String, Vec<String>>,
}

/// Reads `nixpy.toml` (or `pyproject.toml` when `kind` says so).
pub(crate) fn load(path: &Path, kind: ManifestKind) -> Result<Manifest> {
    let text = read_manifest_text(path)?;
    parse(path, kind, &text)
}

pub(crate) fn read_manifest_text(path: &Path) -> Result<String> {
    if path.is_dir() {
        return Err(Error::new(format!(
            "{} is a folder, not a manifest file",
            path.display()
        ))
        .with_hint("remove or rename that folder; nixpy.toml must be a TOML file"));
    }
    let bytes = input_file::read(path)?;
    String::from_utf8(bytes).map_err(|e| {
        let (line, col) = source_pos::line_col(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        );
        Error::new(format!(
            "{}:{line}:{col}: the file is not valid UTF-8",
            path.display()
        ))
        .with_hint("TOML files must be UTF-8; re-save the file as UTF-8")
    })
}

pub(crate) fn parse(path: &Path, kind: ManifestKind, text: &str) -> Result<Manifest> {
    let toml_error = |e: toml::de::Error| {
        let span = e.span().unwrap_or(0..0);
        Error::new(source_pos::render(path, text, span, e.message().trim_end()))
            .with_hint("see the list of manifest keys in README.md (`nixpy init` writes a starting nixpy.toml)")
    };
    let raw = match kind {
        ManifestKind::NixpyToml => toml::from_str::<RawManifest>(text).map_err(toml_error)?,
        ManifestKind::Pyproject => {
            let pyproject: RawPyproject = toml::from_str(text).map_err(toml_error)?;
            pyproject.tool.and_then(|t| t.nixpy).ok_or_else(|| {
                Error::new(format!("{} has no [tool.nixpy] table", path.display()))
                    .with_hint("add a [tool.nixpy] table, or create nixpy.toml with `nixpy init`")
            })?
        }
    };
    let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Validator {
        path,
        text,
        root: &root,
    }
    .validate(raw)
}

/// Reads `[project].dependencies` and optional groups of a pyproject.toml.
pub(super) fn load_pyproject_dependencies(path: &Path) -> Result<Option<PyprojectDependencies>> {
    let text = read_manifest_text(path)?;
    let pyproject: RawPyproject = toml::from_str(&text).map_err(|e| {
        Error::new(source_pos::render(
            path,
            &text,
            e.span().unwrap_or(0..0),
            e.message().trim_end(),
        ))
    })?;
    Ok(pyproject.project.map(|p| PyprojectDependencies {
        dependencies: p.dependencies.unwrap_or_default(),
        optional: p.optional_dependencies.unwrap_or_default(),
    }))
}

/// True when `text` (a pyproject.toml) configures nixpy: it has a
/// `[tool.nixpy]` table, or it does not parse and seems to have one (a
/// manifest that does not parse is an error with its position, never
/// skipped for a parent folder's project).
pub(crate) fn pyproject_has_nixpy_table(text: &str) -> bool {
    // Cheap pre-check first: most pyproject files never mention nixpy.
    if !text.contains("nixpy") {
        return false;
    }
    match toml::from_str::<toml::Table>(text) {
        Ok(table) => table
            .get("tool")
            .and_then(|tool| tool.get("nixpy"))
            .is_some(),
        Err(_) => text.lines().any(names_the_nixpy_table),
    }
}

/// A line that opens `[tool.nixpy]` (or a table inside it) or sets a key
/// of it, in any of TOML's spellings (`[ tool . "nixpy" ]`, dotted keys).
fn names_the_nixpy_table(line: &str) -> bool {
    let bare: String = line
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '"' | '\''))
        .collect();
    let bare = bare.trim_start_matches('[');
    bare.starts_with("tool.nixpy") || bare.starts_with("nixpy=") || bare.starts_with("nixpy.")
}

struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
    root: &'a Path,
}

impl Validator<'_> {
    fn error_at<T>(&self, spanned: &Spanned<T>, message: &str, hint: &str) -> Error {
        // toml's spans are relative to the whole file, for nixpy.toml and
        // pyproject.toml alike.
        Error::new(source_pos::render(
            self.path,
            self.text,
            spanned.span(),
            message,
        ))
        .with_hint(hint)
    }

    fn validate(&self, raw: RawManifest) -> Result<Manifest> {
        let nixpkgs = match raw.nixpkgs {
            Some(r) => {
                check_flake_ref(r.get_ref()).map_err(|why| {
                    self.error_at(
                        &r,
                        &why,
                        "use a flake reference such as github:NixOS/nixpkgs/nixos-24.05",
                    )
                })?;
                let absolute = absolute_flake_ref(r.get_ref(), self.root);
                check_flake_ref(&absolute).map_err(|why| {
                    self.error_at(
                        &r,
                        &format!("`{}` names {absolute}, which a flake reference cannot hold: {why}", r.get_ref()),
                        "move the project (or the nixpkgs checkout) to a path without spaces or quotes, or give an absolute path",
                    )
                })?;
                absolute
            }
            None => DEFAULT_NIXPKGS.to_owned(),
        };
        let python = match raw.python {
            Some(p) => self.attr_path(
                &p,
                "use a nixpkgs Python attribute such as python3 or python312",
            )?,
            None => AttrPath::parse(DEFAULT_PYTHON).expect("default is valid"),
        };
        let packages = self.attr_paths(
            raw.packages,
            "use nixpkgs attribute names such as ffmpeg or llvmPackages.clang",
        )?;
        let python_packages = self.attr_paths(
            raw.python_packages,
            "use attributes of the interpreter's package set, such as numpy",
        )?;
        let libraries = match raw.libraries {
            Some(list) => self.attr_paths(
                Some(list),
                "use nixpkgs attribute paths such as zlib or stdenv.cc.cc.lib",
            )?,
            None => DEFAULT_LIBRARIES
                .iter()
                .map(|l| AttrPath::parse(l).expect("default is valid"))
                .collect(),
        };
        let written_paths: Vec<PathBuf> = raw
            .nix_files
            .iter()
            .chain(raw.requirements.iter())
            .flatten()
            .map(|name| self.root.join(name.get_ref()))
            .collect();
        let nix_files = raw
            .nix_files
            .unwrap_or_default()
            .iter()
            .map(|f| self.project_file(f, "nix-files"))
            .collect::<Result<Vec<_>>>()?;
        let requirements = raw
            .requirements
            .map(|list| {
                list.iter()
                    .map(|f| self.project_file(f, "requirements"))
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?;
        let mut env = Vec::new();
        for (name, value) in raw.env.unwrap_or_default() {
            check_env_name(name.get_ref()).map_err(|why| {
                self.error_at(
                    &name,
                    &why,
                    "variable names are letters, digits and _, not starting with a digit",
                )
            })?;
            if value.get_ref().contains('\0') {
                return Err(self.error_at(
                    &value,
                    "an environment value cannot contain a NUL character",
                    "remove the \\u0000 from the value",
                ));
            }
            env.push((name.into_inner(), value.into_inner()));
        }
        let shell_hook = match raw.shell_hook {
            Some(h) if h.get_ref().contains('\0') => {
                return Err(self.error_at(
                    &h,
                    "shell-hook cannot contain a NUL character",
                    "remove the \\u0000",
                ))
            }
            Some(h) => h.into_inner(),
            None => String::new(),
        };
        let pip_extras = self.checked_strings(
            raw.pip_extras,
            is_extra_name,
            "not a valid extra name",
            "use the name of a [project.optional-dependencies] group",
        )?;
        let substituters = self.checked_strings(
            raw.substituters,
            is_store_uri,
            "not a binary cache URI",
            "write a Nix store URI such as https://cuda-maintainers.cachix.org",
        )?;
        let trusted_public_keys = self.checked_strings(
            raw.trusted_public_keys,
            is_public_key,
            "not a public key of a binary cache",
            "write it as the cache publishes it: NAME:BASE64 (such as cuda-maintainers.cachix.org-1:0dq3...)",
        )?;
        let nixpkgs_config = nixpkgs_config::validate(
            raw.nixpkgs_config.unwrap_or_default(),
            &|span, message, hint| {
                Error::new(source_pos::render(self.path, self.text, span, message)).with_hint(hint)
            },
        )?;
        let mut groups: Vec<String> = Vec::new();
        for group in self.checked_strings(
            raw.groups,
            is_extra_name,
            "not a valid dependency group name",
            "use the name of a group of [dependency-groups] in pyproject.toml",
        )? {
            let name = crate::project::requirements::normalize_name(&group);
            if !groups.contains(&name) {
                groups.push(name);
            }
        }
        let keep_generations = match raw.keep_generations {
            Some(n) => u32::try_from(*n.get_ref())
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| {
                    self.error_at(
                        &n,
                        "keep-generations must be a number from 1 to 1000",
                        "the default is 5: the current generation and four to go back to",
                    )
                })?,
            None => DEFAULT_KEEP_GENERATIONS,
        };
        Ok(Manifest {
            path: self.path.to_path_buf(),
            root: self.root.to_path_buf(),
            nixpkgs,
            python,
            packages: dedup(packages),
            python_packages: dedup(python_packages),
            nix_files,
            env,
            shell_hook,
            requirements,
            pip_extras,
            installer: raw
                .installer
                .map(Spanned::into_inner)
                .unwrap_or(Installer::Auto),
            libraries: dedup(libraries),
            app_modules: raw.app_modules.is_none_or(Spanned::into_inner),
            substituters,
            trusted_public_keys,
            nixpkgs_config,
            keep_generations,
            groups,
            written_paths,
            venv: self.venv_link(raw.venv)?,
        })
    }

    fn venv_link(&self, raw: Option<Spanned<RawVenv>>) -> Result<VenvLink> {
        let Some(raw) = raw else {
            return Ok(VenvLink::At(self.root.join(DEFAULT_VENV)));
        };
        match raw.get_ref() {
            RawVenv::On(false) => Ok(VenvLink::Off),
            RawVenv::On(true) => Ok(VenvLink::At(self.root.join(DEFAULT_VENV))),
            RawVenv::At(path) => {
                let bad = path.is_empty()
                    || path.contains('\0')
                    || Path::new(path)
                        .components()
                        .any(|c| matches!(c, std::path::Component::ParentDir))
                    || Path::new(path).is_absolute();
                if bad {
                    return Err(self.error_at(
                        &raw,
                        "venv must be true, false, or a path inside the project",
                        "write a relative path such as \".venv\" or \"build/venv\", or venv = false",
                    ));
                }
                Ok(VenvLink::At(self.root.join(path)))
            }
        }
    }

    /// The strings of `list`; the first that `valid` refuses is an error at
    /// its value.
    fn checked_strings(
        &self,
        list: Option<Vec<Spanned<String>>>,
        valid: fn(&str) -> bool,
        message: &str,
        hint: &str,
    ) -> Result<Vec<String>> {
        list.unwrap_or_default()
            .into_iter()
            .map(|value| {
                if valid(value.get_ref()) {
                    Ok(value.into_inner())
                } else {
                    Err(self.error_at(&value, message, hint))
                }
            })
            .collect()
    }

    fn attr_path(&self, value: &Spanned<String>, hint: &str) -> Result<AttrPath> {
        AttrPath::parse(value.get_ref()).map_err(|why| self.error_at(value, &why, hint))
    }

    fn attr_paths(&self, list: Option<Vec<Spanned<String>>>, hint: &str) -> Result<Vec<AttrPath>> {
        list.unwrap_or_default()
            .iter()
            .map(|v| self.attr_path(v, hint))
            .collect()
    }

    /// A file named in the manifest: relative to the project, inside it, and
    /// present. Symlinks are resolved before the containment check.
    fn project_file(&self, value: &Spanned<String>, key: &str) -> Result<PathBuf> {
        let name = value.get_ref();
        if name.contains('\0') || name.is_empty() {
            return Err(self.error_at(
                value,
                &format!("{key} entries must be non-empty file names"),
                "name a file relative to the project folder",
            ));
        }
        let joined = self.root.join(name);
        let resolved = joined.canonicalize().map_err(|e| {
            self.error_at(
                value,
                &format!("cannot open {key} entry `{}`: {e}", printable(name)),
                "create the file, or fix the path (relative to the folder of the manifest)",
            )
        })?;
        let root = self
            .root
            .canonicalize()
            .map_err(|e| Error::io("resolve", self.root, e))?;
        if !resolved.starts_with(&root) {
            return Err(self.error_at(
                value,
                &format!("{key} entry `{}` is outside the project ({})", printable(name), resolved.display()),
                "keep the files nixpy reads inside the project folder (copy it in, or move the manifest up)",
            ));
        }
        if !resolved.is_file() {
            return Err(self.error_at(
                value,
                &format!("{key} entry `{}` is not a file", printable(name)),
                "name a file, not a folder",
            ));
        }
        // Nix reads nix-files by path from JSON, which holds only UTF-8.
        if key == "nix-files" && resolved.to_str().is_none() {
            return Err(self.error_at(
                value,
                &format!(
                    "nix-files entry `{}` has a path that is not UTF-8 ({}), which nixpy cannot hand to Nix",
                    printable(name),
                    resolved.display()
                ),
                "move the project to a folder whose path is UTF-8 text",
            ));
        }
        Ok(resolved)
    }
}

/// A Nix store URI: `scheme://...` (https, s3, ssh, file, ...).
fn is_store_uri(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !rest.is_empty()
            && !text.contains(char::is_whitespace)
    })
}

/// A binary cache's public key: `NAME:BASE64`, both parts present.
fn is_public_key(text: &str) -> bool {
    text.split_once(':')
        .is_some_and(|(name, value)| !name.is_empty() && !value.is_empty())
        && !text.contains(char::is_whitespace)
}

fn dedup(list: Vec<AttrPath>) -> Vec<AttrPath> {
    let mut seen = std::collections::HashSet::new();
    list.into_iter()
        .filter(|p| seen.insert(p.clone()))
        .collect()
}

/// A `path:` or `git+file:` reference to a relative folder, made absolute
/// from `base` (the project folder, or the current folder for
/// `--nixpkgs`): Nix would take it relative to the generated flake's own
/// folder in the cache.
pub(crate) fn absolute_flake_ref(reference: &str, base: &Path) -> String {
    for scheme in ["path:", "git+file:"] {
        let Some(rest) = reference.strip_prefix(scheme) else {
            continue;
        };
        let (path, query) = rest.split_at(rest.find(['?', '#']).unwrap_or(rest.len()));
        if !path.is_empty() && !path.starts_with('/') {
            let absolute = super::requirements::normalize_lexically(&base.join(path));
            return format!("{scheme}{}{query}", absolute.display());
        }
    }
    reference.to_owned()
}

/// Flake references go into the generated flake.nix as a string literal, so
/// anything that could end or interpolate that literal is refused outright.
pub(crate) fn check_flake_ref(reference: &str) -> std::result::Result<(), String> {
    if reference.is_empty() {
        return Err("the nixpkgs flake reference is empty".into());
    }
    if let Some(c) = reference
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._~:/?#[]@!&'()*+,;=%".contains(*c)))
    {
        return Err(format!(
            "{c:?} is not allowed in a flake reference `{}`",
            printable(reference)
        ));
    }
    if !reference.contains(':') {
        return Err(format!(
            "`{reference}` is not a flake reference (no scheme, such as github: or path:)"
        ));
    }
    Ok(())
}

pub(crate) fn check_env_name(name: &str) -> std::result::Result<(), String> {
    let mut chars = name.chars();
    let valid = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "`{}` is not a valid environment variable name",
            printable(name)
        ));
    }
    if name.starts_with("NIXPY_") {
        return Err(format!(
            "`{name}` is reserved: nixpy sets the NIXPY_ variables itself"
        ));
    }
    Ok(())
}

fn is_extra_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Manifest> {
        parse(
            Path::new("/nonexistent/nixpy.toml"),
            ManifestKind::NixpyToml,
            text,
        )
    }

    #[test]
    fn defaults_apply_to_an_empty_manifest() {
        let m = parse_str("").unwrap();
        assert_eq!(m.nixpkgs, DEFAULT_NIXPKGS);
        assert_eq!(m.python.to_string(), "python3");
        assert_eq!(m.libraries.len(), 2);
        assert_eq!(m.installer, Installer::Auto);
        assert!(m.requirements.is_none());
        assert_eq!(m.venv, VenvLink::At(PathBuf::from("/nonexistent/.venv")));
    }

    #[test]
    fn venv_is_on_off_or_a_path_inside_the_project() {
        assert_eq!(parse_str("venv = false").unwrap().venv, VenvLink::Off);
        assert_eq!(
            parse_str("venv = \"build/env\"").unwrap().venv,
            VenvLink::At(PathBuf::from("/nonexistent/build/env"))
        );
        for bad in [
            "venv = \"../x\"",
            "venv = \"/abs\"",
            "venv = \"\"",
            "venv = 3",
        ] {
            let err = parse_str(bad).unwrap_err();
            assert!(
                err.message.contains("nixpy.toml:1:"),
                "{bad}: {}",
                err.message
            );
        }
    }

    #[test]
    fn keys_are_read() {
        let m = parse_str(
            "python = \"python312\"\npackages = [\"ffmpeg\", \"llvmPackages.clang\", \"ffmpeg\"]\npython-packages = [\"numpy\"]\nshell-hook = \"echo hi\"\ninstaller = \"pip\"\n[env]\nMODEL_DIR = \"models\"\n",
        )
        .unwrap();
        assert_eq!(m.python.to_string(), "python312");
        assert_eq!(
            m.packages
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["ffmpeg", "llvmPackages.clang"]
        );
        assert_eq!(m.env, [("MODEL_DIR".to_owned(), "models".to_owned())]);
        assert_eq!(m.installer, Installer::Pip);
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        let err = parse_str("python = \"python3\"\npakages = []\n").unwrap_err();
        assert!(
            err.message
                .starts_with("/nonexistent/nixpy.toml:2:1: unknown field `pakages`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn wrong_type_names_the_value() {
        let err = parse_str("packages = \"ffmpeg\"\n").unwrap_err();
        assert!(
            err.message
                .contains(":1:12: invalid type: string \"ffmpeg\", expected a sequence"),
            "{}",
            err.message
        );
    }

    #[test]
    fn bad_attribute_path_points_at_the_entry() {
        let err = parse_str("packages = [\"ok\",\n  \"ffmpeg; rm -rf /\"]\n").unwrap_err();
        assert!(
            err.message
                .contains("nixpy.toml:2:3: `ffmpeg; rm -rf /` is not a nixpkgs attribute path"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("^^^^^^^^^^^^^^^^^^"),
            "{}",
            err.message
        );
    }

    #[test]
    fn env_names_are_checked_and_values_kept_verbatim() {
        assert!(parse_str("[env]\n\"1BAD\" = \"x\"\n")
            .unwrap_err()
            .message
            .contains("not a valid environment variable name"));
        assert!(parse_str("[env]\nNIXPY_X = \"x\"\n")
            .unwrap_err()
            .message
            .contains("reserved"));
        assert!(parse_str("[env]\nA = \"a\\u0000b\"\n")
            .unwrap_err()
            .message
            .contains("NUL"));
        let m = parse_str("[env]\nA = \"it's ${x} ''\\\\ \\\"q\\\"\"\n").unwrap();
        assert_eq!(m.env[0].1, "it's ${x} ''\\ \"q\"");
    }

    #[test]
    fn flake_refs_cannot_break_out_of_a_string() {
        assert!(check_flake_ref("github:NixOS/nixpkgs/nixos-24.05").is_ok());
        assert!(check_flake_ref("path:/srv/nixpkgs").is_ok());
        assert!(check_flake_ref("git+https://example.org/n.git?ref=main&rev=abc").is_ok());
        for bad in [
            "",
            "nixpkgs",
            "github:a\"b",
            "path:/x${y}",
            "path:/a b",
            "path:/a\\b",
            "path:/a\nb",
        ] {
            assert!(check_flake_ref(bad).is_err(), "{bad:?}");
        }
    }

    /// Issue 13, item 22: `path:./nixpkgs` is the project's folder, not the
    /// generated flake's in the cache.
    #[test]
    fn relative_path_references_are_made_absolute_from_the_project() {
        let m = parse(
            Path::new("/p/nixpy.toml"),
            ManifestKind::NixpyToml,
            "nixpkgs = \"path:./nixpkgs\"\n",
        )
        .unwrap();
        assert_eq!(m.nixpkgs, "path:/p/nixpkgs");
        let base = Path::new("/work/proj");
        assert_eq!(
            absolute_flake_ref("path:../np?narHash=x", base),
            "path:/work/np?narHash=x"
        );
        assert_eq!(
            absolute_flake_ref("git+file:vendor/np#x", base),
            "git+file:/work/proj/vendor/np#x"
        );
        for kept in ["path:/srv/np", "git+file:///srv/np", "github:NixOS/nixpkgs"] {
            assert_eq!(absolute_flake_ref(kept, base), kept);
        }
        let err = parse(
            Path::new("/a b/nixpy.toml"),
            ManifestKind::NixpyToml,
            "nixpkgs = \"path:./nixpkgs\"\n",
        )
        .unwrap_err();
        assert!(err.message.contains("nixpy.toml:1:11:"), "{}", err.message);
    }

    #[test]
    fn pyproject_table_is_found() {
        assert!(pyproject_has_nixpy_table("[tool.nixpy]\npackages = []\n"));
        assert!(!pyproject_has_nixpy_table(
            "[tool.black]\n# nixpy someday\n"
        ));
        assert!(!pyproject_has_nixpy_table("[project]\nname = 'x'\n"));
        // Issue 13, item 5: a [tool.nixpy] that does not parse still
        // configures nixpy (its error is reported), ...
        for broken in [
            "[project]\nname = \"x\"\n[tool.nixpy]\npackages = [\"jq\"\n",
            "[ tool . \"nixpy\" ]\npackages = [\n",
            "tool.nixpy.packages = [\"jq\"\nx = \n",
            "[tool]\nnixpy = { packages = [\"jq\" }\n",
            "[tool.nixpy.env]\nA = \n",
        ] {
            assert!(pyproject_has_nixpy_table(broken), "{broken}");
        }
        // ... while a broken pyproject.toml that only mentions nixpy does not.
        assert!(!pyproject_has_nixpy_table(
            "[project]\nname = \"x\" # not nixpy\ndependencies = [\n"
        ));
    }
}
