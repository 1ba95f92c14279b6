//! Phone verification codes: sends spaced out and tries counted atomically in the database.

use sqlx::Row;

use super::Db;
use crate::error::AuthResult;

pub struct PendingCode {
    pub phone: String,
    pub code_hash: String,
}

impl Db {
    /// Stores a new code unless one was sent less than `resend_after_ms` ago; `false` then.
    /// One statement decides, so two concurrent requests cannot both send.
    pub async fn put_phone_code(
        &self,
        user_id: &str,
        phone: &str,
        code_hash: &str,
        now_ms: i64,
        ttl_ms: i64,
        resend_after_ms: i64,
    ) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO phone_verifications \
             (user_id, phone, code_hash, attempts, sent_at, expires_at, verified_at) \
             VALUES ($1, $2, $3, 0, $4, $5, NULL) \
             ON CONFLICT (user_id) DO UPDATE SET phone = $2, code_hash = $3, attempts = 0, \
             sent_at = $4, expires_at = $5, verified_at = NULL \
             WHERE phone_verifications.sent_at <= $6",
        )
        .bind(user_id)
        .bind(phone)
        .bind(code_hash)
        .bind(now_ms)
        .bind(now_ms + ttl_ms)
        .bind(now_ms - resend_after_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Counts one try and returns the code to compare, or `None` when there is no live code
    /// or its tries are used up. Counting happens before the comparison.
    pub async fn try_phone_code(
        &self,
        user_id: &str,
        now_ms: i64,
        max_tries: i64,
    ) -> AuthResult<Option<PendingCode>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE phone_verifications SET attempts = attempts + 1 \
             WHERE user_id = $1 AND attempts < $2 AND expires_at > $3 AND verified_at IS NULL \
             RETURNING phone, code_hash",
        )
        .bind(user_id)
        .bind(max_tries)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(match row {
            Some(r) => Some(PendingCode {
                phone: r.try_get("phone")?,
                code_hash: r.try_get("code_hash")?,
            }),
            None => None,
        })
    }

    pub async fn set_phone_verified(
        &self,
        user_id: &str,
        now_ms: i64,
        entries: &[crate::audit::AuditEntry],
    ) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        super::audit::insert_all(&mut tx, entries).await?;
        sqlx::query(
            "UPDATE phone_verifications SET verified_at = $2, code_hash = '' WHERE user_id = $1",
        )
        .bind(user_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
