//! The installer: uv from the Nix shell, or the Nix Python's own pip.
//! Every difference between the two is here: the program, the resolve and
//! install arguments, the offline flag, the resolver's answer, the rule for
//! hashes, and what names the installer in a layer's key.

use std::path::{Path, PathBuf};

use super::split::StagingLayout;
use crate::error::{Error, Result};
use crate::flake::ShellEnv;
use crate::project::lockfile::LockedPackage;
use crate::project::manifest::Installer;
use crate::project::requirements::normalize_name;
use crate::support::process;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tool<'a> {
    /// `uv pip` for the Nix Python (`uv` is empty when the shell has none).
    Uv { uv: &'a str, python: &'a str },
    /// `python -m pip` of the Nix Python.
    Pip { python: &'a str },
}

impl<'a> Tool<'a> {
    /// The installer the manifest chose (`auto` is uv), from the Nix shell.
    pub(super) fn new(choice: Installer, shell: &'a ShellEnv) -> Tool<'a> {
        match choice.effective() {
            Installer::Pip => Tool::Pip {
                python: &shell.python,
            },
            Installer::Auto | Installer::Uv => Tool::Uv {
                uv: &shell.uv,
                python: &shell.python,
            },
        }
    }

    /// As nixpy.lock and messages name it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Tool::Uv { .. } => "uv",
            Tool::Pip { .. } => "pip",
        }
    }

    /// What names the installer in a layer's key (its store path).
    pub(super) fn identity(self) -> String {
        match self {
            Tool::Uv { uv, .. } => format!("uv:{uv}"),
            Tool::Pip { python } => format!("pip:{python}"),
        }
    }

    fn program(self) -> Result<&'a str> {
        match self {
            Tool::Uv { uv: "", .. } => Err(Error::new("the Nix shell has no uv")
                .with_hint("run with --refresh to rebuild the shell")),
            Tool::Uv { uv, .. } => Ok(uv),
            Tool::Pip { python } => Ok(python),
        }
    }

    /// Installs from the local cache (and `--find-links`) only.
    fn offline_flag(self) -> &'static str {
        match self {
            Tool::Uv { .. } => "--offline",
            Tool::Pip { .. } => "--no-index",
        }
    }

    /// Whether the pins file carries the pins' hashes. uv checks each hash
    /// given; pip turns any hash into hash-checking mode for all, which
    /// local and editable pins cannot meet, so for pip hashes are written
    /// only when every pin has them.
    pub(super) fn writes_hashes(self, every_pin_hashed: bool) -> bool {
        match self {
            Tool::Uv { .. } => true,
            Tool::Pip { .. } => every_pin_hashed,
        }
    }

    /// Whether the resolver keeps the pins already in its answer file
    /// where they still fit (uv does; pip has no such thing).
    pub(super) fn reads_preferences_from_answer(self) -> bool {
        matches!(self, Tool::Uv { .. })
    }

    /// The arguments that resolve `requirements` (with `common`: links and
    /// constraints) in `dir`, and the file the answer is written to.
    pub(super) fn resolve_args(
        self,
        dir: &Path,
        requirements: &Path,
        common: Vec<String>,
        offline: bool,
    ) -> (Vec<String>, PathBuf) {
        let (mut args, answer) = match self {
            Tool::Uv { python, .. } => {
                let answer = dir.join("resolved.txt");
                let mut args = strings(&[
                    "pip",
                    "compile",
                    "--quiet",
                    "--no-header",
                    "--no-annotate",
                    "--generate-hashes",
                    "--python",
                    python,
                ]);
                args.extend(common);
                (args, answer)
            }
            Tool::Pip { .. } => {
                let answer = dir.join("report.json");
                let mut args = strings(&[
                    "-m",
                    "pip",
                    "install",
                    "--dry-run",
                    "--ignore-installed",
                    "--quiet",
                    "--report",
                ]);
                args.push(answer.display().to_string());
                args.extend(common);
                (args, answer)
            }
        };
        if offline {
            args.push(self.offline_flag().to_owned());
        }
        match self {
            Tool::Uv { .. } => args.extend([
                "-o".to_owned(),
                answer.display().to_string(),
                requirements.display().to_string(),
            ]),
            Tool::Pip { .. } => args.extend(["-r".to_owned(), requirements.display().to_string()]),
        }
        (args, answer)
    }

    /// The pins in the resolver's answer.
    pub(super) fn read_resolution(self, answer: &str) -> Result<Vec<LockedPackage>> {
        match self {
            Tool::Uv { .. } => Ok(parse_pinned(answer)),
            Tool::Pip { .. } => parse_pip_report(answer),
        }
    }

    /// How what [`Tool::install_args`] installs is laid out.
    pub(super) fn staging_layout(self) -> StagingLayout {
        match self {
            Tool::Uv { .. } => StagingLayout::Prefix,
            Tool::Pip { .. } => StagingLayout::Target,
        }
    }

    /// The arguments that install the pins file `pins` (`--no-deps`) into
    /// the folder `target`, with the requirements' index options. uv lays
    /// it out as a prefix (`lib/pythonX.Y/site-packages`, `bin`, data);
    /// pip's `--prefix` follows the interpreter's own scheme (Debian's adds
    /// `local/`), so pip installs with `--target`, which is the same
    /// everywhere (see [`Tool::staging_layout`]).
    pub(super) fn install_args(
        self,
        target: &Path,
        index: Vec<String>,
        offline: bool,
        pins: &Path,
    ) -> Vec<String> {
        let mut args = match self {
            Tool::Uv { python, .. } => strings(&[
                "pip",
                "install",
                "--no-deps",
                "--quiet",
                "--python",
                python,
                "--prefix",
            ]),
            Tool::Pip { .. } => strings(&[
                "-m",
                "pip",
                "install",
                "--no-deps",
                // Bytecode is compiled afterwards, hash-checked: pip's own
                // pycs embed timestamps and would make the layer differ
                // per machine.
                "--no-compile",
                "--no-warn-script-location",
                "--target",
            ]),
        };
        args.push(target.display().to_string());
        args.extend(index);
        if offline {
            args.push(self.offline_flag().to_owned());
        }
        args.extend(["-r".to_owned(), pins.display().to_string()]);
        args
    }

    /// Runs the installer with `args` in the Nix shell's environment (its
    /// variables, its PATH first: a source distribution builds with the
    /// shell's compiler and libraries), without prompts, downloads of other
    /// Pythons, or anything from the user's site folder.
    pub(super) fn run(self, args: Vec<String>, shell: &ShellEnv) -> Result<std::process::Output> {
        let mut command = duct::cmd(self.program()?, args);
        for (name, value) in &shell.vars {
            command = command.env(name, value);
        }
        let caller_path = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(
            shell
                .path
                .iter()
                .map(std::path::PathBuf::from)
                .chain(std::env::split_paths(&caller_path)),
        )
        .unwrap_or(caller_path);
        let command = command
            .env("PATH", path)
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("PYTHONNOUSERSITE", "1")
            .env("PIP_NO_INPUT", "1")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env_remove("PYTHONPATH")
            .env_remove("VIRTUAL_ENV")
            .env_remove("PIP_TARGET")
            .env_remove("PIP_PREFIX")
            .env_remove("PIP_USER")
            .env("PIP_REQUIRE_VIRTUALENV", "0");
        process::capture(command)
            .map_err(|e| Error::new(format!("cannot run {}: {e}", self.name())))
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// Reads `uv pip compile` output: `name==version \ --hash=...` entries,
/// `-e location`, `name @ url`.
fn parse_pinned(text: &str) -> Vec<LockedPackage> {
    let joined = text.replace("\\\n", " ");
    let mut packages = Vec::new();
    for line in joined.lines().map(str::trim) {
        if line.is_empty()
            || line.starts_with('#')
            || (line.starts_with("--") && !line.starts_with("--hash"))
        {
            continue;
        }
        let mut parts = line.split_whitespace().peekable();
        let mut requirement = Vec::new();
        let mut hashes = Vec::new();
        for part in parts.by_ref() {
            match part.strip_prefix("--hash=") {
                Some(h) => hashes.push(h.to_owned()),
                None => requirement.push(part),
            }
        }
        let requirement = requirement.join(" ");
        let (name, version) = if let Some((n, v)) = requirement.split_once("==") {
            (
                normalize_name(n.trim()),
                v.split(';').next().unwrap_or(v).trim().to_owned(),
            )
        } else if let Some((n, _)) = requirement.split_once(" @ ") {
            (normalize_name(n.trim()), String::new())
        } else {
            (
                requirement.trim_start_matches("-e ").to_owned(),
                String::new(),
            )
        };
        packages.push(LockedPackage {
            name,
            version,
            requirement,
            hashes,
            groups: Vec::new(),
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    packages
}

fn parse_pip_report(text: &str) -> Result<Vec<LockedPackage>> {
    let report: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::new(format!("unreadable pip --report output: {e}")))?;
    let mut packages = Vec::new();
    for item in report["install"].as_array().into_iter().flatten() {
        let name = normalize_name(item["metadata"]["name"].as_str().unwrap_or_default());
        let version = item["metadata"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let info = &item["download_info"];
        let url = info["url"].as_str().unwrap_or_default();
        let editable = info["dir_info"]["editable"].as_bool().unwrap_or(false);
        let requirement = if item["is_direct"].as_bool().unwrap_or(false) {
            if editable {
                format!("-e {url}")
            } else {
                format!("{name} @ {url}")
            }
        } else {
            format!("{name}=={version}")
        };
        let hashes = info["archive_info"]["hashes"]
            .as_object()
            .map(|h| {
                h.iter()
                    .filter_map(|(alg, v)| Some(format!("{alg}:{}", v.as_str()?)))
                    .collect()
            })
            .unwrap_or_default();
        packages.push(LockedPackage {
            name,
            version,
            requirement,
            hashes,
            groups: Vec::new(),
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UV: Tool<'static> = Tool::Uv {
        uv: "/nix/store/u/bin/uv",
        python: "/nix/store/p/bin/python3",
    };
    const PIP: Tool<'static> = Tool::Pip {
        python: "/nix/store/p/bin/python3",
    };

    #[test]
    fn each_installer_has_its_offline_flag_before_the_pins() {
        let index = vec!["--no-index".to_owned()];
        let pins = Path::new("/t/pins.txt");
        let uv = UV.install_args(Path::new("/t/l"), index.clone(), true, pins);
        assert_eq!(
            uv[..6],
            strings(&[
                "pip",
                "install",
                "--no-deps",
                "--quiet",
                "--python",
                "/nix/store/p/bin/python3"
            ])
        );
        assert_eq!(
            uv[uv.len() - 3..],
            strings(&["--offline", "-r", "/t/pins.txt"])
        );
        let pip = PIP.install_args(Path::new("/t/l"), index, true, pins);
        assert_eq!(pip[..3], strings(&["-m", "pip", "install"]));
        assert_eq!(
            pip[pip.len() - 3..],
            strings(&["--no-index", "-r", "/t/pins.txt"])
        );
        let online = PIP.install_args(Path::new("/t/l"), Vec::new(), false, pins);
        assert!(!online.contains(&"--no-index".to_owned()));
    }

    #[test]
    fn each_resolver_writes_its_answer_in_the_scratch_folder() {
        let dir = Path::new("/t");
        let reqs = Path::new("/t/requirements.in");
        let (uv, answer) = UV.resolve_args(dir, reqs, vec!["-c".into(), "/t/c.txt".into()], true);
        assert_eq!(answer, Path::new("/t/resolved.txt"));
        assert_eq!(
            uv[uv.len() - 4..],
            strings(&["--offline", "-o", "/t/resolved.txt", "/t/requirements.in"])
        );
        let (pip, answer) = PIP.resolve_args(dir, reqs, Vec::new(), false);
        assert_eq!(answer, Path::new("/t/report.json"));
        assert!(pip.windows(2).any(|w| w == ["--report", "/t/report.json"]));
        assert_eq!(pip[pip.len() - 2..], strings(&["-r", "/t/requirements.in"]));
    }

    #[test]
    fn a_shell_without_uv_is_an_error_only_when_uv_runs() {
        let tool = Tool::Uv {
            uv: "",
            python: "/p",
        };
        assert_eq!(tool.identity(), "uv:");
        let err = tool.run(Vec::new(), &ShellEnv::default()).unwrap_err();
        assert!(err.message.contains("no uv"), "{}", err.message);
    }

    #[test]
    fn uv_output_is_read_into_pins() {
        let text = "pkga==0.1 \\\n    --hash=sha256:aaa\nrich==13.7.0 ; python_version >= \"3.8\" \\\n    --hash=sha256:bbb \\\n    --hash=sha256:ccc\n-e file:///src/editable\nfoo @ file:///w/foo-1.0-py3-none-any.whl\n";
        let pins = parse_pinned(text);
        let pkga = pins.iter().find(|p| p.name == "pkga").unwrap();
        assert_eq!(
            (pkga.version.as_str(), pkga.requirement.as_str()),
            ("0.1", "pkga==0.1")
        );
        assert_eq!(pkga.hashes, ["sha256:aaa"]);
        let rich = pins.iter().find(|p| p.name == "rich").unwrap();
        assert_eq!(rich.version, "13.7.0");
        assert_eq!(rich.hashes.len(), 2);
        assert!(pins
            .iter()
            .any(|p| p.requirement == "-e file:///src/editable"));
        assert!(pins
            .iter()
            .any(|p| p.name == "foo" && p.requirement.starts_with("foo @ ")));
    }
}
