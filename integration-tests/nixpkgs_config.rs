//! nixpkgs configuration (issue 17): one explicit config from the project,
//! check-meta's refusals and the NIXPKGS_ALLOW_* overrides, against the
//! stand-in's imitation of check-meta.

use std::path::Path;

use crate::harness::*;

/// A HOME whose nixpkgs settings would change the environment if read: all
/// unfree packages allowed, and an overlay replacing `hello`.
fn home_with_nixpkgs_settings() -> tempfile::TempDir {
    let home = temp_dir("nixpy-it-home-");
    let nixpkgs = home.path().join(".config/nixpkgs");
    std::fs::create_dir_all(nixpkgs.join("overlays")).unwrap();
    std::fs::write(nixpkgs.join("config.nix"), "{ allowUnfree = true; }\n").unwrap();
    std::fs::write(
        nixpkgs.join("overlays/hello.nix"),
        "final: prev: { hello = prev.jq; }\n",
    )
    .unwrap();
    home
}

fn set_mode_recursive(dir: &Path) {
    for path in walk(dir) {
        set_mode(&path, if path.is_dir() { 0o755 } else { 0o644 });
    }
}

#[test]
fn the_users_nixpkgs_config_and_overlays_are_not_read() {
    needs_nix!();
    let home = home_with_nixpkgs_settings();
    set_mode_recursive(home.path());
    let unfree = Project::with_manifest("packages = [\"unrar\"]\n");
    nixpy_run(&unfree, ["unrar"])
        .env("HOME", home.path())
        .outcome()
        .nixpy_error()
        .stderr_has("unrar");
    let overlaid = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy_run(&overlaid, ["hello"])
        .env("HOME", home.path())
        .outcome()
        .success()
        .stdout_is(&standin_version("hello", "2.12.1"));
    // NIXPKGS_CONFIG names a file read the same way.
    nixpy_run(&unfree, ["unrar"])
        .env(
            "NIXPKGS_CONFIG",
            home.path().join(".config/nixpkgs/config.nix"),
        )
        .outcome()
        .nixpy_error()
        .stderr_has("unrar");
}

#[test]
fn nixpkgs_allow_unfree_is_the_temporary_override() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"unrar\"]\n");
    nixpy_run(&project, ["unrar"])
        .env("NIXPKGS_ALLOW_UNFREE", "1")
        .outcome()
        .success()
        .stdout_is(&standin_version("unrar", "7.0.9"));
}

// ---------------------------------------------------------------------------
// Refusals: one error each, naming the package, the listing and the key
// ---------------------------------------------------------------------------

/// `nixpy run -- true` in a project with this manifest: nixpy's error.
fn refusal(manifest: &str) -> Outcome {
    let project = Project::with_manifest(manifest);
    nixpy_run(&project, ["true"]).outcome()
}

#[test]
fn each_refusal_is_one_error_with_the_key_that_allows_it() {
    needs_nix!();
    refusal("packages = [\"unrar\"]\n")
        .nixpy_error()
        .stderr_has("error: nixpkgs refuses `unrar` (packages in nixpy.toml): it has an unfree license (‘unfreeRedistributable’)\n")
        .stderr_has("hint: to allow it for this project, add to [nixpkgs-config] in nixpy.toml:\n    allow-unfree = [\"unrar\"]\n  (NIXPKGS_ALLOW_UNFREE=1 allows it for one run, unrecorded)")
        .stderr_lacks("Refusing to evaluate")
        .stderr_lacks("… ");
    refusal("packages = [\"oldtool\"]\n")
        .nixpy_error()
        .stderr_has(
            "error: nixpkgs refuses `oldtool` (packages in nixpy.toml): it is marked as broken\n",
        )
        .stderr_has("    allow-broken = true\n  (NIXPKGS_ALLOW_BROKEN=1");
    refusal("packages = [\"openssl_1_1\"]\n")
        .nixpy_error()
        .stderr_has("error: nixpkgs refuses `openssl-1.1.1w`, which `openssl_1_1` (packages in nixpy.toml) needs: it is marked as insecure\n")
        .stderr_has("    permitted-insecure-packages = [\"openssl-1.1.1w\"]\n  (NIXPKGS_ALLOW_INSECURE=1");
    refusal("packages = [\"darwintool\"]\n")
        .nixpy_error()
        .stderr_has("error: nixpkgs refuses `darwintool` (packages in nixpy.toml): it is not available on the requested hostPlatform:")
        .stderr_has("    allow-unsupported-system = true\n  (NIXPKGS_ALLOW_UNSUPPORTED_SYSTEM=1");
}

