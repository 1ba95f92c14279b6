//! The publish outbox: changes committed to users and keys that the token store has not taken
//! yet. Rows are written in the transaction of their change (so a commit without its row
//! cannot happen) and deleted once published; a batch groups the rows of one change.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;
use crate::error::AuthResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingKind {
    /// The user's record and the records of all their keys.
    User,
    /// One key's record (a tombstone, and its tokens dropped, when the key is gone).
    Key,
    /// One revoked session's mark in the store's revocation list (the session ended with a
    /// change to its user, e.g. disabling).
    Session,
}

impl PendingKind {
    fn as_str(self) -> &'static str {
        match self {
            PendingKind::User => "user",
            PendingKind::Key => "key",
            PendingKind::Session => "session",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pending {
    pub id: String,
    /// The change it belongs to (one change may name a user and each of their keys).
    pub batch: String,
    pub kind: PendingKind,
    pub target_id: String,
    /// The user's organization, or the key's user.
    pub owner_id: String,
}

fn pending_from_row(row: &AnyRow) -> anyhow::Result<Pending> {
    let kind: String = row.try_get("kind")?;
    Ok(Pending {
        id: row.try_get("id")?,
        batch: row.try_get("batch")?,
        kind: match kind.as_str() {
            "user" => PendingKind::User,
            "key" => PendingKind::Key,
            "session" => PendingKind::Session,
            _ => anyhow::bail!("unexpected value in column publish_outbox.kind"),
        },
        target_id: row.try_get("target_id")?,
        owner_id: row.try_get("owner_id")?,
    })
}

pub(super) type Tx = super::WriteTx;

/// The user `user_id`, if the row exists (call before deleting it).
pub(super) async fn enqueue_user(
    tx: &mut Tx,
    batch: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    enqueue(
        tx,
        batch,
        PendingKind::User,
        "users WHERE id = $3",
        user_id,
        now_ms,
    )
    .await
}

/// The key `key_id`, if the row exists (call before deleting it).
pub(super) async fn enqueue_key(
    tx: &mut Tx,
    batch: &str,
    key_id: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    enqueue(
        tx,
        batch,
        PendingKind::Key,
        "api_keys WHERE id = $3",
        key_id,
        now_ms,
    )
    .await
}

/// Every key of `user_id` (before the user and, by cascade, the keys go).
pub(super) async fn enqueue_keys_of(
    tx: &mut Tx,
    batch: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    enqueue(
        tx,
        batch,
        PendingKind::Key,
        "api_keys WHERE user_id = $3",
        user_id,
        now_ms,
    )
    .await
}

/// The sessions of `user_id` revoked at `revoked_at` (in this transaction): their revocation
/// marks are published like records, so a store that was down when they ended still gets them.
pub(super) async fn enqueue_sessions_revoked(
    tx: &mut Tx,
    batch: &str,
    user_id: &str,
    revoked_at: i64,
) -> Result<(), sqlx::Error> {
    // `$2` is both the row's created_at and the revocation time: the same instant.
    enqueue(
        tx,
        batch,
        PendingKind::Session,
        "sessions WHERE user_id = $3 AND revoked_at = $2",
        user_id,
        revoked_at,
    )
    .await
}

async fn enqueue(
    tx: &mut Tx,
    batch: &str,
    kind: PendingKind,
    source: &str,
    source_id: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let owner = match kind {
        PendingKind::User => "org_id",
        PendingKind::Key | PendingKind::Session => "user_id",
    };
    let sql = format!(
        "INSERT INTO publish_outbox (id, batch, kind, target_id, owner_id, created_at) \
         SELECT $1 || ':' || id, $1, '{}', id, {owner}, $2 FROM {source}",
        kind.as_str()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(batch)
        .bind(now_ms)
        .bind(source_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Db {
    /// The rows of one change.
    pub async fn pending_batch(&self, batch: &str) -> AuthResult<Vec<Pending>> {
        self.select_pending("WHERE batch = $1", batch).await
    }

    /// What is still to publish about one user or key (a retried call finishes it).
    pub async fn pending_for(&self, target_id: &str) -> AuthResult<Vec<Pending>> {
        self.select_pending("WHERE target_id = $1", target_id).await
    }

    /// Everything still to publish about one user: their record, their keys, their sessions'
    /// revocations, oldest first.
    pub async fn pending_of_user(&self, user_id: &str) -> AuthResult<Vec<Pending>> {
        self.select_pending(
            "WHERE target_id = $1 OR (owner_id = $1 AND kind <> 'user')",
            user_id,
        )
        .await
    }

    /// The oldest rows left behind (the store was unreachable, or the process stopped).
    pub async fn pending_oldest(&self, limit: i64) -> AuthResult<Vec<Pending>> {
        let rows = sqlx::query(
            "SELECT id, batch, kind, target_id, owner_id FROM publish_outbox \
             ORDER BY created_at, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(pending_from_row)
            .collect::<anyhow::Result<_>>()?)
    }

    async fn select_pending(&self, filter: &str, value: &str) -> AuthResult<Vec<Pending>> {
        let sql = format!(
            "SELECT id, batch, kind, target_id, owner_id FROM publish_outbox {filter} ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(pending_from_row)
            .collect::<anyhow::Result<_>>()?)
    }

    /// The row was published.
    pub async fn pending_done(&self, id: &str) -> AuthResult<()> {
        sqlx::query("DELETE FROM publish_outbox WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
