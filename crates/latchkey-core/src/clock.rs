//! Time as the domain sees it. Injected so tests can move time (grace windows, expiry) without
//! sleeping; production uses the system clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

#[derive(Clone)]
pub struct Clock(Inner);

#[derive(Clone)]
enum Inner {
    System,
    /// Milliseconds since the epoch, moved by hand.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    pub fn system() -> Self {
        Clock(Inner::System)
    }

    /// A clock that starts at the current time and only moves when told to.
    pub fn manual() -> Self {
        let now = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        Clock(Inner::Manual(Arc::new(AtomicI64::new(now as i64))))
    }

    /// Moves a manual clock forward; a no-op on the system clock.
    pub fn advance(&self, by: std::time::Duration) {
        if let Inner::Manual(ms) = &self.0 {
            ms.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
        }
    }

    /// Milliseconds since the Unix epoch: the unit every stored timestamp uses.
    pub fn now_ms(&self) -> i64 {
        match &self.0 {
            Inner::System => (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
            Inner::Manual(ms) => ms.load(Ordering::SeqCst),
        }
    }

    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Inner::System => f.write_str("Clock::System"),
            Inner::Manual(_) => f.write_str("Clock::Manual"),
        }
    }
}

/// A millisecond timestamp as the API shows every time: RFC 3339 in UTC with exactly three
/// fractional digits (`2023-11-14T22:13:20.000Z`), so all times of a response share one shape
/// and sort as text. `time`'s own RFC 3339 output drops a zero fraction, which gave whole-second
/// and millisecond times side by side.
pub fn rfc3339_ms(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = Clock::manual();
        let t0 = clock.now_ms();
        assert_eq!(clock.now_ms(), t0);
        clock.advance(std::time::Duration::from_secs(11));
        assert_eq!(clock.now_ms(), t0 + 11_000);
    }

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339_ms(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(rfc3339_ms(1_700_000_000_007), "2023-11-14T22:13:20.007Z");
        assert_eq!(rfc3339_ms(1_700_000_000_999), "2023-11-14T22:13:20.999Z");
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        let parsed = OffsetDateTime::parse(
            &rfc3339_ms(1_700_000_000_123),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert_eq!(parsed.unix_timestamp_nanos(), 1_700_000_000_123 * 1_000_000);
    }
}
