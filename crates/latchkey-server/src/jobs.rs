//! The background loops a running server keeps: purging, revocation upkeep, publishing, key
//! reloads, audit pruning and flushing. `app::start` spawns them and aborts them at shutdown.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::state::AppState;

/// Every few seconds: the counts of refused logins (aggregated in memory, one row per
/// account, IP and window) are written to their rows.
pub(crate) fn spawn_audit_flush(app: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            app.auth.flush_audit().await;
        }
    })
}

/// Hourly (and at start) removal of audit events older than `audit_retention`, in bounded
/// batches so the database's writers are never held up for long.
pub(crate) fn spawn_audit_prune(app: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match app.auth.prune_audit(app.config.audit_retention).await {
                Ok(n) if n > 0 => tracing::info!(events = n, "pruned old audit events"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "audit pruning failed"),
            }
        }
    })
}

/// Hourly removal of sessions that ended long ago.
pub(crate) fn spawn_purge(app: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match app.auth.purge().await {
                Ok(n) if n > 0 => tracing::info!(sessions = n, "purged ended sessions"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purge failed"),
            }
        }
    })
}

/// Every second: rebuilds a lost or doubtful revocation list without waiting for a request to
/// notice. Every minute: prunes revocations whose access tokens have all expired.
pub(crate) fn spawn_revocation_upkeep(app: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut warned: Option<std::time::Instant> = None;
        for n in 0u64.. {
            tick.tick().await;
            if let Err(e) = app.auth.revocation_upkeep().await {
                // Once a minute at most: while Redis is away every tick fails.
                if warned.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
                    tracing::warn!(error = %e, "revocation upkeep failed");
                    warned = Some(std::time::Instant::now());
                }
                continue;
            }
            if n % 60 == 59 {
                match app.auth.prune_revocations().await {
                    Ok(n) if n > 0 => tracing::debug!(pruned = n, "expired revocations pruned"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "pruning revocations failed"),
                }
            }
        }
    })
}

/// Follows signing-key rotations made by the CLI or another instance, and retires keys whose
/// tokens have all expired.
pub(crate) fn spawn_key_reload(app: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tick.tick().await;
            match app.auth.reload_signing_keys().await {
                Ok(()) => failing = false,
                Err(e) if !failing => {
                    tracing::warn!(error = %e, "signing keys not reloaded; retrying");
                    failing = true;
                }
                Err(_) => {}
            }
        }
    })
}

/// With Redis: subscribes to revocations announced by every instance, for open sockets, and
/// subscribes again (once a second) whenever the subscription drops.
pub(crate) fn spawn_revocation_listener(app: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            match app.auth.listen_revocations().await {
                Ok(()) => failing = false,
                // Once per outage: sockets still poll the list meanwhile.
                Err(e) if !failing => {
                    tracing::warn!(error = %e, "revocation announcements unavailable; retrying");
                    failing = true;
                }
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

/// Publishes changes left behind when the token store was unreachable (or an instance stopped
/// between commit and publish). Every instance runs it; publishing twice is harmless.
pub(crate) fn spawn_publisher(app: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(app.config.publish_retry_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tick.tick().await;
            match app.auth.publish_pending().await {
                Ok(n) => {
                    if n > 0 || failing {
                        tracing::info!(published = n, "pending changes published");
                    }
                    failing = false;
                }
                // Once per outage, not every tick.
                Err(e) if !failing => {
                    tracing::warn!(error = %e, "pending changes not published yet; retrying");
                    failing = true;
                }
                Err(_) => {}
            }
        }
    })
}
