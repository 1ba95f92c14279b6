//! Polling until a condition holds, for what the server does in the background (mail sent, a
//! policy reloaded, a key rotated, Redis back): one loop instead of one per test.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long `eventually` sleeps between tries.
pub const POLL: Duration = Duration::from_millis(100);

/// Calls `attempt` every `POLL` until it returns `Ok(value)`, and returns that value. When
/// `within` has passed, panics with the message of the last `Err` (so say what was expected
/// and what was seen, as an `assert!` would).
pub async fn eventually<T, F, Fut>(within: Duration, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + within;
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(why) => assert!(Instant::now() < deadline, "{why}"),
        }
        tokio::time::sleep(POLL).await;
    }
}
