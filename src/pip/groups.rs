//! Resolving with PEP 735 dependency groups: the requirements and every
//! group resolved together (one consistent set of pins, as uv locks them),
//! then, held at those pins, the requirements alone and with each group,
//! to record which groups need each pin. An environment installs the pins
//! of its selection only.

use std::collections::{BTreeMap, BTreeSet};

use super::inputs::PipInputs;
use super::installer::Tool;
use super::resolve::resolve;
use crate::error::Result;
use crate::project::lockfile::LockedPackage;
use crate::project::requirements::{Origin, Requirement, RequirementSet};

pub(super) fn resolve_with_groups(
    inputs: &PipInputs<'_>,
    tool: Tool<'_>,
    nix_provided: &[(String, String)],
    preferences: &[LockedPackage],
) -> Result<Vec<LockedPackage>> {
    let reqs = inputs.requirements;
    let names: Vec<String> = reqs.groups.keys().cloned().collect();
    let mut pins = resolve(
        inputs,
        &reqs.with_groups(&names),
        tool,
        nix_provided,
        preferences,
    )?;
    // Held at those versions, each selection resolves to a subset of them.
    let held = |set: RequirementSet| -> RequirementSet {
        let mut set = set;
        set.constraints
            .extend(
                pins.iter()
                    .filter(|p| !p.version.is_empty())
                    .map(|p| Requirement {
                        line: format!("{}=={}", p.name, p.version),
                        name: Some(p.name.clone()),
                        origin: Origin {
                            file: "nixpy.lock".into(),
                            line: 0,
                        },
                    }),
            );
        set
    };
    let names_of = |found: Vec<LockedPackage>| -> BTreeSet<String> {
        found.into_iter().map(|p| p.name).collect()
    };
    let base = names_of(resolve(
        inputs,
        &held(reqs.with_groups(&[])),
        tool,
        nix_provided,
        &[],
    )?);
    let mut needed_by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for name in &names {
        let with_group = held(reqs.with_groups(std::slice::from_ref(name)));
        needed_by.insert(
            name.clone(),
            names_of(resolve(inputs, &with_group, tool, nix_provided, &[])?),
        );
    }
    for pin in &mut pins {
        pin.groups = if base.contains(&pin.name) {
            Vec::new()
        } else {
            names
                .iter()
                .filter(|g| needed_by[*g].contains(&pin.name))
                .cloned()
                .collect()
        };
    }
    Ok(pins)
}
