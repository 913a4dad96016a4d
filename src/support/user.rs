//! The user nixpy runs as.

/// The real user id.
#[allow(unsafe_code)]
pub(crate) fn current_uid() -> u32 {
    // SAFETY: getuid(2) takes nothing, touches no memory and cannot fail.
    unsafe { libc::getuid() }
}

/// The login name of `uid` (from /etc/passwd), or `uid N`.
pub(crate) fn name_of(uid: u32) -> String {
    let uid_text = uid.to_string();
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                (fields.nth(1)? == uid_text).then(|| name.to_owned())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// Whether this user may create files in `dir` (access(2), as the kernel
/// decides), and if not, why: `EROFS` for a
/// read-only file system (which stops root too), `EACCES` for permissions.
#[allow(unsafe_code)]
pub(crate) fn write_access(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: access(2) only reads the NUL-terminated path.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
