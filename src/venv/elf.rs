//! The shared libraries an ELF file asks the loader for (DT_NEEDED). Only
//! what deciding a preload needs: 64-bit little-endian files; anything else
//! reads as needing nothing.

use std::path::Path;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;

/// The sonames `path` needs; None when it is not a 64-bit little-endian
/// ELF file with a dynamic section. Only the parts it needs are read (an
/// extension module can be tens of megabytes).
pub(super) fn needed(path: &Path) -> Option<Vec<String>> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(path).ok()?;
    let read = |offset: u64, len: usize| -> Option<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let n = file.read_at(&mut buf, offset).ok()?;
        buf.truncate(n);
        Some(buf)
    };
    let head = read(0, 64)?;
    if head.get(..4)? != b"\x7fELF" || *head.get(4)? != 2 || *head.get(5)? != 1 {
        return None;
    }
    let phoff = u64_at(&head, 0x20)?;
    let phentsize = usize::from(u16_at(&head, 0x36)?);
    let phnum = usize::from(u16_at(&head, 0x38)?);
    let headers = read(phoff, phentsize.checked_mul(phnum)?)?;
    let mut loads = Vec::new();
    let mut dynamic = None;
    for i in 0..phnum {
        let at = i * phentsize;
        let kind = u32_at(&headers, at)?;
        let offset = u64_at(&headers, at + 8)?;
        let vaddr = u64_at(&headers, at + 16)?;
        let filesz = u64_at(&headers, at + 32)?;
        match kind {
            PT_LOAD => loads.push((vaddr, offset, filesz)),
            PT_DYNAMIC => dynamic = Some((offset, filesz)),
            _ => {}
        }
    }
    let (dyn_offset, dyn_size) = dynamic?;
    let entries = read(dyn_offset, usize::try_from(dyn_size.min(1 << 20)).ok()?)?;
    let to_offset = |vaddr: u64| {
        loads
            .iter()
            .find(|(start, _, size)| vaddr >= *start && vaddr < start + size)
            .map(|(start, offset, _)| vaddr - start + offset)
    };
    let mut needed_offsets = Vec::new();
    let mut strtab = None;
    let mut at = 0;
    while at + 16 <= entries.len() {
        let tag = u64_at(&entries, at)?;
        let value = u64_at(&entries, at + 8)?;
        match tag {
            DT_NULL => break,
            DT_NEEDED => needed_offsets.push(value),
            DT_STRTAB => strtab = to_offset(value),
            _ => {}
        }
        at += 16;
    }
    let strtab = strtab?;
    let string = |offset: u64| -> Option<String> {
        let bytes = read(strtab.checked_add(offset)?, 4096)?;
        let len = bytes.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&bytes[..len]).into_owned())
    };
    Some(needed_offsets.into_iter().filter_map(string).collect())
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_library_lists_its_needs() {
        // Any shared library of the test machine: libstdc++ needs libc.
        let candidates = [
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6",
        ];
        let Some(lib) = candidates.iter().map(Path::new).find(|p| p.exists()) else {
            return;
        };
        let needs = needed(lib).expect("an ELF file");
        assert!(needs.iter().any(|n| n.starts_with("libc.so")), "{needs:?}");
    }

    #[test]
    fn other_files_need_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        for (name, bytes) in [
            ("script", &b"#!/bin/sh\n"[..]),
            ("elf32", b"\x7fELF\x01\x01"),
            ("truncated", b"\x7fELF\x02\x01"),
        ] {
            let path = tmp.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(needed(&path), None, "{name}");
        }
    }
}
