//! Running a program to read what it prints.

/// Runs `command` with stdin from /dev/null, capturing stdout and stderr.
/// A non-zero exit is not an error here: the caller reads `status`.
pub(crate) fn capture(command: duct::Expression) -> std::io::Result<std::process::Output> {
    command
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
}
