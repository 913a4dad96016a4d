//! Calendar dates of Unix times, in UTC, without a date library: nixpkgs
//! revisions carry `lastModified` seconds, generations their creation time.

/// `YYYY-MM-DD` of a Unix time.
pub(crate) fn utc_date(seconds: i64) -> String {
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

/// `YYYY-MM-DD HH:MM` of a Unix time (UTC).
pub(crate) fn utc_minute(seconds: i64) -> String {
    let in_day = seconds.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}",
        utc_date(seconds),
        in_day / 3_600,
        in_day % 3_600 / 60
    )
}

/// Now, as a Unix time.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// (year, month, day) of a count of days since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_700_000_000), "2023-11-14");
        assert_eq!(utc_minute(1_700_000_000), "2023-11-14 22:13");
        // A leap day, and the day after.
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(951_868_800), "2000-03-01");
        assert_eq!(utc_date(-86_400), "1969-12-31");
    }
}
