//! Resolving the requirements with uv or pip. The Nix-provided
//! distributions stand in as stub wheels pinned at their Nix versions, so
//! the resolver keeps them fixed.

use super::inputs::PipInputs;
use super::installer::Tool;
use super::scratch::{scratch_dir, write};
use super::wheel_stub;
use crate::error::{Error, Result};
use crate::project::lockfile::{portable, LockedPackage};
use crate::project::requirements::RequirementSet;
use crate::support::text::indent;

/// Resolves the requirements `reqs`; `preferences` are pins to keep where
/// they still fit (the lock's, less those an upgrade lets move).
pub(super) fn resolve(
    inputs: &PipInputs<'_>,
    reqs: &RequirementSet,
    tool: Tool<'_>,
    nix_provided: &[(String, String)],
    preferences: &[LockedPackage],
) -> Result<Vec<LockedPackage>> {
    if reqs.requirements.is_empty() {
        // Only dependency groups have requirements: nothing else to pin.
        return Ok(Vec::new());
    }
    let scratch = scratch_dir(inputs.cache)?;
    let dir = scratch.path();
    let stubs = dir.join("nix-provided");
    std::fs::create_dir_all(&stubs).map_err(|e| Error::io("create", &stubs, e))?;
    for (name, version) in nix_provided {
        wheel_stub::write(&stubs, name, version)?;
    }
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
    let preferred: String = preferences
        .iter()
        .filter(|p| !p.version.is_empty() && !nix_provided.iter().any(|(n, _)| *n == p.name))
        .map(|p| format!("{}=={}\n", p.name, p.version))
        .collect();
    let requirements_in = dir.join("requirements.in");
    let (args, answer) = tool.resolve_args(dir, &requirements_in, common.clone(), inputs.offline);
    let mut output = None;
    if !preferred.is_empty() {
        if tool.reads_preferences_from_answer() {
            // uv keeps the pins it finds in its output file where they fit.
            write(&answer, &preferred)?;
        } else {
            // pip has no preferences: the pins as constraints, and if
            // they no longer fit, a resolution without them.
            let pins = dir.join("preferences.txt");
            write(&pins, &preferred)?;
            let mut with_pins = common.clone();
            with_pins.extend(["-c".to_owned(), pins.display().to_string()]);
            let (pinned_args, _) =
                tool.resolve_args(dir, &requirements_in, with_pins, inputs.offline);
            output = Some(tool.run(pinned_args, inputs.shell)?).filter(|o| o.status.success());
        }
    }
    let output = match output {
        Some(output) => output,
        None => tool.run(args, inputs.shell)?,
    };
    if !output.status.success() {
        return Err(resolution_failure(
            &String::from_utf8_lossy(&output.stderr),
            inputs.offline,
        ));
    }
    let text = std::fs::read_to_string(&answer).map_err(|e| Error::io("read", &answer, e))?;
    let pins = tool.read_resolution(&text)?;
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

fn resolution_failure(stderr: &str, offline: bool) -> Error {
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
