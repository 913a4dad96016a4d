//! Running a program to read what it prints, as a child that dies with
//! nixpy.

/// Runs `command` with stdin from /dev/null, capturing stdout and stderr.
/// A non-zero exit is not an error here: the caller reads `status`. The
/// child dies with nixpy ([`dies_with_nixpy`]).
pub(crate) fn capture(command: duct::Expression) -> std::io::Result<std::process::Output> {
    dies_with_nixpy(command)
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
}

/// `command`, started so that it is sent SIGTERM when nixpy dies, however
/// nixpy dies (`kill -9` included): a Nix build, uv or Python left running
/// would hold locks and keep working for nobody. Nix passes it on: its
/// builders die with it. Only children get this; the command `nixpy run`
/// execs is nixpy's own process and is left alone.
pub(crate) fn dies_with_nixpy(command: duct::Expression) -> duct::Expression {
    command.before_spawn(|cmd| {
        use std::os::unix::process::CommandExt;
        // The parent as the child should see it; if nixpy died between
        // fork and prctl, the signal would never come.
        let parent = std::process::id();
        let on_death = libc::c_ulong::try_from(libc::SIGTERM).unwrap_or(15);
        #[allow(unsafe_code)]
        // SAFETY: the closure runs in the forked child before exec and
        // calls only async-signal-safe functions (prctl, getppid, _exit);
        // it allocates nothing and touches no lock.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, on_death, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if u32::try_from(libc::getppid()).ok() != Some(parent) {
                    libc::_exit(143);
                }
                Ok(())
            });
        }
        Ok(())
    })
}
