//! What Nix says it would build: for the warning before a cold build that
//! compiles CUDA or torch from source (hours that a binary cache saves).

use super::store::{derivation_name, is_store_path};

/// The derivations `nix build --dry-run` says it would build (Nix 2.8:
/// "these derivations will be built:"; later: "these 3 derivations will be
/// built:" / "this derivation will be built:"), as store paths.
pub(super) fn derivations_to_build(stderr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in stderr.lines() {
        let trimmed = line.trim();
        if !line.starts_with(' ') {
            inside = trimmed.ends_with("will be built:");
            continue;
        }
        if inside && is_store_path(trimmed) && trimmed.ends_with(".drv") {
            out.push(trimmed);
        }
    }
    out
}

/// Words in the names of packages that take hours to compile.
const HEAVY: &[&str] = &[
    "torch",
    "cuda",
    "cudnn",
    "nccl",
    "cutensor",
    "magma",
    "tensorflow",
    "jaxlib",
    "triton",
    "onnxruntime",
    "opencv",
];

/// The names (without hash and `.drv`) of the heavy derivations in `drvs`.
pub(crate) fn heavy_builds(drvs: &[String]) -> Vec<String> {
    drvs.iter()
        .map(|d| derivation_name(d))
        .filter(|name| {
            let lower = name.to_ascii_lowercase();
            HEAVY.iter().any(|h| lower.contains(h))
        })
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_lists_of_both_versions() {
        let nix_2_8 = "these derivations will be built:\n  /nix/store/aaa-python3.12-torch-2.5.1.drv\n  /nix/store/bbb-hello-2.12.drv\nthese paths will be fetched (1.2 MiB download, 5 MiB unpacked):\n  /nix/store/ccc-zlib-1.3\n";
        assert_eq!(
            derivations_to_build(nix_2_8),
            [
                "/nix/store/aaa-python3.12-torch-2.5.1.drv",
                "/nix/store/bbb-hello-2.12.drv"
            ]
        );
        let nix_2_24 = "this derivation will be built:\n  /nix/store/ddd-cuda_cudart-12.4.127.drv\nthese 2 paths will be fetched (0.1 MiB download):\n  /nix/store/eee-x\n";
        assert_eq!(
            derivations_to_build(nix_2_24),
            ["/nix/store/ddd-cuda_cudart-12.4.127.drv"]
        );
        let drvs: Vec<String> = derivations_to_build(nix_2_8)
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(heavy_builds(&drvs), ["python3.12-torch-2.5.1"]);
    }
}
