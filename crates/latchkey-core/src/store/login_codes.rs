//! One-time sign-in codes: stored as a keyed hash, counted and spent atomically.

use sqlx::Row;

use super::Db;
use crate::error::AuthResult;

/// A code row, as verification needs it.
#[derive(Debug, Clone)]
pub struct LoginCodeRow {
    pub email: String,
    pub email_normalized: String,
    pub code_hash: String,
    /// Attempts counted so far, this one included.
    pub attempts: i64,
}

impl Db {
    pub async fn insert_login_code(
        &self,
        id: &str,
        email: &str,
        email_normalized: &str,
        code_hash: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        // Expired codes go with each new one: the table holds only live logins.
        sqlx::query("DELETE FROM login_codes WHERE expires_at < $1")
            .bind(now_ms - 24 * 3600 * 1000)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO login_codes (id, email, email_normalized, code_hash, attempts, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, 0, $5, $6)",
        )
        .bind(id)
        .bind(email)
        .bind(email_normalized)
        .bind(code_hash)
        .bind(now_ms)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts one attempt on a live, unspent code with tries left, and returns it; `None` when
    /// there is no such code. The count and the read are one statement, so parallel guesses
    /// can never be more than `max_attempts`.
    pub async fn attempt_login_code(
        &self,
        id: &str,
        now_ms: i64,
        max_attempts: i64,
    ) -> AuthResult<Option<LoginCodeRow>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE login_codes SET attempts = attempts + 1 \
             WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < $3 \
             RETURNING email, email_normalized, code_hash, attempts",
        )
        .bind(id)
        .bind(now_ms)
        .bind(max_attempts)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(LoginCodeRow {
            email: row.try_get("email")?,
            email_normalized: row.try_get("email_normalized")?,
            code_hash: row.try_get("code_hash")?,
            attempts: row.try_get("attempts")?,
        }))
    }

    /// Gives back the try a right code was counted for: only wrong codes use up tries, so the
    /// MFA step can send the code again.
    pub async fn refund_login_code_attempt(&self, id: &str) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE login_codes SET attempts = attempts - 1 WHERE id = $1 AND attempts > 0",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts one second-factor try on a live login: the tries used, this one included, or
    /// `None` when the login is spent, expired or out of tries.
    pub async fn attempt_login_mfa(
        &self,
        id: &str,
        now_ms: i64,
        max: i64,
    ) -> AuthResult<Option<i64>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE login_codes SET mfa_attempts = mfa_attempts + 1 \
             WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND mfa_attempts < $3 \
             RETURNING mfa_attempts",
        )
        .bind(id)
        .bind(now_ms)
        .bind(max)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(|r| r.try_get("mfa_attempts")).transpose()?)
    }

    /// Spends a code; false when another request spent it first.
    pub async fn spend_login_code(&self, id: &str, now_ms: i64) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE login_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(now_ms)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }
}
