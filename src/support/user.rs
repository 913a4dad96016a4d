//! The user nixpy runs as.

/// The real user id.
#[allow(unsafe_code)]
pub(crate) fn current_uid() -> u32 {
    // SAFETY: getuid(2) takes nothing, touches no memory and cannot fail.
    unsafe { libc::getuid() }
}
