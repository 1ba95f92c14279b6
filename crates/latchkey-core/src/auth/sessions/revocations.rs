//! Revoked sessions. The database (`sessions.revoked_at`) is the truth; the state store holds a
//! copy every request reads in the same round trip as the user's record. That copy may be lost
//! (Redis restarted empty, a key evicted) or miss an entry (a write that failed after the
//! database committed), so "not in the list" only counts as "live" while the list is marked
//! complete and this instance has no failed write outstanding. Otherwise the instance rebuilds
//! the list from the database for everyone and answers from the database meanwhile.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::auth::Auth;
use crate::error::AuthResult;
use crate::state::Revocation;

pub(in crate::auth) struct Revocations {
    /// One rebuild at a time in this process; requests that find the list lost wait for it.
    rebuilding: tokio::sync::Mutex<()>,
    /// A revocation may be missing from the store (a write failed, or the last rebuild lost a
    /// race): do not trust "live" until a rebuild succeeds.
    dirty: AtomicBool,
}

impl Default for Revocations {
    fn default() -> Self {
        Revocations {
            rebuilding: tokio::sync::Mutex::new(()),
            dirty: AtomicBool::new(true),
        }
    }
}

/// A field no session id can be: asks the store only whether its list is complete.
const PROBE: &str = "~probe";

impl Auth {
    /// Revocations must outlive every access token they cover.
    fn revocation_ttl(&self) -> Duration {
        self.settings.access_token_ttl + Duration::from_secs(crate::jwt::LEEWAY_SECS as u64 + 1)
    }

    /// Whether session `sid` is revoked, given what the store said (`known`). Never "live"
    /// because an entry is absent from a list that may be incomplete.
    pub(super) async fn resolve_revocation(
        &self,
        sid: &str,
        known: Revocation,
    ) -> AuthResult<bool> {
        let dirty = || self.revocations.dirty.load(Ordering::Acquire);
        match known {
            Revocation::Revoked => return Ok(true),
            Revocation::Live if !dirty() => return Ok(false),
            _ => {}
        }
        {
            let _one = self.revocations.rebuilding.lock().await;
            // Another request may have rebuilt the list while this one waited.
            match self.state.is_session_revoked(sid).await? {
                Revocation::Revoked => return Ok(true),
                Revocation::Live if !dirty() => return Ok(false),
                _ => {}
            }
            // Redis may answer reads yet refuse writes (out of memory): the database still
            // answers for this session.
            if let Err(e) = self.rebuild_locked().await {
                tracing::warn!(error = ?e, "cannot rebuild the revocation list; asking the database");
            }
        }
        // Whether or not the rebuild won its race, the database answers for this session. A
        // session the database does not know is refused.
        Ok(self
            .db
            .session(sid)
            .await?
            .is_none_or(|s| s.revoked_at.is_some()))
    }

    /// Records a revocation (already committed to the database) in the store. When that
    /// fails, the caller answers 503 and this instance stops trusting the list until a rebuild
    /// has written the revocation back.
    pub(in crate::auth) async fn publish_revocation(&self, sid: &str) -> AuthResult<()> {
        if let Err(e) = self.state.revoke_session(sid, self.revocation_ttl()).await {
            self.revocations.dirty.store(true, Ordering::Release);
            // Tell the other instances too, if Redis still takes this (it does when it only
            // refuses writes for lack of memory); otherwise they learn it from the rebuild.
            if let Err(e) = self.state.distrust_revocations().await {
                tracing::warn!(error = ?e, "cannot mark the revocation list incomplete");
            }
            return Err(e.into());
        }
        let _ = self.revoked_events.send(sid.to_owned());
        if let Err(e) = self.state.announce_revoked(sid).await {
            // Other instances' sockets still learn it from their next check of the list.
            tracing::debug!(error = ?e, "revocation not announced");
        }
        Ok(())
    }

    /// Revoked session ids as they happen, for open sockets (which also poll: a lagging
    /// receiver or a lost announcement only delays a close).
    pub fn revocation_events(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.revoked_events.subscribe()
    }

    /// Forwards revocations announced by other instances to `revocation_events` until the
    /// subscription ends; the caller runs it again (with a pause) when it returns.
    pub async fn listen_revocations(&self) -> AuthResult<()> {
        Ok(self.state.listen_revocations(&self.revoked_events).await?)
    }

    /// Loads the revocations whose access tokens may still be presented into the store and
    /// marks its list complete; false when another rebuild or a loss of the list got in
    /// between (the list then stays unknown and the next check tries again).
    pub(in crate::auth) async fn rebuild_revocations(&self) -> AuthResult<bool> {
        let _one = self.revocations.rebuilding.lock().await;
        self.rebuild_locked().await
    }

    async fn rebuild_locked(&self) -> AuthResult<bool> {
        // The marker is taken before the database is read: a revocation committed after the
        // read was written to this same list by its revoker, or the list was lost again and
        // the marker with it.
        let token = self.state.begin_rebuild().await?;
        let ttl = self.revocation_ttl();
        let now = self.clock.now_ms();
        let since = now - ttl.as_millis() as i64;
        let revoked: Vec<(String, Duration)> = self
            .db
            .sessions_revoked_since(since)
            .await?
            .into_iter()
            .map(|(sid, revoked_at)| {
                let age = Duration::from_millis((now - revoked_at).max(0) as u64);
                (sid, ttl.saturating_sub(age))
            })
            .collect();
        let done = self.state.finish_rebuild(&token, &revoked).await?;
        if done {
            self.revocations.dirty.store(false, Ordering::Release);
            tracing::info!(
                count = revoked.len(),
                "revocations loaded into the state store"
            );
        } else {
            tracing::warn!("revocation rebuild lost a race; will retry");
        }
        Ok(done)
    }

    /// Periodic (every second): rebuilds a lost list, or one this instance failed to write to,
    /// without waiting for a request to notice, so other instances see a revocation whose
    /// write failed as soon as Redis takes writes again. One `HMGET` when all is well.
    pub async fn revocation_upkeep(&self) -> AuthResult<()> {
        let known = self.state.is_session_revoked(PROBE).await?;
        if known == Revocation::Unknown || self.revocations.dirty.load(Ordering::Acquire) {
            self.rebuild_revocations().await?;
        }
        Ok(())
    }

    /// Periodic: drops revocations whose access tokens have all expired (Redis 7.0 cannot
    /// expire hash fields).
    pub async fn prune_revocations(&self) -> AuthResult<u64> {
        Ok(self.state.prune_revocations().await?)
    }
}