#[test]
fn a_refused_dependency_names_the_listed_package_that_needs_it() {
    needs_nix!();
    // torch with cuda-support needs the unfree CUDA runtime.
    refusal("python-packages = [\"torch\"]\n[nixpkgs-config]\ncuda-support = true\n")
        .nixpy_error()
        .stderr_has("error: nixpkgs refuses `cuda_cudart-12.4.127`, which `torch` (python-packages in nixpy.toml) needs: it has an unfree license (‘CUDA EULA’) (cuda-support = true builds with CUDA, whose libraries are unfree)\n")
        .stderr_has("    allow-unfree = [\"cuda_cudart\"]\n");
    // The same, pulled in by an application listed in a module; under
    // [tool.nixpy] the key goes in its own table.
    let project = Project::new()
        .file(
            "pyproject.toml",
            "[project]\nname = \"x\"\nversion = \"0\"\n[tool.nixpy]\nnix-files = [\"modules/ml.nix\"]\n[tool.nixpy.nixpkgs-config]\ncuda-support = true\n",
        )
        .file("modules/ml.nix", "{ pkgs, ... }: { home.packages = [ pkgs.openai-whisper ]; }\n");
    nixpy_run(&project, ["true"])
        .outcome()
        .nixpy_error()
        .stderr_has("which `openai-whisper` (modules/ml.nix")
        .stderr_has("add to [tool.nixpy.nixpkgs-config] in pyproject.toml:\n    allow-unfree = [\"cuda_cudart\"]");
}

#[test]
fn every_key_of_nixpkgs_config_reaches_nixpkgs() {
    needs_nix!();
    let project = Project::with_manifest(
        "packages = [\"unrar\", \"oldtool\", \"darwintool\", \"openssl_1_1\"]\npython-packages = [\"torch\"]\n\
         [nixpkgs-config]\nallow-unfree = [\"unrar\", \"cuda_cudart\"]\nallow-broken = true\nallow-unsupported-system = true\n\
         permitted-insecure-packages = [\"openssl-1.1.1w\"]\ncuda-support = true\ncuda-capabilities = [\"8.6\"]\nrocm-support = true\n",
    );
    let out = nixpy_python(
        &project,
        "import torch; print(torch.CUDA, torch.CUDA_CAPABILITIES, torch.ROCM)",
    )
    .outcome();
    out.success().stdout_is("True ['8.6'] True\n");
    for tool in ["unrar", "oldtool", "darwintool", "openssl"] {
        nixpy_run(&project, [tool]).outcome().success();
    }
    // allow-unfree = true allows every unfree package.
    let all =
        Project::with_manifest("packages = [\"unrar\"]\n[nixpkgs-config]\nallow-unfree = true\n");
    nixpy_run(&all, ["unrar"]).outcome().success();
    // The settings are recorded beside the pin.
    let lock = read_lock(&project);
    let config = &lock["nixpkgs"]["config"];
    assert_eq!(config["cudaSupport"].as_bool(), Some(true), "{lock}");
    assert_eq!(
        config["allowUnfree"][1].as_str(),
        Some("cuda_cudart"),
        "{lock}"
    );
    nixpy(&project).args(["show"]).outcome().success().stdout_has(
        "nixpkgs config:   allow-unfree = [unrar, cuda_cudart], allow-broken = true, allow-unsupported-system = true, cuda-support = true, rocm-support = true, permitted-insecure-packages = [openssl-1.1.1w], cuda-capabilities = [8.6]\n",
    );
}

