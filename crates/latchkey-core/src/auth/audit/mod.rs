//! The audit log: who did what to which account, from where and when. The value types and
//! event names live in `crate::audit`, below the store and the domain. A change and its audit
//! row are written in the same transaction (the store functions of audited changes take the
//! entries); events with no transaction of their own (logins, lockouts, reuse detections) are
//! written on their own by `record`, which never turns the answer into an error. Refused
//! logins are counted in memory and written as one row per window (`failures`).
//!
//! Every area may call the entry builders (`audit_by`, `audit_as`, `audit_user_to_be`,
//! `audit_anonymous`) and `record`; the admin's read (`audit_log`) and pruning are public.
//! This area calls only the store.

use std::time::Duration;

use super::{Auth, ClientInfo, Credential, Principal};
pub use crate::audit::{ActorKind, AuditEntry, AuditEvent, AuditRow, MAX_USER_AGENT, account_ref};
use crate::error::{AuthError, AuthResult};
use crate::store::AuditFilter;

mod failures;
pub(in crate::auth) use failures::FailureLog;

/// Rows deleted per statement by the retention task, so a large backlog never holds a long
/// write lock (SQLite has one writer).
pub const PRUNE_BATCH: i64 = 1000;

/// One page of the log, newest first.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub events: Vec<AuditRow>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// The admin's query, already parsed at the edge (times in milliseconds).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub limit: u32,
    pub cursor: Option<String>,
    /// An exact name, or a prefix ending in `.` (`login.`).
    pub event: Option<String>,
    /// Events where this user is the actor or the subject.
    pub user_id: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Every organization's events and those of none (failures for unknown addresses, signing
    /// keys): operators only.
    pub all_orgs: bool,
}

pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 200;

impl Auth {
    /// An event caused by `caller` (their session or API token), from where they called.
    pub(super) fn audit_by(&self, caller: &Principal, event: AuditEvent) -> AuditEntry {
        let (kind, actor) = match &caller.credential {
            Credential::Session { .. } => (ActorKind::User, caller.user_id.as_str()),
            Credential::ApiToken { key_id } => (ActorKind::ApiKey, key_id.as_str()),
        };
        let mut e = entry(event, self.clock.now_ms(), kind, &caller.client);
        e.actor_id = Some(actor.to_owned());
        e.org(&caller.org_id)
    }

    /// An event a user caused on their own account without a session yet (sign-up, login,
    /// a mailed link): the user is actor and subject.
    /// (The organization is the subject's, filled in by the store when not set.)
    pub(super) fn audit_as(
        &self,
        user_id: &str,
        client: &ClientInfo,
        event: AuditEvent,
    ) -> AuditEntry {
        let mut e = entry(event, self.clock.now_ms(), ActorKind::User, client);
        e.actor_id = Some(user_id.to_owned());
        e.subject(user_id)
    }

    /// An event of a user whose id the store fills in: someone creating their own account, or
    /// the holder of a mailed link proving its mailbox.
    pub(super) fn audit_user_to_be(&self, client: &ClientInfo, event: AuditEvent) -> AuditEntry {
        entry(event, self.clock.now_ms(), ActorKind::User, client)
    }

    pub(super) fn audit_anonymous(&self, client: &ClientInfo, event: AuditEvent) -> AuditEntry {
        entry(event, self.clock.now_ms(), ActorKind::Anonymous, client)
    }

    pub fn audit_system(&self, event: AuditEvent) -> AuditEntry {
        entry(
            event,
            self.clock.now_ms(),
            ActorKind::System,
            &ClientInfo::default(),
        )
    }

    /// Writes an event that has no transaction of its own. A failure is logged and counted
    /// (`latchkey_audit_write_failures_total`) but never fails the caller: a login refused
    /// must stay a 401, not become a 500.
    pub async fn record(&self, entry: AuditEntry) {
        if entry.event == AuditEvent::LoginFailed {
            // One row per account, IP and window, with a count (see `failures`).
            return self.record_failure(entry).await;
        }
        if let Err(e) = self.db.insert_audit(&entry).await {
            metrics::counter!("latchkey_audit_write_failures_total").increment(1);
            tracing::error!(event = entry.event.as_str(), error = %e, "audit event not written");
        }
    }

    /// `GET /admin/audit`: the caller's organization's events, newest first.
    pub async fn audit_log(&self, admin: &Principal, q: &AuditQuery) -> AuthResult<AuditPage> {
        if q.all_orgs {
            self.require_operator(admin).await?;
        } else {
            admin.require_admin()?;
        }
        let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
        // The counts of refused logins as this instance knows them now.
        self.flush_audit().await;
        let limit = q.limit.clamp(1, MAX_PAGE);
        let mut events = self
            .db
            .audit_page(&AuditFilter {
                org_id: (!q.all_orgs).then_some(admin.org_id.as_str()),
                after,
                event: q.event.as_deref(),
                user_id: q.user_id.as_deref(),
                since: q.since,
                until: q.until,
                limit: limit as i64 + 1,
            })
            .await?;
        let more = events.len() > limit as usize;
        events.truncate(limit as usize);
        let next_cursor = more
            .then(|| events.last().map(|e| encode_cursor(e.at, &e.id)))
            .flatten();
        Ok(AuditPage {
            events,
            next_cursor,
        })
    }

    /// Deletes events older than `retention`, in batches; how many went. Zero keeps all.
    pub async fn prune_audit(&self, retention: Duration) -> AuthResult<u64> {
        if retention.is_zero() {
            return Ok(0);
        }
        let before = self.clock.now_ms() - retention.as_millis() as i64;
        let mut total = 0;
        loop {
            let n = self.db.prune_audit(before, PRUNE_BATCH).await?;
            total += n;
            if n < PRUNE_BATCH as u64 {
                return Ok(total);
            }
        }
    }
}

/// An entry caused from where `client` called.
fn entry(event: AuditEvent, at: i64, kind: ActorKind, client: &ClientInfo) -> AuditEntry {
    AuditEntry::new(
        event,
        at,
        kind,
        client.ip.clone(),
        client.user_agent.as_deref(),
    )
}

/// The position after the last event of a page: opaque to clients (base64url of `at.id`).
fn encode_cursor(at: i64, id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{at}.{id}"))
}

fn decode_cursor(cursor: &str) -> AuthResult<(i64, String)> {
    use base64::Engine;
    let bad = || AuthError::invalid_field("cursor", "not a cursor from a previous page");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (at, id) = text.split_once('.').ok_or_else(bad)?;
    let at = at.parse::<i64>().map_err(|_| bad())?;
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad());
    }
    Ok((at, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let c = encode_cursor(1_700_000_000_123, "0123abcd");
        assert_eq!(
            decode_cursor(&c).unwrap(),
            (1_700_000_000_123, "0123abcd".into())
        );
        for junk in ["", "!!", "bm9kb3Q", "YS5i", "MTIzLg", "MTIzLmEnOy0t"] {
            assert!(decode_cursor(junk).is_err(), "{junk}");
        }
    }
}
