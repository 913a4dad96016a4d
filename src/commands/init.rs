//! `nixpy init`: a starting, commented nixpy.toml in the current folder
//! (and with `--direnv`, an .envrc that loads the environment). It never
//! overwrites a file, and checks everything before writing anything.

use std::path::Path;

use crate::build::Context;
use crate::cli::InitArgs;
use crate::commands::direnvrc::ENVRC;
use crate::error::{Error, Result};
use crate::project::manifest;
use crate::project::requires_python::{RequiresPython, NIXPKGS_DEFAULT_MINOR};
use crate::project::{PipSource, MANIFEST_FILE, PYPROJECT_FILE};
use crate::support::atomic_write;
use crate::ui;

pub(super) fn run(ctx: &Context, args: InitArgs) -> Result<i32> {
    let dir = &ctx.start_dir;
    let manifest_path = dir.join(MANIFEST_FILE);
    let pyproject = dir.join(PYPROJECT_FILE);
    let pyproject_text = std::fs::read_to_string(&pyproject).ok();
    let existing = if manifest_path.symlink_metadata().is_ok() {
        Some((
            manifest_path.clone(),
            "nixpy init never overwrites it; edit it, or remove it to start again",
        ))
    } else if let Some(text) = pyproject_text
        .as_deref()
        .filter(|text| manifest::pyproject_has_nixpy_table(text))
    {
        // A [tool.nixpy] that does not parse: its error, at its position.
        manifest::parse(&pyproject, manifest::ManifestKind::Pyproject, text)?;
        Some((
            pyproject.clone(),
            "edit [tool.nixpy] there; a nixpy.toml beside it would take its place",
        ))
    } else {
        None
    };
    match existing {
        // An existing project only gains what it lacks: the .envrc.
        Some(_) if args.direnv => return write_envrc(dir),
        Some((path, hint)) => {
            let what = if path == manifest_path {
                "already exists".to_owned()
            } else {
                "already configures nixpy ([tool.nixpy])".to_owned()
            };
            return Err(Error::new(format!("{} {what}", path.display()))
                .with_hint(format!("{hint}; `nixpy init --direnv` adds just an .envrc")));
        }
        None => {}
    }
    let source = pip_setup(dir);
    let interpreter = interpreter_choice(&pyproject)?;
    atomic_write::write_project_file(&manifest_path, template(&source, &interpreter).as_bytes())?;
    let python = match &interpreter.requires {
        Some(spec) => format!("{} for requires-python `{spec}`; ", interpreter.attr),
        None => String::new(),
    };
    ui::status(&format!(
        "wrote {} ({python}{})",
        manifest_path.display(),
        source.summary()
    ));
    if args.direnv {
        write_envrc(dir)?;
    }
    Ok(0)
}

/// Writes an .envrc that loads the environment (an existing one is left
/// alone, with the lines to add), and ignores direnv's folder in git.
fn write_envrc(dir: &Path) -> Result<i32> {
    let envrc = dir.join(".envrc");
    if envrc.symlink_metadata().is_ok() {
        let text = std::fs::read_to_string(&envrc).unwrap_or_default();
        if text.lines().any(|l| l.trim() == "use nixpy") {
            ui::status(&format!("{} already loads nixpy", envrc.display()));
        } else {
            ui::warn(&format!(
                "{} exists, so nixpy left it alone; add these two lines to it:\n{}",
                envrc.display(),
                ENVRC.trim_end()
            ));
        }
    } else {
        atomic_write::write_project_file(&envrc, ENVRC.as_bytes())?;
        ui::status(&format!(
            "wrote {}; run `direnv allow` to load the environment",
            envrc.display()
        ));
    }
    // direnv's per-project folder.
    crate::project::gitignore::ignore(&dir.join(".gitignore"), ".direnv/")?;
    Ok(0)
}

/// What the new manifest says about pip packages: where they will come
/// from by the default rule ([`PipSource`]).
#[derive(Debug, PartialEq, Eq)]
enum PipSetup {
    RequirementsTxt,
    Pyproject,
    Nothing,
}

impl PipSetup {
    fn summary(&self) -> &'static str {
        match self {
            PipSetup::RequirementsTxt => "pip packages from requirements.txt",
            PipSetup::Pyproject => "pip packages from [project] of pyproject.toml",
            PipSetup::Nothing => "no pip packages yet",
        }
    }

    fn comment(&self) -> &'static str {
        match self {
            PipSetup::RequirementsTxt => {
                "# pip packages: from requirements.txt (found here), installed with uv into a\n\
                 # layer on top of the Nix packages. Other files instead:\n\
                 # requirements = [\"requirements.txt\", \"requirements-dev.txt\"]"
            }
            PipSetup::Pyproject => {
                "# pip packages: from [project].dependencies of pyproject.toml (there is no\n\
                 # requirements.txt here), installed with uv into a layer on top of the Nix\n\
                 # packages. Optional groups: pip-extras = [\"dev\"]"
            }
            PipSetup::Nothing => {
                "# pip packages: none yet. nixpy will use requirements.txt once it exists\n\
                 # (else [project].dependencies of pyproject.toml), or the files named here:\n\
                 # requirements = [\"requirements.txt\"]"
            }
        }
    }
}

