//! `nixpy doctor`: checks the set-up nixpy depends on, each finding with its
//! fix. Exits 0 only when every check passes.

use std::path::{Path, PathBuf};

use crate::build::Context;
use crate::entry::{CacheEntry, ProjectCache};
use crate::layout::Cache;
use crate::nix::{self, Nix};
use crate::project::{lockfile, manifest, ProjectLocation};
use crate::support::{disk_usage, process};

enum Outcome {
    Pass(String),
    Fail(String, String),
    /// Not applicable here (no project, no direnv in use).
    Skip(String),
}

pub(super) fn run(ctx: &Context) -> i32 {
    let mut checks: Vec<(&str, Outcome)> = Vec::new();
    let nix_program = which::which("nix").ok();
    checks.push(("nix", check_nix(nix_program.as_deref())));
    if let Some(program) = &nix_program {
        checks.push(("flakes", check_flakes(program)));
        checks.push(("nix store", check_store()));
    }
    checks.push(("cache folder", check_cache()));
    match ctx.locate() {
        Ok(location) => {
            checks.push((
                "project",
                Outcome::Pass(format!(
                    "{} ({})",
                    location.root.display(),
                    location.manifest.display()
                )),
            ));
            checks.push(("nixpkgs pin", check_pin(&location.lock_path())));
            let entry = ProjectCache::of(&location)
                .ok()
                .and_then(|pc| pc.read_entry());
            if let Some(entry) = &entry {
                checks.push(("gc roots", check_roots(entry)));
            }
            checks.push(("installer", check_installer(entry.as_ref())));
            checks.push(("direnv", check_direnv(&location.root)));
            checks.push(("gpu driver", check_gpu_driver(&location)));
        }
        Err(err) => checks.push((
            "project",
            Outcome::Skip(format!("none here ({})", err.message)),
        )),
    }
    let mut failed = 0;
    for (name, outcome) in &checks {
        match outcome {
            Outcome::Pass(what) => println!("ok    {name:13} {what}"),
            Outcome::Skip(what) => println!("skip  {name:13} {what}"),
            Outcome::Fail(what, fix) => {
                failed += 1;
                println!("FAIL  {name:13} {what}\n      {:13} fix: {fix}", "");
            }
        }
    }
    if failed == 0 {
        println!("all checks passed");
        0
    } else {
        println!("{failed} check(s) failed");
        1
    }
}

fn output_of(program: &Path, args: &[&str]) -> Result<String, String> {
    let out = process::capture(duct::cmd(program, args)).map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("failed")
            .to_owned())
    }
}

fn check_nix(program: Option<&Path>) -> Outcome {
    let Some(program) = program else {
        let err = nix::not_installed();
        return Outcome::Fail(err.message, err.hint.unwrap_or_default());
    };
    match output_of(program, &["--version"]) {
        Ok(version) => Outcome::Pass(format!("{version} at {}", program.display())),
        Err(e) => Outcome::Fail(
            format!("`nix --version` failed: {e}"),
            "reinstall Nix".into(),
        ),
    }
}

fn check_flakes(program: &Path) -> Outcome {
    match output_of(
        program,
        &[&nix::FEATURES[..], &["eval", "--raw", "--expr", "\"ok\""]].concat(),
    ) {
        Ok(_) => {
            Outcome::Pass("nix-command and flakes usable (nixpy enables them per call)".into())
        }
        Err(e) => Outcome::Fail(
            format!("cannot evaluate with flakes enabled: {e}"),
            "upgrade Nix to 2.8 or newer".into(),
        ),
    }
}

