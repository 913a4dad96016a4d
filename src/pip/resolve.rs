//! Resolving the requirements with uv or pip, the Nix-provided
//! distributions stand in as stub wheels pinned at their Nix versions, so
//! the resolver keeps them fixed.

use std::path::Path;

use super::ensure::PipInputs;
use super::installer::{installer_cmd, uv_program};
use super::scratch::{scratch_dir, write};
use super::wheel_stub;
use crate::error::{Error, Result};
use crate::project::lockfile::{portable, LockedPackage};
use crate::project::manifest::Installer;
use crate::project::requirements::normalize_name;
use crate::support::process;
use crate::support::text::indent;

pub(super) fn resolve(
    inputs: &PipInputs<'_>,
    installer: Installer,
    nix_provided: &[(String, String)],
) -> Result<Vec<LockedPackage>> {
    let scratch = scratch_dir(inputs.cache)?;
    let dir = scratch.path();
    let stubs = dir.join("nix-provided");
    std::fs::create_dir_all(&stubs).map_err(|e| Error::io("create", &stubs, e))?;
    for (name, version) in nix_provided {
        wheel_stub::write(&stubs, name, version)?;
    }
    let reqs = inputs.requirements;
    write(&dir.join("requirements.in"), &reqs.requirements_text())?;
    let nix_pins: String = nix_provided
        .iter()
        .map(|(n, v)| format!("{n}=={v}\n"))
        .collect();
    write(
        &dir.join("constraints.txt"),
        &format!("{}{nix_pins}", reqs.constraints_text()),
    )?;
    let mut common = vec![
        "--find-links".to_owned(),
        stubs.display().to_string(),
        "-c".to_owned(),
        dir.join("constraints.txt").display().to_string(),
    ];
    common.extend(reqs.index.to_args());
    let pins = match installer {
        Installer::Pip => resolve_with_pip(inputs, dir, common)?,
        _ => resolve_with_uv(inputs, dir, common)?,
    };
    let user_hashes = reqs.user_hashes();
    Ok(pins
        .into_iter()
        .filter(|p| !nix_provided.iter().any(|(n, _)| *n == p.name))
        .map(|mut p| {
            // A hash the user wrote is a promise about the file: it must
            // be checked at install (uv's resolver would pick its own).
            if let Some(hashes) = user_hashes.get(&p.name) {
                p.hashes = hashes.clone();
            }
            p.requirement = portable(&p.requirement, inputs.project_root);
            p
        })
        .collect())
}

fn resolve_with_uv(
    inputs: &PipInputs<'_>,
    dir: &Path,
    common: Vec<String>,
) -> Result<Vec<LockedPackage>> {
    let out = dir.join("resolved.txt");
    let mut args: Vec<String> = [
        "pip",
        "compile",
        "--quiet",
        "--no-header",
        "--no-annotate",
        "--generate-hashes",
        "--python",
    ]
    .map(str::to_owned)
    .to_vec();
    args.push(inputs.shell.python.clone());
    args.extend(common);
    if inputs.offline {
        args.push("--offline".into());
    }
    args.extend([
        "-o".into(),
        out.display().to_string(),
        dir.join("requirements.in").display().to_string(),
    ]);
    let output = process::capture(installer_cmd(uv_program(inputs.shell)?, args))
        .map_err(|e| Error::new(format!("cannot run uv: {e}")))?;
    if !output.status.success() {
        return Err(resolution_failure(
            &String::from_utf8_lossy(&output.stderr),
            inputs.offline,
        ));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| Error::io("read", &out, e))?;
    Ok(parse_pinned(&text))
}

fn resolve_with_pip(
    inputs: &PipInputs<'_>,
    dir: &Path,
    common: Vec<String>,
) -> Result<Vec<LockedPackage>> {
    let report = dir.join("report.json");
    let mut args: Vec<String> = [
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--report",
    ]
    .map(str::to_owned)
    .to_vec();
    args.push(report.display().to_string());
    args.extend(common);
    if inputs.offline {
        args.push("--no-index".into());
    }
    args.extend([
        "-r".into(),
        dir.join("requirements.in").display().to_string(),
    ]);
    let output = process::capture(installer_cmd(&inputs.shell.python, args))
        .map_err(|e| Error::new(format!("cannot run pip: {e}")))?;
    if !output.status.success() {
        return Err(resolution_failure(
            &String::from_utf8_lossy(&output.stderr),
            inputs.offline,
        ));
    }
    let text = std::fs::read_to_string(&report).map_err(|e| Error::io("read", &report, e))?;
    parse_pip_report(&text)
}

pub(super) fn resolution_failure(stderr: &str, offline: bool) -> Error {
    let detail = stderr.trim();
    let hint = if offline {
        "--offline installs only from the uv/pip cache: run once online first, or add the missing package's wheel to --find-links"
    } else {
        "check the names and versions in your requirements; packages Nix provides are pinned at their Nix versions"
    };
    Error::new(format!(
        "the pip requirements cannot be resolved:\n{}",
        indent(detail)
    ))
    .with_hint(hint)
}

/// Reads `uv pip compile` output: `name==version \ --hash=...` entries,
/// `-e location`, `name @ url`.
pub fn parse_pinned(text: &str) -> Vec<LockedPackage> {
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
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    packages
}

pub(super) fn parse_pip_report(text: &str) -> Result<Vec<LockedPackage>> {
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
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

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
