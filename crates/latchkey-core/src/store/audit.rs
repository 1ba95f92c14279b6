//! The audit log's rows. Audited changes write their entries with `insert` inside their own
//! transaction; events without one use `Db::insert_audit`.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::Db;
use crate::audit::{AuditEntry, AuditRow};
use crate::error::AuthResult;

/// What one page asks for; `after` is the last (at, id) of the previous page.
pub struct AuditFilter<'a> {
    /// `None`: every organization's events and those of none (an operator's view).
    pub org_id: Option<&'a str>,
    pub after: Option<(i64, String)>,
    pub event: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub limit: i64,
}

/// Keeps ids of one process in write order within one millisecond (a manual clock in tests,
/// bursts in production); across processes the random tail breaks ties.
static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// Time-sortable: 13 hex digits of milliseconds, a per-process sequence, a random tail.
pub fn new_id(at: i64) -> String {
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let tail = crate::secret::random_bytes::<4>();
    format!(
        "{:013x}{seq:08x}{}",
        at.max(0),
        tail.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Writes `entry` on `conn` (an open write transaction, so it commits with its change).
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    entry: &AuditEntry,
) -> Result<(), sqlx::Error> {
    insert_as(conn, &new_id(entry.at), entry).await
}

/// `insert` under an id made up front (`new_id`), to update the row later.
async fn insert_as(
    conn: &mut AnyConnection,
    id: &str,
    entry: &AuditEntry,
) -> Result<(), sqlx::Error> {
    let detail = serde_json::Value::Object(entry.detail.clone()).to_string();
    sqlx::query(
        "INSERT INTO audit_events (id, at, org_id, actor_kind, actor_id, subject_user_id, event, \
         ip, user_agent, detail) \
         VALUES ($1, $2, COALESCE($3, (SELECT org_id FROM users WHERE id = $6)), $4, $5, $6, $7, \
         $8, $9, $10)",
    )
    .bind(id)
    .bind(entry.at)
    .bind(&entry.org_id)
    .bind(entry.actor_kind.as_str())
    .bind(&entry.actor_id)
    .bind(&entry.subject_user_id)
    .bind(entry.event.as_str())
    .bind(&entry.ip)
    .bind(&entry.user_agent)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every entry of one change, on its transaction.
pub(crate) async fn insert_all(
    conn: &mut AnyConnection,
    entries: &[AuditEntry],
) -> Result<(), sqlx::Error> {
    for entry in entries {
        insert(&mut *conn, entry).await?;
    }
    Ok(())
}

fn row_of(row: &AnyRow) -> Result<AuditRow, sqlx::Error> {
    Ok(AuditRow {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        org_id: row.try_get("org_id")?,
        actor_kind: row.try_get("actor_kind")?,
        actor_id: row.try_get("actor_id")?,
        subject_user_id: row.try_get("subject_user_id")?,
        event: row.try_get("event")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        detail: row.try_get("detail")?,
    })
}

impl Db {
    /// An event with no transaction of its own.
    pub async fn insert_audit(&self, entry: &AuditEntry) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        insert(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An event with no transaction of its own, under an id made up front.
    pub async fn insert_audit_as(&self, id: &str, entry: &AuditEntry) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        insert_as(&mut tx, id, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rewrites an event's detail (the counts of an aggregated failure).
    pub async fn set_audit_detail(&self, id: &str, detail: &str) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE audit_events SET detail = $1 WHERE id = $2")
            .bind(detail)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One page of an organization's events (or of all, for an operator), newest first (`at` then `id`, both descending).
    pub async fn audit_page(&self, f: &AuditFilter<'_>) -> AuthResult<Vec<AuditRow>> {
        let mut sql = String::from(
            "SELECT id, at, org_id, actor_kind, actor_id, subject_user_id, event, ip, \
             user_agent, detail FROM audit_events WHERE 1 = 1",
        );
        // Placeholders are numbered in the order the values are bound below.
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if f.org_id.is_some() {
            sql.push_str(&format!(" AND org_id = ${}", next()));
        }
        if f.after.is_some() {
            let (a, b, c) = (next(), next(), next());
            sql.push_str(&format!(" AND (at < ${a} OR (at = ${b} AND id < ${c}))"));
        }
        if let Some(event) = f.event {
            if event.ends_with('.') {
                // A prefix; `_` is escaped (names are checked at the edge to `[a-z_.]`).
                sql.push_str(&format!(" AND event LIKE ${} ESCAPE '\\'", next()));
            } else {
                sql.push_str(&format!(" AND event = ${}", next()));
            }
        }
        if f.user_id.is_some() {
            let (a, b) = (next(), next());
            sql.push_str(&format!(" AND (actor_id = ${a} OR subject_user_id = ${b})"));
        }
        if f.since.is_some() {
            sql.push_str(&format!(" AND at >= ${}", next()));
        }
        if f.until.is_some() {
            sql.push_str(&format!(" AND at < ${}", next()));
        }
        sql.push_str(&format!(" ORDER BY at DESC, id DESC LIMIT ${}", next()));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(org) = f.org_id {
            q = q.bind(org.to_owned());
        }
        if let Some((at, id)) = &f.after {
            q = q.bind(*at).bind(*at).bind(id.clone());
        }
        if let Some(event) = f.event {
            q = q.bind(if event.ends_with('.') {
                format!("{}%", event.replace('_', "\\_"))
            } else {
                event.to_owned()
            });
        }
        if let Some(uid) = f.user_id {
            q = q.bind(uid.to_owned()).bind(uid.to_owned());
        }
        if let Some(since) = f.since {
            q = q.bind(since);
        }
        if let Some(until) = f.until {
            q = q.bind(until);
        }
        let rows = q.bind(f.limit).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(row_of).collect::<Result<_, _>>()?)
    }

    /// Deletes up to `batch` events older than `before_ms`; how many went.
    pub async fn prune_audit(&self, before_ms: i64, batch: i64) -> AuthResult<u64> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "DELETE FROM audit_events WHERE id IN \
             (SELECT id FROM audit_events WHERE at < $1 ORDER BY at LIMIT $2)",
        )
        .bind(before_ms)
        .bind(batch)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(r.rows_affected())
    }
}
