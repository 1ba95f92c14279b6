//! One-time sign-in codes: stored as a keyed hash, counted and spent atomically.

use sqlx::Row;

use super::Db;
use super::one_time::{self, OneTime};
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
        one_time::sweep(&mut tx, OneTime::LoginCodes, now_ms).await?;
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
        let row = self
            .attempt_one_time(
                OneTime::LoginCodes,
                "attempts",
                "email, email_normalized, code_hash, attempts",
                id,
                now_ms,
                max_attempts,
            )
            .await?;
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
        let row = self
            .attempt_one_time(
                OneTime::LoginCodes,
                "mfa_attempts",
                "mfa_attempts",
                id,
                now_ms,
                max,
            )
            .await?;
        Ok(row.map(|r| r.try_get("mfa_attempts")).transpose()?)
    }

    /// Spends a code; false when another request spent it first.
    pub async fn spend_login_code(&self, id: &str, now_ms: i64) -> AuthResult<bool> {
        self.spend_one_time(OneTime::LoginCodes, id, now_ms, false)
            .await
    }
}
