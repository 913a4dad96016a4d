//! `[nixpkgs-config]` (or `[tool.nixpy.nixpkgs-config]`): the nixpkgs
//! settings of the project, the only ones its environment sees (the user's
//! `~/.config/nixpkgs` is not read). They reach Nix as JSON data in
//! plan.json, in nixpkgs' own config names; the template builds the config.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::Error;

/// The table as written. Unknown keys are errors that list the valid ones.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawNixpkgsConfig {
    /// `true`, `false`, or a list of package names.
    allow_unfree: Option<Spanned<toml::Value>>,
    allow_broken: Option<Spanned<bool>>,
    allow_unsupported_system: Option<Spanned<bool>>,
    permitted_insecure_packages: Option<Vec<Spanned<String>>>,
    cuda_support: Option<Spanned<bool>>,
    cuda_capabilities: Option<Vec<Spanned<String>>>,
    rocm_support: Option<Spanned<bool>>,
}

/// The validated settings. Unset keys keep nixpkgs' defaults (everything
/// refused, no CUDA); plan.json carries the set ones in nixpkgs' names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NixpkgsConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_unfree: Option<AllowUnfree>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_broken: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_unsupported_system: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permitted_insecure_packages: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cuda_support: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cuda_capabilities: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rocm_support: Option<bool>,
}

/// `allow-unfree`: all unfree packages, or these (by `lib.getName`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub(crate) enum AllowUnfree {
    All(bool),
    Packages(Vec<String>),
}

impl NixpkgsConfig {
    pub(crate) fn is_empty(&self) -> bool {
        *self == NixpkgsConfig::default()
    }

    /// Whether the project builds with CUDA or ROCm (heavy builds).
    pub(crate) fn gpu_support(&self) -> bool {
        self.cuda_support == Some(true) || self.rocm_support == Some(true)
    }

    /// One line for `nixpy show`, in the manifest's words.
    pub(crate) fn summary(&self) -> String {
        let mut parts = Vec::new();
        let list = |items: &[String]| format!("[{}]", items.join(", "));
        match &self.allow_unfree {
            Some(AllowUnfree::All(allow)) => parts.push(format!("allow-unfree = {allow}")),
            Some(AllowUnfree::Packages(names)) => {
                parts.push(format!("allow-unfree = {}", list(names)));
            }
            None => {}
        }
        let flags = [
            ("allow-broken", self.allow_broken),
            ("allow-unsupported-system", self.allow_unsupported_system),
            ("cuda-support", self.cuda_support),
            ("rocm-support", self.rocm_support),
        ];
        for (key, value) in flags {
            if let Some(value) = value {
                parts.push(format!("{key} = {value}"));
            }
        }
        if let Some(names) = &self.permitted_insecure_packages {
            parts.push(format!("permitted-insecure-packages = {}", list(names)));
        }
        if let Some(capabilities) = &self.cuda_capabilities {
            parts.push(format!("cuda-capabilities = {}", list(capabilities)));
        }
        if parts.is_empty() {
            "nixpkgs' defaults".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// Validates the table; `error_at` renders an error at a value's span.
pub(super) fn validate(
    raw: RawNixpkgsConfig,
    error_at: &dyn Fn(std::ops::Range<usize>, &str, &str) -> Error,
) -> Result<NixpkgsConfig, Error> {
    let allow_unfree = match raw.allow_unfree {
        None => None,
        Some(value) => {
            let span = value.span();
            let names_hint = "write `allow-unfree = true` (every unfree package) or a list of package names, such as [\"cuda_cudart\"]";
            Some(match value.into_inner() {
                toml::Value::Boolean(all) => AllowUnfree::All(all),
                toml::Value::Array(items) => {
                    let mut names = Vec::new();
                    for item in items {
                        match item.as_str() {
                            Some(name) if is_package_name(name) => names.push(name.to_owned()),
                            _ => {
                                return Err(error_at(
                                    span,
                                    "allow-unfree lists package names (strings such as \"cuda_cudart\")",
                                    names_hint,
                                ))
                            }
                        }
                    }
                    AllowUnfree::Packages(names)
                }
                other => {
                    return Err(error_at(
                        span,
                        &format!(
                            "allow-unfree must be true, false or a list of package names, not a {}",
                            other.type_str()
                        ),
                        names_hint,
                    ))
                }
            })
        }
    };
    let permitted_insecure_packages = checked_list(
        raw.permitted_insecure_packages,
        |name| is_package_name(name) && name.contains('-'),
        "not a package name with its version",
        "write the name and version nixpkgs refuses, such as \"openssl-1.1.1w\"",
        error_at,
    )?;
    let cuda_capabilities = checked_list(
        raw.cuda_capabilities,
        is_cuda_capability,
        "not a CUDA compute capability",
        "write versions such as \"8.6\" (see developer.nvidia.com/cuda-gpus)",
        error_at,
    )?;
    Ok(NixpkgsConfig {
        allow_unfree,
        allow_broken: raw.allow_broken.map(Spanned::into_inner),
        allow_unsupported_system: raw.allow_unsupported_system.map(Spanned::into_inner),
        permitted_insecure_packages,
        cuda_support: raw.cuda_support.map(Spanned::into_inner),
        cuda_capabilities,
        rocm_support: raw.rocm_support.map(Spanned::into_inner),
    })
}

/// The strings of `list`, when it is given; the first that `valid`
/// refuses is an error at its value.
fn checked_list(
    list: Option<Vec<Spanned<String>>>,
    valid: fn(&str) -> bool,
    message: &str,
    hint: &str,
    error_at: &dyn Fn(std::ops::Range<usize>, &str, &str) -> Error,
) -> Result<Option<Vec<String>>, Error> {
    list.map(|list| {
        list.into_iter()
            .map(|value| {
                if valid(value.get_ref()) {
                    Ok(value.into_inner())
                } else {
                    Err(error_at(value.span(), message, hint))
                }
            })
            .collect()
    })
    .transpose()
}

/// A derivation name as nixpkgs writes them (`cuda_cudart`, `openssl-1.1.1w`).
fn is_package_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c))
}

