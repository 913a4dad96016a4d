//! The versions of the project's Nix packages under a pin: the interpreter,
//! `packages`, `python-packages`, and what else the shell's inputs carry
//! (the packages of nix-files), by name.

use std::collections::BTreeMap;
use std::path::Path;

use super::package_set::prelude;
use crate::error::Result;
use crate::flake::ShellPlan;
use crate::nix::Nix;

/// Name -> version of each Nix package the project's shell has, evaluated
/// (not built) from the generated flake in `flake_dir`. Names are the
/// manifest's attribute paths (`ffmpeg`, `python3`, `python3.pkgs.numpy`),
/// or the package name for the packages of nix-files.
pub(crate) fn nix_versions(
    nix: &Nix,
    flake_dir: &Path,
    plan: &ShellPlan,
) -> Result<BTreeMap<String, String>> {
    let expr = format!(
        "{prelude}let version = p: try (if p ? version then toString p.version else null); \
         python = at pkgs plan.python; \
         shell = try flake.devShells.${{system}}.default; \
         inputs = if shell == null then [ ] else (try ((shell.nativeBuildInputs or [ ]) ++ (shell.buildInputs or [ ]))); \
         in {{ \
           python = if python == null then null else version python; \
           packages = map (path: let p = at pkgs path; in if p == null then null else version p) plan.packages; \
           pythonPackages = map (path: if python == null then null else let p = at python.pkgs path; in if p == null then null else version p) plan.pythonPackages; \
           shell = map (p: {{ name = try (p.pname or null); version = version p; }}) (if inputs == null then [ ] else inputs); \
         }}",
        prelude = prelude(flake_dir, plan),
    );
    let answer = nix.eval_json("read the versions of the Nix packages", &expr)?;
    Ok(label_versions(plan, &answer))
}

/// The evaluated versions under their names (pure, for tests).
fn label_versions(plan: &ShellPlan, answer: &serde_json::Value) -> BTreeMap<String, String> {
    let mut versions = BTreeMap::new();
    let text = |v: &serde_json::Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    let python = plan.python.to_string();
    if let Some(version) = text(&answer["python"]) {
        versions.insert(python.clone(), version);
    }
    let listed = |key: &str| answer[key].as_array().cloned().unwrap_or_default();
    for (path, version) in plan.packages.iter().zip(listed("packages")) {
        if let Some(version) = text(&version) {
            versions.insert(path.to_string(), version);
        }
    }
    for (path, version) in plan.python_packages.iter().zip(listed("pythonPackages")) {
        if let Some(version) = text(&version) {
            versions.insert(format!("{python}.pkgs.{path}"), version);
        }
    }
    // The shell's other inputs (nix-files' packages, uv), by package name;
    // a name the manifest lists is already there under its attribute.
    let listed_names: Vec<String> = plan
        .packages
        .iter()
        .filter_map(|p| p.segments().last().cloned())
        .collect();
    for input in listed("shell") {
        let (Some(name), Some(version)) = (text(&input["name"]), text(&input["version"])) else {
            continue;
        };
        if !listed_names.contains(&name) && !versions.contains_key(&name) {
            versions.insert(name, version);
        }
    }
    versions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::manifest::{self, ManifestKind};

    #[test]
    fn versions_are_named_as_the_manifest_names_them() {
        let manifest = manifest::parse(
            Path::new("/p/nixpy.toml"),
            ManifestKind::NixpyToml,
            "packages = [\"ffmpeg\", \"nodePackages.pnpm\"]\npython-packages = [\"numpy\"]\n",
        )
        .unwrap();
        let plan = ShellPlan::new(&manifest, &manifest.nixpkgs, true);
        let answer = serde_json::json!({
            "python": "3.12.7",
            "packages": ["7.1", null],
            "pythonPackages": ["2.1.0"],
            "shell": [
                {"name": "ffmpeg", "version": "7.1"},
                {"name": "sox", "version": "14.4.2"},
                {"name": null, "version": "1"},
            ],
        });
        let versions = label_versions(&plan, &answer);
        let got: Vec<(&str, &str)> = versions
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("ffmpeg", "7.1"),
                ("python3", "3.12.7"),
                ("python3.pkgs.numpy", "2.1.0"),
                ("sox", "14.4.2"),
            ]
        );
    }
}
