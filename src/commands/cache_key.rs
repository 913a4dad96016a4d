//! `nixpy cache-key`: one key over every input of both layers, computed
//! without Nix, for CI caches (`actions/cache` keys) that must be known
//! before anything is built.

use crate::build::Context;
use crate::error::Result;
use crate::support::hash::key_of;

pub(super) fn run(ctx: &Context) -> Result<i32> {
    let location = ctx.locate()?;
    let files = crate::project::input_files(&location)?;
    let mut parts: Vec<Vec<u8>> = vec![
        env!("CARGO_PKG_VERSION").into(),
        crate::flake::current_system().into(),
        ctx.nixpkgs_override.clone().unwrap_or_default().into(),
    ];
    // nixpkgs reads these itself: they change what it refuses.
    for name in crate::entry::fingerprint::NIXPKGS_ALLOW_VARIABLES {
        parts.push(format!("{name}={}", std::env::var(name).unwrap_or_default()).into());
    }
    for stamp in &files {
        let relative = stamp
            .path
            .strip_prefix(&location.root)
            .unwrap_or(&stamp.path);
        parts.push(relative.as_os_str().as_encoded_bytes().to_vec());
        parts.push(
            stamp
                .hash
                .clone()
                .unwrap_or_else(|| "absent".into())
                .into_bytes(),
        );
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    println!("nixpy-{}-{}", crate::flake::current_system(), key_of(&refs));
    Ok(0)
}
