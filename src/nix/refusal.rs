//! check-meta's refusals, as the template reports them: `nixpy-refused:
//! {"reason", "manifest", "cudaSupport"}` followed by nixpkgs' own message,
//! with the listed package that was being evaluated as context. Turned into
//! one error that names the refused package, the listed one that pulled it
//! in, the file, and the key that allows it.

use serde::Deserialize;

use crate::error::Error;

/// Where a listed package came from (the template's `nixpy-listed:` JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(super) struct Listed {
    /// The attribute path, for the manifest's lists.
    #[serde(default)]
    pub(super) attr: Option<String>,
    /// The package's name, for nix-files (which list values, not names).
    #[serde(default)]
    pub(super) name: Option<String>,
    /// `packages`, `python-packages`, `libraries`, `python` or `nix-files`.
    pub(super) list: String,
    /// The manifest or the nix-file, relative to the project.
    pub(super) source: String,
    /// For a Python application: the module twin that joined the interpreter.
    #[serde(default)]
    pub(super) module: Option<String>,
}

impl Listed {
    pub(super) fn from_json(text: &str) -> Option<Listed> {
        serde_json::from_str(text).ok()
    }

    /// The name as written, else the package's own.
    pub(super) fn label(&self) -> &str {
        self.attr
            .as_deref()
            .or(self.name.as_deref())
            .unwrap_or("a package")
    }

    /// "`torch` (python-packages in nixpy.toml)", "`openai-whisper` (modules/ml.nix)".
    pub(super) fn describe(&self) -> String {
        let twin = match &self.module {
            Some(module) => format!(", whose module `{module}` joined the interpreter"),
            None => String::new(),
        };
        if self.list == "nix-files" {
            format!("`{}` ({}{twin})", self.label(), self.source)
        } else {
            format!(
                "`{}` ({} in {}{twin})",
                self.label(),
                self.list,
                self.source
            )
        }
    }

    /// The last segment of the attribute path, or the name.
    fn leaf(&self) -> &str {
        let label = self.label();
        label.rsplit('.').next().unwrap_or(label)
    }
}

/// The marker's header.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    reason: String,
    #[serde(default)]
    manifest: String,
    #[serde(default)]
    cuda_support: bool,
}

/// One refusal: check-meta's reason and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    /// `unfree`, `broken`, `insecure`, `unsupported`, or another reason of
    /// nixpkgs' (`non-source`, `blocklisted`, `unknown-meta`, ...).
    pub(super) reason: String,
    /// `NAME-VERSION` of the refused package, when the message names it.
    pub(super) package: Option<String>,
    /// What nixpkgs says is wrong ("has an unfree license (‘CUDA EULA’)").
    pub(super) why: Option<String>,
    /// The project's manifest (`nixpy.toml`, `pyproject.toml`).
    pub(super) manifest: String,
    pub(super) cuda_support: bool,
}

impl Refusal {
    /// From the template's error message: the marker line, then nixpkgs'
    /// text in either of its wordings (since 2025: "Refusing to evaluate
    /// package 'NAME' in POS because it WHY"; before: "Package ‘NAME’ in
    /// POS WHY, refusing to evaluate.").
    pub(super) fn parse(message: &str, marker: &str) -> Option<Refusal> {
        let rest = message.split_once(marker)?.1;
        let (header, text) = rest.split_once('\n').unwrap_or((rest, ""));
        let header: Header = serde_json::from_str(header.trim()).ok()?;
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        let (package, why) =
            if let Some(after) = first.strip_prefix("Refusing to evaluate package '") {
                let (name, after) = after.split_once('\'').unzip();
                let why = after
                    .and_then(|a| a.split_once(" because it "))
                    .map(|(_, why)| why.trim_end_matches('.').to_owned());
                (name.map(str::to_owned), why)
            } else if let Some(after) = first.strip_prefix("Package ‘") {
                let (name, after) = after.split_once('’').unzip();
                // " in POSITION WHY, refusing to evaluate."
                let why = after
                    .and_then(|a| a.strip_prefix(" in "))
                    .and_then(|a| a.split_once(' '))
                    .map(|(_, why)| {
                        why.trim_end_matches('.')
                            .trim_end_matches(", refusing to evaluate")
                            .to_owned()
                    });
                (name.map(str::to_owned), why)
            } else {
                (None, None)
            };
        Some(Refusal {
            reason: header.reason,
            package,
            why,
            manifest: header.manifest,
            cuda_support: header.cuda_support,
        })
    }

