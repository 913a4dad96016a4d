//! Whether nixpy runs under continuous integration.

use std::ffi::OsStr;

/// `CI` is set to anything but empty, `0` or `false` (in any case): every
/// major CI sets it (`true`, `1`, `yes`), and `CI=false` switches it off.
/// Under CI nixpy never rewrites the lock and draws no spinner.
pub(crate) fn is_ci() -> bool {
    std::env::var_os("CI").is_some_and(|value| means_ci(&value))
}

fn means_ci(value: &OsStr) -> bool {
    !(value.is_empty() || value == "0" || value.eq_ignore_ascii_case("false"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn false_zero_and_empty_are_not_ci() {
        for off in ["", "0", "false", "False", "FALSE"] {
            assert!(!means_ci(OsStr::new(off)), "{off:?}");
        }
        for on in ["true", "1", "yes", "True", "woodpecker"] {
            assert!(means_ci(OsStr::new(on)), "{on:?}");
        }
    }
}