fn pip_setup(dir: &Path) -> PipSetup {
    match PipSource::of(dir, None) {
        Ok(PipSource::RequirementsTxt(_)) => PipSetup::RequirementsTxt,
        Ok(PipSource::Pyproject { dependencies, .. }) if !dependencies.dependencies.is_empty() => {
            PipSetup::Pyproject
        }
        _ => PipSetup::Nothing,
    }
}

/// The interpreter the new manifest names: the nixpkgs one nearest to
/// nixpkgs' default that `requires-python` allows, when pyproject.toml has
/// it, else `python3`.
struct InterpreterChoice {
    attr: String,
    /// The `requires-python` it was picked for.
    requires: Option<String>,
}

fn interpreter_choice(pyproject: &Path) -> Result<InterpreterChoice> {
    let default = InterpreterChoice {
        attr: manifest::DEFAULT_PYTHON.to_owned(),
        requires: None,
    };
    let Some(requires) = RequiresPython::read(pyproject)? else {
        return Ok(default);
    };
    match requires.nearest_interpreter(NIXPKGS_DEFAULT_MINOR) {
        Some(attr) => Ok(InterpreterChoice {
            attr,
            requires: Some(requires.spec),
        }),
        None => {
            ui::warn(&format!(
                "no CPython 3 release satisfies requires-python `{}` of pyproject.toml; nixpy.toml names python3",
                requires.spec
            ));
            Ok(default)
        }
    }
}

fn template(source: &PipSetup, interpreter: &InterpreterChoice) -> String {
    let python_comment = match &interpreter.requires {
        Some(spec) => format!(
            "# The interpreter: a nixpkgs attribute, picked for requires-python = \"{spec}\"\n# of pyproject.toml (nixpy checks that they agree)."
        ),
        None => "# The interpreter: a nixpkgs attribute such as python311 or python312.".to_owned(),
    };
    format!(
        r#"# nixpy.toml: this project's environment, for `nixpy run -- CMD` and `nixpy shell`.
# Every key is listed in nixpy's README ("Manifest keys"); `nixpy show` shows
# where each part of the environment comes from.

# Where Nix packages come from; nixpy.lock pins the revision (commit it).
# nixpkgs = "{nixpkgs}"

{python_comment}
python = "{python}"

# System tools and native libraries from Nix, by attribute path,
# e.g. ["ffmpeg", "tesseract", "pnpm", "llvmPackages.clang"].
packages = []

# Python packages built by Nix, for the heavy native ones,
# e.g. ["numpy", "opencv4", "torch"].
python-packages = []

# Nix files the project already keeps (a list of packages, or a
# home-manager style module): nix-files = ["nix/tools.nix"]

{pip}

# Variables set in the environment, verbatim:
# [env]
# MODEL_DIR = "models"

# The nixpkgs settings of this project, the only ones it sees (not
# ~/.config/nixpkgs): what nixpkgs may give that it refuses by default.
# [nixpkgs-config]
# allow-unfree = ["cuda_cudart"]   # or true
# cuda-support = true              # torch, opencv... built with CUDA
"#,
        nixpkgs = manifest::DEFAULT_NIXPKGS,
        python = interpreter.attr,
        pip = source.comment(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_a_valid_manifest_for_every_source() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(MANIFEST_FILE);
        for source in [
            PipSetup::RequirementsTxt,
            PipSetup::Pyproject,
            PipSetup::Nothing,
        ] {
            let text = template(
                &source,
                &InterpreterChoice {
                    attr: "python311".into(),
                    requires: Some(">=3.11".into()),
                },
            );
            let manifest = manifest::parse(&path, manifest::ManifestKind::NixpyToml, &text)
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert!(manifest.packages.is_empty());
            assert!(manifest.requirements.is_none(), "the default rule decides");
        }
    }

    #[test]
    fn pip_source_follows_the_default_rule() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(pip_setup(tmp.path()), PipSetup::Nothing);
        std::fs::write(
            tmp.path().join("pyproject.toml"),
            "[project]\nname = \"x\"\ndependencies = [\"rich\"]\n",
        )
        .unwrap();
        assert_eq!(pip_setup(tmp.path()), PipSetup::Pyproject);
        std::fs::write(tmp.path().join("requirements.txt"), "rich\n").unwrap();
        assert_eq!(pip_setup(tmp.path()), PipSetup::RequirementsTxt);
    }
}
