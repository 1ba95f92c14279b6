//! Polling until a condition holds, for what the server does in the background (mail sent, a
//! policy reloaded, a key rotated, Redis back): one loop instead of one per test.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long `eventually` sleeps between tries.
pub const POLL: Duration = Duration::from_millis(100);

/// Calls `attempt` every `POLL` until it returns `Ok(value)`, and returns that value. When
/// `within` has passed, panics with the message of the last `Err` (so say what was expected
/// and what was seen, as an `assert!` would).
pub async fn eventually<T, F, Fut>(within: Duration, attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    eventually_every(POLL, within, attempt).await
}

/// As `eventually`, trying every `poll`: finer for a counter that moves fast, coarser for a
/// slow process.
pub async fn eventually_every<T, F, Fut>(poll: Duration, within: Duration, attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    match poll_until(poll, within, attempt).await {
        Ok(value) => value,
        Err(why) => panic!("{why}"),
    }
}

/// As `eventually_every`, but hands the last `Err` back instead of panicking, for a helper
/// whose caller decides what a timeout means.
pub async fn poll_until<T, F, Fut>(
    poll: Duration,
    within: Duration,
    mut attempt: F,
) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + within;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(why) if Instant::now() >= deadline => return Err(why),
            Err(_) => {}
        }
        tokio::time::sleep(poll).await;
    }
}