#[test]
fn the_locked_settings_must_match_the_manifest_under_locked() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"hello\"]\n");
    nixpy_run(&project, ["hello"]).outcome().success();
    project.write(
        "nixpy.toml",
        "packages = [\"hello\"]\n[nixpkgs-config]\nallow-broken = true\n",
    );
    nixpy(&project)
        .args(["run", "--locked", "--", "hello"])
        .outcome()
        .nixpy_error()
        .stderr_has("nixpy.lock records other nixpkgs settings than [nixpkgs-config] of nixpy.toml (allow-broken = true)");
}

#[test]
fn nixpkgs_config_is_parsed_strictly() {
    for (table, needle) in [
        (
            "allow-everything = true\n",
            "unknown field `allow-everything`",
        ),
        (
            "allow-unfree = \"yes\"\n",
            "allow-unfree must be true, false or a list of package names, not a string",
        ),
        (
            "cuda-support = \"on\"\n",
            "invalid type: string \"on\", expected a boolean",
        ),
        (
            "cuda-capabilities = [\"sm_86\"]\n",
            "not a CUDA compute capability",
        ),
    ] {
        let project = Project::with_manifest(&format!("packages = []\n[nixpkgs-config]\n{table}"));
        nixpy_run(&project, ["true"])
            .outcome()
            .nixpy_error()
            .stderr_has(needle)
            .stderr_has_position("nixpy.toml", 3);
    }
}

// ---------------------------------------------------------------------------
// NIXPKGS_ALLOW_*: a temporary override, part of the fingerprint, noted
// ---------------------------------------------------------------------------

#[test]
fn an_allow_variable_is_fingerprinted_and_noted_once() {
    needs_nix!();
    let project = Project::with_manifest("packages = [\"unrar\"]\n");
    let note = "NIXPKGS_ALLOW_UNFREE=1 allows unfree packages in the runs that set it; the project does not record it (to record it, set allow-unfree = true (or a list of package names) under [nixpkgs-config] in nixpy.toml)";
    nixpy_run(&project, ["unrar"])
        .env("NIXPKGS_ALLOW_UNFREE", "1")
        .outcome()
        .success()
        .stderr_has(note);
    // The next run with it set is the warm path: no note, no build.
    let warm = nixpy_run(&project, ["unrar"])
        .env("NIXPKGS_ALLOW_UNFREE", "1")
        .outcome();
    warm.success().stderr_lacks("NIXPKGS_ALLOW_UNFREE");
    assert!(phase_lines(&warm.stderr).is_empty(), "{}", warm.stderr);
    // Without it, the environment is not the same one: refused again.
    nixpy_run(&project, ["unrar"])
        .outcome()
        .nixpy_error()
        .stderr_has("nixpkgs refuses `unrar`");
}

// ---------------------------------------------------------------------------
// CUDA: binary caches, the warning before compiling, the GPU driver
// ---------------------------------------------------------------------------

#[test]
fn a_cold_cuda_build_is_announced_with_a_cache_to_use() {
    needs_nix!();
    // A capability of its own, so that this torch has to be built.
    let project = Project::with_manifest(&format!(
        "python-packages = [\"torch\"]\n[nixpkgs-config]\nallow-unfree = [\"cuda_cudart\"]\ncuda-support = true\ncuda-capabilities = [\"{}.0\"]\n",
        std::process::id() % 1000 + 100
    ));
    let out = nixpy_run(&project, ["true"]).outcome();
    out.success()
        .stderr_has("no binary cache in use has ")
        .stderr_has("torch-2.5.1")
        .stderr_has("they will be compiled from source, which can take hours")
        .stderr_has("substituters = [\"https://cuda-maintainers.cachix.org\"]");
    // Once built, nothing is announced.
    nixpy(&project)
        .args(["run", "--refresh", "--", "true"])
        .outcome()
        .success()
        .stderr_lacks("no binary cache in use has");
}

