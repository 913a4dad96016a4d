//! The pip side of an environment: take the pip resolution from nixpy.lock
//! or resolve again (as the lock mode allows), then get the layer.

use super::groups::resolve_with_groups;
use super::inputs::PipInputs;
use super::installer::Tool;
use super::interpreter::nix_provided;
use super::layer::{build_layer, name_direct_references, LayerRef};
use super::resolve::resolve;
use crate::error::{Error, Result};
use crate::project::lockfile::{portable, LockMode, PipLock, PipUpgrade};
use crate::project::requirements::{self, RequirementSet};
use crate::support::hash::key_of;
use crate::ui;

pub(crate) struct PipOutcome {
    pub lock: PipLock,
    pub layer: LayerRef,
    pub resolution_key: String,
    /// `--frozen` installed a lock that no longer matches the requirements.
    pub from_stale_lock: bool,
}

pub(crate) fn ensure(inputs: &PipInputs<'_>) -> Result<PipOutcome> {
    let tool = Tool::new(inputs.installer, inputs.shell);
    let nix_provided = nix_provided(inputs.cache, &inputs.shell.python)?;
    let groups: Vec<String> = inputs.requirements.groups.keys().cloned().collect();
    check_conflicts(
        &inputs.requirements.with_groups(&groups),
        &nix_provided,
        &inputs.shell.python_version,
    )?;
    let resolution_key = resolution_key(inputs, tool, &nix_provided);
    let keep_pins = *inputs.upgrade == PipUpgrade::Keep;
    let lock = match (inputs.mode, inputs.lock) {
        (LockMode::Frozen, Some(lock)) => lock.clone(),
        (LockMode::Frozen, None) => {
            return Err(Error::new(
                "--frozen needs a nixpy.lock with the pip resolution, and there is none",
            )
            .with_hint("run `nixpy lock` and commit nixpy.lock"))
        }
        // --refresh resolves again when the lock may change: a local wheel
        // rebuilt under the same name and version has a new hash.
        (LockMode::Update | LockMode::Locked | LockMode::Check, Some(lock))
            if lock.inputs == resolution_key
                && keep_pins
                && !(inputs.refresh && inputs.mode == LockMode::Update) =>
        {
            lock.clone()
        }
        (LockMode::Locked, lock) => {
            let what = if lock.is_some() {
                "is out of date with the pip requirements"
            } else {
                "has no pip resolution"
            };
            return Err(Error::new(format!(
                "nixpy.lock {what}, and it may not be rewritten here (--locked or CI is set)"
            ))
            .with_hint("run `nixpy lock` on a development machine and commit nixpy.lock"));
        }
        (LockMode::Update | LockMode::Check, old) => {
            let phase = ui::Phase::start(format!(
                "resolving {} pip requirement(s) with {}",
                inputs.requirements.requirements.len(),
                tool.name()
            ));
            // The pins of the lock stay where they still fit, unless an
            // upgrade lets them move.
            let preferences = inputs.upgrade.preferences(old);
            let packages = if groups.is_empty() {
                resolve(
                    inputs,
                    inputs.requirements,
                    tool,
                    &nix_provided,
                    &preferences,
                )?
            } else {
                resolve_with_groups(inputs, tool, &nix_provided, &preferences)?
            };
            phase.finish();
            PipLock {
                inputs: resolution_key.clone(),
                installer: tool.name().to_owned(),
                packages,
            }
        }
    };
    // The layer holds what the selected groups need, of every group's pins.
    let layer = build_layer(inputs, tool, &lock.selection(inputs.groups))?;
    let mut lock = lock;
    name_direct_references(&mut lock, &layer.dir, inputs.project_root);
    Ok(PipOutcome {
        from_stale_lock: lock.inputs != resolution_key,
        lock,
        layer,
        resolution_key,
    })
}

fn check_conflicts(
    requirements: &RequirementSet,
    nix_provided: &[(String, String)],
    python_version: &str,
) -> Result<()> {
    let conflicts = requirements::conflicts_with_nix(requirements, nix_provided, python_version);
    let Some(first) = conflicts.first() else {
        return Ok(());
    };
    let lines: Vec<String> = conflicts
        .iter()
        .map(|c| {
            format!(
                "`{}` ({}) needs a version Nix does not provide: Nix has {} {}",
                c.requirement, c.origin, c.name, c.nix_version
            )
        })
        .collect();
    Err(Error::new(format!("pip requirements conflict with the Nix Python packages:\n  {}", lines.join("\n  "))).with_hint(format!(
        "relax the requirement to accept {} {}, or remove `{}` from python-packages so the pip layer provides it",
        first.name, first.nix_version, first.name
    )))
}

fn resolution_key(
    inputs: &PipInputs<'_>,
    tool: Tool<'_>,
    nix_provided: &[(String, String)],
) -> String {
    let reqs = inputs.requirements;
    let root = inputs.project_root;
    let provided: String = nix_provided
        .iter()
        .map(|(n, v)| format!("{n}=={v}\n"))
        .collect();
    let requirements = portable(&reqs.requirements_text(), root);
    let constraints = portable(&reqs.constraints_text(), root);
    let index = portable(&reqs.index.to_args().join("\n"), root);
    let python_version = &inputs.shell.python_version;
    let system = crate::flake::current_system();
    let mut parts: Vec<&[u8]> = vec![
        requirements.as_bytes(),
        constraints.as_bytes(),
        index.as_bytes(),
        provided.as_bytes(),
        python_version.as_bytes(),
        system.as_bytes(),
        tool.name().as_bytes(),
    ];
    // Dependency groups are resolved with the requirements. (A part only
    // when there are some, as below.)
    let groups = portable(&reqs.groups_text(), root);
    if !groups.is_empty() {
        parts.push(groups.as_bytes());
    }
    // What local projects (`-e ./lib`) need is part of the resolution.
    // (A part only when there are some: other projects keep their keys.)
    let local_projects: String = reqs
        .local_projects
        .iter()
        .map(|p| {
            format!(
                "{} {}\n",
                portable(&p.dir.display().to_string(), root),
                p.metadata_digest
            )
        })
        .collect();
    if !local_projects.is_empty() {
        parts.push(local_projects.as_bytes());
    }
    key_of(&parts)
}