/// What the store Nix uses says about itself (`nix store info`, or
/// `ping` on older Nix), as this user sees it: local or a daemon, its
/// version, whether the daemon trusts this user; or why it cannot be
/// reached, with the fix that applies.
fn check_store() -> Outcome {
    let nix = match Nix::locate(&nix::Substituters::default()) {
        Ok(nix) => nix,
        Err(e) => return Outcome::Fail(e.message, e.hint.unwrap_or_default()),
    };
    let info = match nix.store_info() {
        Ok(Ok(info)) => info,
        Ok(Err(stderr)) => {
            return match nix::store_problem(&stderr) {
                Some(problem) => Outcome::Fail(problem.message(), problem.fix()),
                None => Outcome::Fail(
                    format!(
                        "Nix cannot open its store: {}",
                        stderr
                            .lines()
                            .rfind(|l| l.contains("error"))
                            .unwrap_or("failed")
                            .trim()
                    ),
                    "run `nix store ping` to see Nix's own words".into(),
                ),
            };
        }
        Err(e) => return Outcome::Fail(e.message, e.hint.unwrap_or_default()),
    };
    let version = info
        .version
        .as_deref()
        .map_or_else(String::new, |v| format!(", Nix {v}"));
    if info.is_local() {
        let daemon_too = Path::new(&nix::daemon_socket()).exists();
        let note = if daemon_too {
            "; a nix-daemon also runs (NIX_REMOTE=daemon would use it)"
        } else {
            ""
        };
        return Outcome::Pass(format!("local store, opened by Nix itself{version}{note}"));
    }
    if !info.is_daemon() {
        return Outcome::Pass(format!("store {}{version}", info.url));
    }
    let user = nix::user_name();
    Outcome::Pass(match info.trusted {
        Some(true) => format!("nix-daemon{version}; {user} is a trusted user"),
        Some(false) => format!(
            "nix-daemon{version}; {user} is not a trusted user: only the substituters and keys of the admin's nix.conf count (`trusted-substituters`, `trusted-public-keys`)"
        ),
        None => format!("nix-daemon{version}"),
    })
}

/// The environment's GC roots are registered with Nix (a garbage
/// collection drops one whose link was away for a moment).
fn check_roots(entry: &CacheEntry) -> Outcome {
    match entry.lost_root() {
        None => Outcome::Pass(format!("{} registered", entry.roots.len())),
        Some(root) => Outcome::Fail(
            format!(
                "the GC root {} is no longer registered with Nix: the next garbage collection deletes what it keeps",
                root.link.display()
            ),
            "run `nixpy run -- true` in the project: it registers the root again".into(),
        ),
    }
}

fn check_cache() -> Outcome {
    let cache = match Cache::locate() {
        Ok(c) => c,
        Err(e) => return Outcome::Fail(e.message, e.hint.unwrap_or_default()),
    };
    if let Err(e) = cache.ensure(&cache.root) {
        return Outcome::Fail(e.message, "set NIXPY_CACHE_DIR to a writable folder".into());
    }
    match tempfile::tempfile_in(&cache.root) {
        Ok(_) => Outcome::Pass(format!(
            "{} ({})",
            cache.root.display(),
            disk_usage::human_bytes(disk_usage::tree_size(&cache.root))
        )),
        Err(e) => Outcome::Fail(
            format!("{} is not writable: {e}", cache.root.display()),
            "set NIXPY_CACHE_DIR to a writable folder".into(),
        ),
    }
}

fn check_pin(lock: &Path) -> Outcome {
    match lockfile::read(lock) {
        Ok(Some(l)) => match l.nixpkgs {
            Some(pin) => Outcome::Pass(format!("nixpkgs pinned: {}", pin.describe())),
            None => Outcome::Fail(
                "nixpy.lock does not pin nixpkgs".into(),
                "run `nixpy lock` and commit nixpy.lock".into(),
            ),
        },
        Ok(None) => Outcome::Fail(
            "no nixpy.lock: nixpkgs is not pinned".into(),
            "run `nixpy lock` and commit nixpy.lock".into(),
        ),
        Err(e) => Outcome::Fail(e.message, e.hint.unwrap_or_default()),
    }
}

fn check_installer(entry: Option<&CacheEntry>) -> Outcome {
    let Some(entry) = entry else {
        return Outcome::Skip("environment not built yet (`nixpy run -- true` builds it)".into());
    };
    let shell = entry.shell_env();
    if !shell.uv.is_empty() && Path::new(&shell.uv).exists() {
        Outcome::Pass(format!("uv from the Nix shell: {}", shell.uv))
    } else if entry.layer.is_none() {
        Outcome::Pass("no pip requirements; no installer needed".into())
    } else {
        Outcome::Pass(format!("pip of the Nix Python: {}", shell.python))
    }
}

fn check_direnv(root: &Path) -> Outcome {
    let envrc = root.join(".envrc");
    let uses_nixpy = std::fs::read_to_string(&envrc).is_ok_and(|t| t.contains("use nixpy"));
    if !uses_nixpy {
        return Outcome::Skip("the project's .envrc does not `use nixpy`".into());
    }
    if which::which("direnv").is_err() {
        return Outcome::Fail(
            "the .envrc uses nixpy but direnv is not installed".into(),
            "install direnv (`apt-get install direnv`) and hook it into your shell".into(),
        );
    }
    let home = std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_default();
    let hooked = [".bashrc", ".zshrc", ".config/fish/config.fish"]
        .iter()
        .any(|rc| std::fs::read_to_string(home.join(rc)).is_ok_and(|t| t.contains("direnv hook")));
    if hooked {
        Outcome::Pass("direnv installed and hooked into the shell".into())
    } else {
        Outcome::Fail(
            "direnv is installed but not hooked into your shell".into(),
            "add `eval \"$(direnv hook bash)\"` to ~/.bashrc (zsh: `direnv hook zsh`; fish: `direnv hook fish | source`)".into(),
        )
    }
}

