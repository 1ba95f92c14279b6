//! Refused logins in the audit log, aggregated: a flood of wrong passwords must not become a
//! flood of rows (each one a write on the database every login shares).
//!
//! The first failure of an (organization, account or account reference, client IP) opens a
//! row at once, with `count: 1`; later failures of the same key within the login window only
//! count in memory, and the row's `count`, `reasons` and `last_at` are rewritten by a flush:
//! every few seconds (the server's upkeep), before the log is read, and at shutdown. Each
//! client IP opens at most `audit_failed_login_rows_per_ip` rows per window; past that its failures
//! go to one row per IP and window with no account (the operator's view), so the counts of
//! an IP's rows still add up to its failures. Each instance keeps its own open rows: with
//! several instances a key may have one row per instance.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::AuditEntry;
use crate::auth::Auth;

/// Open rows kept in memory; past it, closed ones are swept and, if none, a failure gets a
/// row of its own (still bounded per IP by the row budget).
const MAX_OPEN: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    org: Option<String>,
    /// The subject's user id, the unknown address's `account_ref`, or `*` past the IP's budget.
    who: String,
    ip: Option<String>,
}

struct Open {
    id: String,
    closes_at: i64,
    detail: Map<String, Value>,
    /// The row was inserted (a flush before that would update nothing).
    written: bool,
    /// Counts changed since the row was last written.
    dirty: bool,
}

impl Open {
    fn add(&mut self, entry: &AuditEntry) {
        let count = self
            .detail
            .get("count")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        self.detail.insert("count".into(), (count + 1).into());
        self.detail.insert("last_at".into(), entry.at.into());
        if let Some(reason) = entry.detail.get("reason").and_then(Value::as_str) {
            let reasons = self
                .detail
                .entry("reasons")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(reasons) = reasons {
                let n = reasons.get(reason).and_then(Value::as_u64).unwrap_or(0);
                reasons.insert(reason.to_owned(), (n + 1).into());
            }
        }
        self.dirty = true;
    }
}

#[derive(Default)]
pub(in crate::auth) struct FailureLog {
    open: Mutex<HashMap<Key, Open>>,
}

impl Auth {
    /// A `login.failed` entry: counted into its open row, or opening one.
    pub(super) async fn record_failure(&self, mut entry: AuditEntry) {
        let who = entry
            .subject_user_id
            .clone()
            .or_else(|| {
                entry
                    .detail
                    .get("account_ref")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let mut key = Key {
            org: entry.org_id.clone(),
            who,
            ip: entry.ip.clone(),
        };
        if self.count_into_open(&key, &entry) {
            return;
        }
        if !self.may_open_row(entry.ip.as_deref()).await {
            // Past this IP's budget: one row for the rest of its failures, of no account.
            key = Key {
                org: None,
                who: "*".into(),
                ip: entry.ip.clone(),
            };
            if self.count_into_open(&key, &entry) {
                return;
            }
            entry.org_id = None;
            entry.subject_user_id = None;
            entry.detail.remove("account_ref");
            entry.detail.insert("accounts".into(), "many".into());
        }
        let id = crate::store::new_audit_id(entry.at);
        let mut open = Open {
            id: id.clone(),
            closes_at: entry.at + self.settings.login_limit_window.as_millis() as i64,
            detail: entry.detail.clone(),
            written: false,
            dirty: false,
        };
        open.add(&entry);
        entry.detail = open.detail.clone();
        open.dirty = false;
        let tracked = {
            let mut map = self.failures.open.lock().expect("failure log lock");
            if map.len() >= MAX_OPEN {
                let now = entry.at;
                map.retain(|_, o| o.closes_at > now || o.dirty);
            }
            let fits = map.len() < MAX_OPEN;
            if fits {
                map.insert(key.clone(), open);
            }
            fits
        };
        if let Err(e) = self.db.insert_audit_as(&id, &entry).await {
            metrics::counter!("latchkey_audit_write_failures_total").increment(1);
            tracing::error!(event = entry.event.as_str(), error = %e, "audit event not written");
            if tracked {
                self.failures
                    .open
                    .lock()
                    .expect("failure log lock")
                    .remove(&key);
            }
            return;
        }
        if tracked && let Some(o) = self.failures.open.lock().expect("lock").get_mut(&key) {
            o.written = true;
        }
    }

    /// Counts `entry` into the open row of `key`; false when there is none.
    fn count_into_open(&self, key: &Key, entry: &AuditEntry) -> bool {
        let mut map = self.failures.open.lock().expect("failure log lock");
        match map.get_mut(key) {
            Some(open) if open.closes_at > entry.at => {
                open.add(entry);
                true
            }
            _ => false,
        }
    }

    /// Whether this client IP may open another row in this window (counted on the shared
    /// counters, so every instance uses one budget). A counter fault lets the row through.
    async fn may_open_row(&self, ip: Option<&str>) -> bool {
        let (Some(ip), limit) = (ip, self.settings.audit_failed_login_rows_per_ip) else {
            return true;
        };
        if limit == 0 {
            return true;
        }
        !matches!(
            self.state
                .take(
                    &format!("audit:failed_rows:ip:{ip}"),
                    limit,
                    self.settings.login_limit_window
                )
                .await,
            Ok(Err(_))
        )
    }

    /// Writes the counts that changed since the last flush, and forgets rows whose window
    /// has closed. Called every few seconds, before the log is read, and at shutdown.
    pub async fn flush_audit(&self) {
        let now = self.clock.now_ms();
        let changed: Vec<(String, String)> = {
            let mut map = self.failures.open.lock().expect("failure log lock");
            let changed = map
                .values_mut()
                .filter(|o| o.dirty && o.written)
                .map(|o| {
                    o.dirty = false;
                    (o.id.clone(), Value::Object(o.detail.clone()).to_string())
                })
                .collect();
            map.retain(|_, o| o.closes_at > now || !o.written || o.dirty);
            changed
        };
        for (id, detail) in changed {
            if let Err(e) = self.db.set_audit_detail(&id, &detail).await {
                metrics::counter!("latchkey_audit_write_failures_total").increment(1);
                tracing::error!(error = %e, "failed-login count not written");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{ActorKind, AuditEvent};

    fn failure(at: i64, reason: &str) -> AuditEntry {
        let mut detail = Map::new();
        detail.insert("method".into(), "password".into());
        detail.insert("reason".into(), reason.into());
        AuditEntry {
            event: AuditEvent::LoginFailed,
            at,
            org_id: None,
            actor_kind: ActorKind::Anonymous,
            actor_id: None,
            subject_user_id: None,
            ip: Some("203.0.113.7".into()),
            user_agent: None,
            detail,
        }
    }

    #[test]
    fn an_open_row_counts_every_failure_and_each_reason() {
        let first = failure(1_000, "bad_credentials");
        let mut open = Open {
            id: "x".into(),
            closes_at: 2_000,
            detail: first.detail.clone(),
            written: true,
            dirty: false,
        };
        open.add(&first);
        for at in [1_100, 1_200] {
            open.add(&failure(at, "locked"));
        }
        assert!(open.dirty);
        let d = Value::Object(open.detail);
        assert_eq!(d["count"], 3);
        assert_eq!(d["reason"], "bad_credentials", "the first failure's");
        assert_eq!(d["reasons"]["bad_credentials"], 1);
        assert_eq!(d["reasons"]["locked"], 2);
        assert_eq!(d["last_at"], 1_200);
    }
}