    /// The package's name without its version (Nix's parseDrvName).
    pub(super) fn pname(&self) -> Option<&str> {
        self.package.as_deref().map(drv_name)
    }

    /// The manifest key that allows the package for the project, written
    /// as it goes under `[nixpkgs-config]`.
    pub(super) fn allow_key(&self) -> Option<String> {
        match self.reason.as_str() {
            "unfree" => Some(format!("allow-unfree = [\"{}\"]", self.pname()?)),
            "broken" => Some("allow-broken = true".to_owned()),
            "insecure" => Some(format!(
                "permitted-insecure-packages = [\"{}\"]",
                self.package.as_deref()?
            )),
            "unsupported" => Some("allow-unsupported-system = true".to_owned()),
            _ => None,
        }
    }

    /// The variable that allows it for one run (check-meta reads it).
    pub(super) fn allow_variable(&self) -> Option<&'static str> {
        match self.reason.as_str() {
            "unfree" => Some("NIXPKGS_ALLOW_UNFREE"),
            "broken" => Some("NIXPKGS_ALLOW_BROKEN"),
            "insecure" => Some("NIXPKGS_ALLOW_INSECURE"),
            "unsupported" => Some("NIXPKGS_ALLOW_UNSUPPORTED_SYSTEM"),
            _ => None,
        }
    }
}

/// One error for a refusal.
pub(super) fn explain(refusal: &Refusal, listed: Option<&Listed>) -> Error {
    let refused = refusal
        .package
        .clone()
        .or_else(|| listed.map(|l| l.label().to_owned()))
        .unwrap_or_else(|| "a package".to_owned());
    let why = refusal
        .why
        .clone()
        .unwrap_or_else(|| format!("is refused ({})", refusal.reason));
    let is_listed_itself = match (listed, refusal.pname()) {
        (Some(l), Some(pname)) => l.leaf() == pname || l.name.as_deref() == Some(pname),
        _ => false,
    };
    let mut message = match listed {
        Some(l) if is_listed_itself => format!("nixpkgs refuses {}: it {why}", l.describe()),
        Some(l) => format!(
            "nixpkgs refuses `{refused}`, which {} needs: it {why}",
            l.describe()
        ),
        None => format!("nixpkgs refuses `{refused}`: it {why}"),
    };
    if refusal.reason == "unfree"
        && refusal.cuda_support
        && refusal.pname().is_some_and(is_cuda_name)
    {
        message.push_str(" (cuda-support = true builds with CUDA, whose libraries are unfree)");
    }
    let table = if refusal.manifest.ends_with("pyproject.toml") {
        "[tool.nixpy.nixpkgs-config]"
    } else {
        "[nixpkgs-config]"
    };
    let hint = match (refusal.allow_key(), refusal.allow_variable()) {
        (Some(key), Some(variable)) => format!(
            "to allow it for this project, add to {table} in {}:\n    {key}\n  ({variable}=1 allows it for one run, unrecorded)",
            refusal.manifest
        ),
        _ => "remove the package, or pin another nixpkgs".to_owned(),
    };
    Error::new(message).with_hint(hint)
}

/// Names of NVIDIA's CUDA libraries in nixpkgs.
fn is_cuda_name(pname: &str) -> bool {
    let pname = pname.to_ascii_lowercase();
    [
        "cuda", "cudnn", "cublas", "cufft", "curand", "cusolver", "cusparse", "nccl", "cutensor",
        "tensorrt", "nvidia",
    ]
    .iter()
    .any(|n| pname.contains(n))
        || pname.starts_with("libcu")
        || pname.starts_with("libnv")
}

