//! Nix's stderr as text: without colour codes, and without the notices
//! that are never about what failed.

/// Nix colours its output on a terminal; nixpy reads it from a pipe, but a
/// forced colour setting must not break the parse.
pub(super) fn strip_ansi(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\u{1b}') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Nix's notices that are not about what failed: deprecation warnings of
/// newer versions (renamed subcommands), the experimental-feature notice.
/// They never reach the user as part of an error.
pub(super) fn is_noise(line: &str) -> bool {
    const NOISE: [&str; 4] = [
        "experimental and its interface",
        "is a deprecated alias for",
        "you did not specify '--add-root'",
        "is deprecated and will be removed",
    ];
    NOISE.iter().any(|n| line.contains(n))
}