#[test]
fn the_projects_binary_caches_are_used() {
    needs_nix!();
    let name = unique_name("nixpy-it-cached");
    let marker = temp_dir("nixpy-it-allow-build-");
    let allow = marker.path().join("allowed");
    std::fs::write(&allow, "").unwrap();
    set_mode(marker.path(), 0o755);
    let script = format!(
        "trap '( while read -r _ _ s _ 2>/dev/null < /proc/$$/stat && [ \"$s\" != Z ]; do :; done ) &' EXIT\n\
         [ -e {allow} ] || {{ echo 'built here instead of fetched' >&2; exit 1; }}\n\
         /bin/mkdir -p \"$out/bin\"\n\
         printf '#!/bin/sh\\necho fetched ok\\n' > \"$out/bin/{name}\"\n\
         /bin/chmod +x \"$out/bin/{name}\"\n",
        allow = allow.display()
    );
    let tool = format!(
        "[ (builtins.derivation {{ name = {}; system = builtins.currentSystem; builder = \"/bin/bash\"; args = [ \"-c\" {} ]; }}) ]\n",
        nix_string(&name),
        nix_string(&script)
    );
    let project = Project::with_manifest("nix-files = [\"tool.nix\"]\n").file("tool.nix", &tool);
    // Built and pushed to a signed file:// cache, then deleted here.
    let built = std::process::Command::new("nix")
        .args(["build", "--no-link", "--json", "--impure", "--expr"])
        .arg(format!(
            "builtins.head (import {})",
            project.path("tool.nix").display()
        ))
        .env("NIX_CONFIG", NIX_CONFIG)
        .outcome();
    let out_path = built.success().json()[0]["outputs"]["out"]
        .as_str()
        .unwrap()
        .to_owned();
    let keys_dir = temp_dir("nixpy-it-keys-");
    let (secret, public) = (keys_dir.path().join("sec"), keys_dir.path().join("pub"));
    std::process::Command::new("nix-store")
        .arg("--generate-binary-cache-key")
        .arg("nixpy-it-project-cache")
        .args([&secret, &public])
        .outcome()
        .success();
    let public = std::fs::read_to_string(&public).unwrap().trim().to_owned();
    let cache_dir = temp_dir("nixpy-it-binary-cache-");
    let cache = cache_dir.path().join("cache");
    std::process::Command::new("nix")
        .args(["copy", "--to"])
        .arg(format!(
            "file://{}?secret-key={}",
            cache.display(),
            secret.display()
        ))
        .arg(&out_path)
        .env("NIX_CONFIG", NIX_CONFIG)
        .outcome()
        .success();
    std::process::Command::new("nix-store")
        .args(["--delete", &out_path])
        .env("NIX_CONFIG", NIX_CONFIG)
        .outcome()
        .success();
    std::fs::remove_file(&allow).unwrap();
    // Without the project's cache it would have to be built, and cannot.
    nixpy_run(&project, [name.as_str()])
        .outcome()
        .nixpy_error()
        .stderr_has("built here instead of fetched");
    project.write(
        "nixpy.toml",
        &format!(
            "nix-files = [\"tool.nix\"]\nsubstituters = [{}]\ntrusted-public-keys = [{}]\n",
            toml_string(&format!("file://{}", cache.display())),
            toml_string(&public)
        ),
    );
    nixpy_run(&project, [name.as_str()])
        .outcome()
        .success()
        .stdout_is("fetched ok\n");
}

#[test]
fn doctor_checks_the_gpu_driver_of_a_cuda_project() {
    let plain = Project::with_manifest("packages = []\n");
    nixpy(&plain)
        .arg("doctor")
        .outcome()
        .stdout_has("skip  gpu driver    the project does not build with CUDA (cuda-support)\n");
    let cuda = Project::with_manifest("[nixpkgs-config]\ncuda-support = true\n");
    let out = nixpy(&cuda).arg("doctor").outcome();
    // This machine has no NVIDIA driver where nixpkgs looks for it.
    if std::path::Path::new("/run/opengl-driver/lib/libcuda.so.1").exists() {
        out.stdout_has("ok    gpu driver    libcuda.so.1 in /run/opengl-driver/lib");
    } else {
        out.code(1)
            .stdout_has("FAIL  gpu driver    ")
            .stdout_has("fix: ")
            .stdout_lacks("LD_LIBRARY_PATH=");
    }
}
