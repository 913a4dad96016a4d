//! Content hashes and short keys (BLAKE3).

/// The hash of `bytes`.
pub(crate) fn hash_bytes(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// The hash of everything `reader` yields, read in blocks.
pub(super) fn hash_reader(mut reader: impl std::io::Read) -> std::io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    std::io::copy(&mut reader, &mut hasher)?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// A short, stable key from several parts (each length-prefixed, so parts
/// cannot run into each other).
pub(crate) fn key_of(parts: &[&[u8]]) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().to_hex()[..32].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_their_parts() {
        assert_ne!(key_of(&[b"ab", b"c"]), key_of(&[b"a", b"bc"]));
        assert_eq!(key_of(&[b"x"]).len(), 32);
        assert_eq!(
            hash_reader(&b"abc"[..]).unwrap(),
            blake3::hash(b"abc").to_hex().to_string()
        );
    }
}
