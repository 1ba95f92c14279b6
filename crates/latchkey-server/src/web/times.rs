//! Times as the pages show them: UTC to the minute ("2026-12-08 01:20 UTC"), so every
//! instance and every viewer reads the same value without a script.

use time::OffsetDateTime;

pub fn when(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn shows_utc_to_the_minute() {
        assert_eq!(super::when(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::when(1_796_692_859_999), "2026-12-08 01:20 UTC");
    }
}
