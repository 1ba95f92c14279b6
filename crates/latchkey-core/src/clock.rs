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

/// RFC 3339 for a millisecond timestamp (the API's date format).
pub fn rfc3339_ms(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
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
        assert_eq!(rfc3339_ms(1_700_000_000_000), "2023-11-14T22:13:20Z");
    }
}
