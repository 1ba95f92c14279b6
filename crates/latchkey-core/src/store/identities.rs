//! External identities (provider, subject) → user, and the one-time hand-off codes.

use sqlx::Row;

use super::{Db, WriteTx, is_unique_violation};
use crate::error::{AuthError, AuthResult};

pub struct NewIdentity<'a> {
    pub provider: &'a str,
    pub subject: &'a str,
    pub email: Option<&'a str>,
}

/// A hand-off code taken from the table: it can never be taken twice.
pub struct Handoff {
    pub payload: String,
    pub code_challenge: Option<String>,
    pub expires_at: i64,
}

pub(super) async fn link(
    tx: &mut WriteTx,
    id: &NewIdentity<'_>,
    user_id: &str,
    now_ms: i64,
) -> AuthResult<()> {
    let inserted = sqlx::query(
        "INSERT INTO external_identities (provider, subject, user_id, email, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.provider)
    .bind(id.subject)
    .bind(user_id)
    .bind(id.email)
    .bind(now_ms)
    .execute(&mut **tx)
    .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => Err(AuthError::Conflict(
            "this sign-in is already linked to an account",
        )),
        other => other.map(drop).map_err(AuthError::from),
    }
}

impl Db {
    pub async fn identity_user(&self, provider: &str, subject: &str) -> AuthResult<Option<String>> {
        let row = sqlx::query(
            "SELECT user_id FROM external_identities WHERE provider = $1 AND subject = $2",
        )
        .bind(provider)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("user_id")).transpose()?)
    }

    pub async fn link_identity(
        &self,
        id: &NewIdentity<'_>,
        user_id: &str,
        now_ms: i64,
        entries: &[crate::audit::AuditEntry],
    ) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        link(&mut tx, id, user_id, now_ms).await?;
        super::audit::insert_all(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn put_handoff(
        &self,
        code_hash: &str,
        payload: &str,
        code_challenge: Option<&str>,
        expires_at: i64,
    ) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        // Expired codes go as new ones come: the table stays as small as the traffic.
        sqlx::query("DELETE FROM login_handoffs WHERE expires_at < $1")
            .bind(expires_at - 3_600_000)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO login_handoffs (code_hash, payload, code_challenge, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(code_hash)
        .bind(payload)
        .bind(code_challenge)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes and returns the code's row in one statement, so two concurrent exchanges of
    /// one code cannot both succeed.
    pub async fn take_handoff(&self, code_hash: &str) -> AuthResult<Option<Handoff>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "DELETE FROM login_handoffs WHERE code_hash = $1 \
             RETURNING payload, code_challenge, expires_at",
        )
        .bind(code_hash)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(match row {
            Some(r) => Some(Handoff {
                payload: r.try_get("payload")?,
                code_challenge: r.try_get("code_challenge")?,
                expires_at: r.try_get("expires_at")?,
            }),
            None => None,
        })
    }
}