/// `8.6`, `9.0a`.
fn is_cuda_capability(text: &str) -> bool {
    let Some((major, minor)) = text.split_once('.') else {
        return false;
    };
    let minor = minor.trim_end_matches(|c: char| c.is_ascii_lowercase());
    !major.is_empty()
        && !minor.is_empty()
        && major.chars().all(|c| c.is_ascii_digit())
        && minor.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NixpkgsConfig, Error> {
        let raw: RawNixpkgsConfig = toml::from_str(text).map_err(|e| Error::new(e.to_string()))?;
        validate(raw, &|span, message, _| {
            Error::new(format!("{}..{}: {message}", span.start, span.end))
        })
    }

    #[test]
    fn the_keys_become_nixpkgs_config_names() {
        let config = parse(
            "allow-unfree = [\"cuda_cudart\"]\nallow-broken = false\npermitted-insecure-packages = [\"openssl-1.1.1w\"]\ncuda-support = true\ncuda-capabilities = [\"8.6\"]\nrocm-support = false\n",
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&config).unwrap(),
            serde_json::json!({
                "allowUnfree": ["cuda_cudart"],
                "allowBroken": false,
                "permittedInsecurePackages": ["openssl-1.1.1w"],
                "cudaSupport": true,
                "cudaCapabilities": ["8.6"],
                "rocmSupport": false,
            })
        );
        assert!(config.gpu_support());
        assert_eq!(
            serde_json::to_value(parse("allow-unfree = true\n").unwrap()).unwrap(),
            serde_json::json!({ "allowUnfree": true })
        );
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn wrong_values_point_at_themselves() {
        let err = parse("allow-unfree = \"yes\"\n").unwrap_err();
        assert!(
            err.message.contains("must be true, false or a list"),
            "{}",
            err.message
        );
        assert!(parse("allow-unfree = [1]\n")
            .unwrap_err()
            .message
            .contains("package names"));
        assert!(parse("cuda-capabilities = [\"sm_86\"]\n")
            .unwrap_err()
            .message
            .contains("not a CUDA compute capability"));
        assert!(parse("permitted-insecure-packages = [\"openssl\"]\n")
            .unwrap_err()
            .message
            .contains("with its version"));
        assert!(parse("allow-broken = \"true\"\n").is_err());
        assert!(parse("allow-everything = true\n")
            .unwrap_err()
            .message
            .contains("unknown field"));
    }

    #[test]
    fn the_summary_uses_the_manifests_words() {
        let config = parse("allow-unfree = [\"cuda_cudart\"]\ncuda-support = true\n").unwrap();
        assert_eq!(
            config.summary(),
            "allow-unfree = [cuda_cudart], cuda-support = true"
        );
        assert_eq!(parse("").unwrap().summary(), "nixpkgs' defaults");
    }
}