/// `cuda_cudart-12.4.127` -> `cuda_cudart`: the name ends at the first dash
/// followed by something other than a letter, as Nix's parseDrvName says.
pub(super) fn drv_name(name: &str) -> &str {
    let bytes = name.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'-' && bytes.get(i + 1).is_some_and(|c| !c.is_ascii_alphabetic()) {
            return &name[..i];
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKER: &str = "nixpy-refused: ";

    #[test]
    fn both_wordings_give_the_package_and_why() {
        let new = "nixpy-refused: {\"reason\":\"unfree\",\"manifest\":\"nixpy.toml\",\"cudaSupport\":true}\nRefusing to evaluate package 'cuda_cudart-12.4.127' in /nix/store/x/pkgs.nix:343 because it has an unfree license (‘CUDA EULA’)\na) To allow ...";
        let r = Refusal::parse(new, MARKER).unwrap();
        assert_eq!(r.reason, "unfree");
        assert_eq!(r.package.as_deref(), Some("cuda_cudart-12.4.127"));
        assert_eq!(
            r.why.as_deref(),
            Some("has an unfree license (‘CUDA EULA’)")
        );
        assert_eq!(r.allow_key().unwrap(), "allow-unfree = [\"cuda_cudart\"]");

        let old = "nixpy-refused: {\"reason\":\"insecure\",\"manifest\":\"nixpy.toml\"}\nPackage ‘openssl-1.1.1w’ in /nix/store/x/pkgs/development/libraries/openssl/default.nix:200 is marked as insecure, refusing to evaluate.\n\nKnown issues:";
        let r = Refusal::parse(old, MARKER).unwrap();
        assert_eq!(r.package.as_deref(), Some("openssl-1.1.1w"));
        assert_eq!(r.why.as_deref(), Some("is marked as insecure"));
        assert_eq!(
            r.allow_key().unwrap(),
            "permitted-insecure-packages = [\"openssl-1.1.1w\"]"
        );
        assert_eq!(r.allow_variable(), Some("NIXPKGS_ALLOW_INSECURE"));
    }

    #[test]
    fn the_listed_package_that_pulled_it_in_is_named() {
        let r = Refusal::parse("nixpy-refused: {\"reason\":\"unfree\",\"manifest\":\"nixpy.toml\",\"cudaSupport\":true}\nRefusing to evaluate package 'cuda_cudart-12.4.127' in p:1 because it has an unfree license (‘CUDA EULA’)", MARKER).unwrap();
        let listed =
            Listed::from_json(r#"{"attr":"torch","list":"python-packages","source":"nixpy.toml"}"#)
                .unwrap();
        let e = explain(&r, Some(&listed));
        assert_eq!(
            e.message,
            "nixpkgs refuses `cuda_cudart-12.4.127`, which `torch` (python-packages in nixpy.toml) needs: it has an unfree license (‘CUDA EULA’) (cuda-support = true builds with CUDA, whose libraries are unfree)"
        );
        let hint = e.hint.unwrap();
        assert!(
            hint.contains("[nixpkgs-config] in nixpy.toml:\n    allow-unfree = [\"cuda_cudart\"]"),
            "{hint}"
        );
        assert!(hint.contains("NIXPKGS_ALLOW_UNFREE=1"));
    }

    #[test]
    fn a_listed_package_refused_itself() {
        let r = Refusal::parse("nixpy-refused: {\"reason\":\"broken\",\"manifest\":\"pyproject.toml\"}\nRefusing to evaluate package 'oldtool-0.9' in p:1 because it is marked as broken", MARKER).unwrap();
        let listed = Listed::from_json(
            r#"{"attr":null,"name":"oldtool","list":"nix-files","source":"modules/tools.nix"}"#,
        )
        .unwrap();
        let e = explain(&r, Some(&listed));
        assert_eq!(
            e.message,
            "nixpkgs refuses `oldtool` (modules/tools.nix): it is marked as broken"
        );
        assert!(e
            .hint
            .unwrap()
            .contains("[tool.nixpy.nixpkgs-config] in pyproject.toml:\n    allow-broken = true"));
    }

    #[test]
    fn drv_names_end_at_the_version() {
        assert_eq!(drv_name("cuda_cudart-12.4.127"), "cuda_cudart");
        assert_eq!(drv_name("python3.12-yt-dlp-2025.1.12"), "python3.12-yt-dlp");
        assert_eq!(drv_name("openssl-1.1.1w"), "openssl");
        assert_eq!(drv_name("hello"), "hello");
    }
}
