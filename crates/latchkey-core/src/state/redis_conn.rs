//! How Latchkey connects to Redis and what its errors mean: bounded waits, a quick reconnect,
//! one retry on a dropped connection, "unreachable" errors tagged for a 503, and the start-up
//! check that Redis will not evict Latchkey's keys.

use std::collections::HashMap;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::StoreUnavailable;

/// How Latchkey talks to Redis.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Bounds each connection attempt and each command: a Redis that stopped answering (paused,
    /// network cut) costs a request at most this long before it is answered 503.
    pub timeout: Duration,
    /// Start even when Redis may evict keys. Revocations then still hold (a lost list is
    /// rebuilt from the database), but counters and API auth tokens can vanish.
    pub allow_eviction: bool,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            timeout: Duration::from_secs(2),
            allow_eviction: false,
        }
    }
}

/// Few, quick reconnect attempts: a request waits for them, and while Redis is away it is
/// better answered 503 at once than held; the next request tries again.
pub(super) fn manager_config(opts: &RedisOptions) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(opts.timeout))
        .set_response_timeout(Some(opts.timeout))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(250))
}

fn redis_error(e: &anyhow::Error) -> Option<&redis::RedisError> {
    e.chain()
        .find_map(|c| c.downcast_ref::<redis::RedisError>())
}

/// The connection broke under the command (Redis restarted, an idle connection was cut): the
/// manager reconnects, so sending the command once more is worth it.
pub(super) fn is_dropped(e: &anyhow::Error) -> bool {
    redis_error(e).is_some_and(|r| r.is_connection_dropped() || r.is_connection_refusal())
}

/// Tags errors that mean "Redis cannot answer right now" as `StoreUnavailable`.
pub(super) fn classify(e: anyhow::Error) -> anyhow::Error {
    use redis::{ErrorKind, ServerErrorKind};
    let Some(r) = redis_error(&e) else {
        return e;
    };
    let unavailable = match r.kind() {
        ErrorKind::Io | ErrorKind::ClusterConnectionNotFound => true,
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
            | ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::MasterDown
            | ServerErrorKind::ReadOnly,
        ) => true,
        _ => matches!(r.code(), Some("OOM" | "BUSY" | "LOADING" | "MASTERDOWN")),
    };
    if unavailable {
        e.context(StoreUnavailable("Redis is unreachable"))
    } else {
        e
    }
}

/// Revocations, counters and tokens must not be evicted: refuse to start (unless allowed) when
/// Redis may evict. A Redis that hides `CONFIG` (managed services) gets a warning instead.
pub(super) async fn check_eviction_policy(
    conn: &mut ConnectionManager,
    allow_eviction: bool,
) -> anyhow::Result<()> {
    let reply: redis::RedisResult<HashMap<String, String>> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query_async(conn)
        .await;
    match reply.map(|m| m.get("maxmemory-policy").cloned()) {
        Ok(Some(policy)) if policy == "noeviction" => Ok(()),
        Ok(Some(policy)) if allow_eviction => {
            tracing::warn!(
                policy,
                "Redis may evict keys (maxmemory-policy is not noeviction); API auth tokens and \
                 attempt counters can vanish under memory pressure"
            );
            Ok(())
        }
        Ok(Some(policy)) => anyhow::bail!(
            "Redis has maxmemory-policy {policy}: it may evict Latchkey's keys (attempt counters, \
             API auth tokens). Set `maxmemory-policy noeviction` on Redis, or set \
             LATCHKEY_REDIS_ALLOW_EVICTION=true to start anyway"
        ),
        Ok(None) | Err(_) => {
            tracing::warn!(
                "cannot read Redis's maxmemory-policy (CONFIG is disabled?); make sure it is \
                 noeviction"
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuthError;

    #[test]
    fn an_unreachable_redis_is_unavailable_and_a_bad_reply_is_a_bug() {
        let refused =
            redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let e = classify(anyhow::Error::from(refused));
        assert!(is_dropped(&e));
        assert!(matches!(AuthError::from(e), AuthError::Unavailable(_)));

        // Server replies such as `OOM` cannot be built outside the redis crate: the HTTP test
        // `a_revocation_redis_refused_to_store_is_not_lost` gets a real one.
        let timeout = redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
        let e = classify(anyhow::Error::from(timeout).context("reading a record"));
        assert!(
            !is_dropped(&e),
            "a timeout is not retried: it already waited"
        );
        assert!(matches!(AuthError::from(e), AuthError::Unavailable(_)));

        let bad = redis::RedisError::from((redis::ErrorKind::UnexpectedReturnType, "bad reply"));
        assert!(matches!(
            AuthError::from(classify(anyhow::Error::from(bad))),
            AuthError::Unexpected(_)
        ));
    }
}