/// Where nixpkgs' CUDA libraries look for the NVIDIA driver (their RUNPATH,
/// from addDriverRunpath): NixOS links the driver here.
const DRIVER_LINK_DIR: &str = "/run/opengl-driver/lib";

/// Where other distributions install `libcuda.so.1`.
const HOST_DRIVER_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/lib/wsl/lib",
];

/// Where the NVIDIA driver is, for a project built with CUDA.
#[derive(Debug, PartialEq, Eq)]
enum Driver {
    /// Where nixpkgs' CUDA libraries find it.
    Reachable,
    /// On the host, in this folder, but not where nixpkgs looks.
    HostOnly(PathBuf),
    Missing,
}

fn find_driver(exists: impl Fn(&Path) -> bool) -> Driver {
    if exists(&Path::new(DRIVER_LINK_DIR).join("libcuda.so.1")) {
        return Driver::Reachable;
    }
    HOST_DRIVER_DIRS
        .iter()
        .map(PathBuf::from)
        .find(|dir| exists(&dir.join("libcuda.so.1")))
        .map_or(Driver::Missing, Driver::HostOnly)
}

/// A project with `cuda-support = true` runs CUDA code: the driver must be
/// where nixpkgs' CUDA libraries look for it. Exposing it there reaches
/// exactly the programs Nix built for CUDA (the project's interpreter among
/// them), never everything as a global LD_LIBRARY_PATH would.
fn check_gpu_driver(location: &ProjectLocation) -> Outcome {
    let cuda = manifest::load(&location.manifest, location.kind)
        .is_ok_and(|m| m.nixpkgs_config.cuda_support == Some(true));
    if !cuda {
        return Outcome::Skip("the project does not build with CUDA (cuda-support)".into());
    }
    gpu_driver_outcome(&find_driver(Path::exists))
}

fn gpu_driver_outcome(driver: &Driver) -> Outcome {
    match driver {
        Driver::Reachable => Outcome::Pass(format!(
            "libcuda.so.1 in {DRIVER_LINK_DIR}, where nixpkgs' CUDA libraries look"
        )),
        Driver::HostOnly(dir) => Outcome::Fail(
            format!(
                "the NVIDIA driver (libcuda.so.1) is in {}, but nixpkgs' CUDA libraries look in {DRIVER_LINK_DIR}",
                dir.display()
            ),
            format!(
                "link the driver's libraries there (only programs Nix built for CUDA look there; no LD_LIBRARY_PATH): \
                 sudo mkdir -p {DRIVER_LINK_DIR} && sudo ln -sf {dir}/libcuda.so* {dir}/libnvidia-*.so* {DRIVER_LINK_DIR}/ \
                 (/run is emptied at boot: a systemd-tmpfiles rule or nix-gl-host keeps it)",
                dir = dir.display()
            ),
        ),
        Driver::Missing => Outcome::Fail(
            "no NVIDIA driver found (libcuda.so.1): CUDA code cannot run on this machine".into(),
            format!(
                "install your distribution's NVIDIA driver (on NixOS: hardware.nvidia with hardware.graphics.enable), \
                 then make {DRIVER_LINK_DIR} hold libcuda.so.1"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_driver_is_looked_for_where_nixpkgs_and_distributions_put_it() {
        let only = |path: &'static str| move |p: &Path| p == Path::new(path);
        assert_eq!(
            find_driver(only("/run/opengl-driver/lib/libcuda.so.1")),
            Driver::Reachable
        );
        assert_eq!(
            find_driver(only("/usr/lib/x86_64-linux-gnu/libcuda.so.1")),
            Driver::HostOnly(PathBuf::from("/usr/lib/x86_64-linux-gnu"))
        );
        assert_eq!(find_driver(|_: &Path| false), Driver::Missing);
        let Outcome::Fail(what, fix) = gpu_driver_outcome(&Driver::HostOnly("/usr/lib64".into()))
        else {
            panic!("a driver nixpkgs cannot reach is a failure");
        };
        assert!(what.contains("/usr/lib64"), "{what}");
        assert!(fix.contains("ln -sf /usr/lib64/libcuda.so*"), "{fix}");
        assert!(!fix.contains("export LD_LIBRARY_PATH"), "{fix}");
    }
}
