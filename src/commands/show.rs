//! `nixpy show`: where everything comes from, and whether the cache is fresh.

use serde_json::json;

use crate::build::Context;
use crate::cli::ShowArgs;
use crate::entry::{warm, CacheEntry, ProjectCache};
use crate::error::Result;
use crate::nix::{is_store_path, store_path_of};
use crate::pip;
use crate::project::lockfile;
use crate::project::manifest::{self, VenvLink};
use crate::support::os_bytes;
use crate::venv;

pub(super) fn run(ctx: &Context, args: ShowArgs) -> Result<i32> {
    let location = ctx.locate()?;
    let manifest = manifest::load(&location.manifest, location.kind)?;
    let requirements = crate::project::pip_sources(&manifest)?;
    let lock = lockfile::read(&location.lock_path())?;
    let pc = ProjectCache::of(&location)?;
    let state = warm::staleness(&pc, ctx.nixpkgs_override.as_deref());
    let entry = match &state {
        Ok(entry) => Some(entry.clone()),
        Err(_) => pc.read_entry(),
    };
    let relative = |p: &std::path::Path| {
        p.strip_prefix(&location.root)
            .unwrap_or(p)
            .display()
            .to_string()
    };
    let manifest_name = relative(&location.manifest);
    // Read from the store once: it is the shell's whole environment.
    let shell = entry.as_ref().map(CacheEntry::shell_env);
    let store_paths: Vec<String> = shell
        .as_ref()
        .map(|s| {
            s.path
                .iter()
                .filter(|p| is_store_path(p))
                .map(|p| store_path_of(p).to_owned())
                .collect()
        })
        .unwrap_or_default();
    let nix_provided = shell
        .as_ref()
        .and_then(|s| pip::nix_provided(&pc.cache, &s.python).ok())
        .unwrap_or_default();
    let pins = lock
        .as_ref()
        .and_then(|l| l.pip.as_ref())
        .map(|p| p.packages.clone())
        .unwrap_or_default();
    let app_modules = shell
        .as_ref()
        .map(|s| app_module_lines(&s.app_modules, &manifest.python.to_string()))
        .unwrap_or_default();
    let venv_dir = entry.as_ref().and_then(|e| e.venv.clone());
    let hand_installed = venv_dir
        .as_deref()
        .map(venv::hand_installed)
        .unwrap_or_default();
    let venv_link = match &manifest.venv {
        VenvLink::At(link) => Some(link.clone()),
        VenvLink::Off => None,
    };
    let json = json!({
        "project": os_bytes::json_value(&location.root),
        "manifest": os_bytes::json_value(&location.manifest),
        "manifest_kind": match location.kind { manifest::ManifestKind::NixpyToml => "nixpy.toml", manifest::ManifestKind::Pyproject => "pyproject.toml [tool.nixpy]" },
        "nixpkgs": {
            "reference": ctx.nixpkgs_override.clone().unwrap_or(manifest.nixpkgs.clone()),
            "pinned": lock.as_ref().and_then(|l| l.nixpkgs.as_ref()).map(lockfile::NixpkgsPin::describe),
        },
        "python": {
            "attribute": manifest.python.to_string(),
            "interpreter": venv_dir.as_ref().map(|v| os_bytes::json_value(&v.join("bin/python"))),
            "venv": venv_dir.as_deref().map(os_bytes::json_value),
            "venv_link": venv_link.as_deref().map(os_bytes::json_value),
            "nix_interpreter": shell.as_ref().map(|s| s.python.clone()),
            "version": shell.as_ref().map(|s| s.python_version.clone()),
        },
        "packages": manifest.packages.iter().map(|p| json!({"attribute": p.to_string(), "source": manifest_name})).collect::<Vec<_>>(),
        "python_packages": manifest.python_packages.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "python_modules": app_modules.iter().map(|m| json!({"package": m.package, "source": m.source, "module": m.module, "application": m.application})).collect::<Vec<_>>(),
        "nixpkgs_config": serde_json::to_value(&manifest.nixpkgs_config).unwrap_or_default(),
        "nix_files": manifest.nix_files.iter().map(|p| relative(p)).collect::<Vec<_>>(),
        "store_paths": store_paths,
        "pip": {
            "sources": requirements.files.iter().map(|p| relative(p)).collect::<Vec<_>>(),
            "installer": manifest.installer.effective().name(),
            "pins": pins.iter().map(|p| json!({"name": p.name, "version": p.version, "requirement": p.requirement})).collect::<Vec<_>>(),
            "nix_provided": nix_provided.iter().map(|(n, v)| json!({"name": n, "version": v})).collect::<Vec<_>>(),
            "layer": entry.as_ref().and_then(|e| e.layer.as_ref()).map(|l| l.dir.clone()),
            "distributions": entry.as_ref().and_then(|e| e.layer.as_ref()).map(|l| l.dists.clone()).unwrap_or_default(),
            "installed_by_hand": hand_installed.iter().map(|(n, v)| json!({"name": n, "version": v})).collect::<Vec<_>>(),
        },
        "cache": match &state {
            Ok(_) => json!({"state": "fresh"}),
            Err(why) => json!({"state": "stale", "reason": why}),
        },
        "gc_roots": entry.as_ref().map(|e| e.roots.iter().map(|r| json!({"link": r.link, "registered": !r.is_missing()})).collect::<Vec<_>>()),
    });
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json).expect("json serialises")
        );
        return Ok(0);
    }
    let text = |v: &serde_json::Value| {
        v.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| "-".to_owned())
    };
    println!(
        "project:          {} ({})",
        location.root.display(),
        json["manifest_kind"].as_str().unwrap_or_default()
    );
    let pinned = json["nixpkgs"]["pinned"].as_str().map(str::to_owned);
    println!(
        "nixpkgs:          {}",
        pinned
            .unwrap_or_else(|| format!("{} (not pinned yet)", text(&json["nixpkgs"]["reference"])))
    );
    println!(
        "python:           {} -> {} ({})",
        manifest.python,
        text(&json["python"]["nix_interpreter"]),
        text(&json["python"]["version"])
    );
    println!(
        "interpreter:      {}{}",
        venv_dir.as_ref().map_or_else(
            || "-".to_owned(),
            |v| v.join("bin/python").display().to_string()
        ),
        match (&venv_link, &venv_dir) {
            (Some(link), Some(v)) if std::fs::read_link(link).is_ok_and(|t| &t == v) =>
                format!(" (linked as {})", relative(link)),
            (Some(link), _) if link.exists() => format!(" ({} is not nixpy's)", relative(link)),
            _ => String::new(),
        }
    );
    println!(
        "packages:         {}",
        list(manifest.packages.iter().map(ToString::to_string))
    );
    println!(
        "python-packages:  {}",
        list(manifest.python_packages.iter().map(ToString::to_string))
    );
    for (i, module) in app_modules.iter().enumerate() {
        let label = if i == 0 { "python modules:" } else { "" };
        println!("{label:17} {}", module.describe());
    }
    println!("nixpkgs config:   {}", manifest.nixpkgs_config.summary());
    println!(
        "nix-files:        {}",
        list(manifest.nix_files.iter().map(|p| relative(p)))
    );
    for path in json["store_paths"].as_array().into_iter().flatten() {
        println!("  {}", text(path));
    }
    println!(
        "pip sources:      {}",
        list(requirements.files.iter().map(|p| relative(p)))
    );
    println!(
        "pip installer:    {}",
        manifest.installer.effective().name()
    );
    println!(
        "pip pins:         {}",
        if pins.is_empty() {
            "none".to_owned()
        } else {
            pins.len().to_string()
        }
    );
    for pin in &pins {
        println!("  {}", pin.requirement);
    }
    if let Some(layer) = entry.as_ref().and_then(|e| e.layer.as_ref()) {
        println!(
            "pip layer:        {} ({} distribution(s))",
            layer.dir.display(),
            layer.dists.len()
        );
    }
    if !hand_installed.is_empty() {
        println!(
            "installed by hand, not in requirements: {}",
            list(hand_installed.iter().map(|(n, v)| format!("{n} {v}")))
        );
        println!(
            "  (the next environment change leaves them behind; `nixpy add --pip NAME` keeps one)"
        );
    }
    if !nix_provided.is_empty() {
        println!(
            "provided by Nix:  {}",
            list(nix_provided.iter().map(|(n, v)| format!("{n} {v}")))
        );
    }
    match &state {
        Ok(_) => println!("cache:            fresh"),
        Err(why) => println!("cache:            stale ({why}); the next run rebuilds"),
    }
    if let Some(root) = entry.as_ref().and_then(CacheEntry::lost_root) {
        println!(
            "gc root:          missing: {} is no longer registered with Nix, so the next \
             garbage collection deletes the environment; the next run registers it again",
            root.link.display()
        );
    }
    Ok(0)
}

fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// A listed Python package whose module the interpreter imports.
struct AppModule {
    package: String,
    source: String,
    /// The module's attribute path (`python312Packages.yt-dlp`).
    module: String,
    /// Listed as an application (its CLI stays as nixpkgs built it), not
    /// as a module of the project's interpreter.
    application: bool,
}

impl AppModule {
    /// "yt-dlp (modules/media.nix): CLI from nixpkgs, module from python312Packages.yt-dlp".
    fn describe(&self) -> String {
        if self.application {
            format!(
                "{} ({}): CLI from nixpkgs, module from {}",
                self.package, self.source, self.module
            )
        } else {
            format!(
                "{} ({}): module from {}",
                self.package, self.source, self.module
            )
        }
    }
}

/// The template's report of the modules that joined the interpreter.
fn app_module_lines(report: &str, python: &str) -> Vec<AppModule> {
    let Ok(report) = serde_json::from_str::<serde_json::Value>(report) else {
        return Vec::new();
    };
    // nixpkgs names an interpreter's set `python312Packages` beside `python312`.
    let set = if python.starts_with("python") && python[6..].chars().all(|c| c.is_ascii_digit()) {
        format!("{python}Packages")
    } else {
        format!("{python}.pkgs")
    };
    report["modules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| {
            Some(AppModule {
                package: m["package"].as_str()?.to_owned(),
                source: m["source"].as_str()?.to_owned(),
                module: format!("{set}.{}", m["module"].as_str()?),
                application: m["twin"].as_bool() == Some(true),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_modules_say_where_the_cli_and_the_module_come_from() {
        let report = r#"{"defaultPython":false,"modules":[
            {"module":"yt-dlp","package":"yt-dlp","source":"modules/media.nix","twin":true},
            {"module":"setuptools","package":"setuptools","source":"modules/python.nix","twin":false}]}"#;
        let lines: Vec<String> = app_module_lines(report, "python312")
            .iter()
            .map(AppModule::describe)
            .collect();
        assert_eq!(
            lines,
            [
                "yt-dlp (modules/media.nix): CLI from nixpkgs, module from python312Packages.yt-dlp",
                "setuptools (modules/python.nix): module from python312Packages.setuptools",
            ]
        );
        assert_eq!(
            app_module_lines(report, "pypy3")[0].module,
            "pypy3.pkgs.yt-dlp"
        );
        assert!(app_module_lines("not json", "python3").is_empty());
    }
}
