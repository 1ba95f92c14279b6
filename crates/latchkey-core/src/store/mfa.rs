//! TOTP secrets, recovery codes and MFA challenges. Every count and every spend is one
//! conditional statement, so parallel requests cannot get more tries or reuse a code.

use sqlx::Row;

use super::one_time::{self, OneTime};
use super::{Db, audit};
use crate::audit::AuditEntry;
use crate::error::AuthResult;

/// Sealed with the master key when one is set, bound to its user like signing keys to theirs.
fn totp_context(user_id: &str) -> String {
    format!("totp_secret:{user_id}")
}

#[derive(Debug, Clone)]
pub struct TotpRow {
    pub secret: String,
    pub enabled: bool,
}

impl Db {
    pub async fn totp(&self, user_id: &str) -> AuthResult<Option<TotpRow>> {
        let row = sqlx::query("SELECT secret, enabled_at FROM user_totp WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let stored: String = row.try_get("secret")?;
        let secret = self.reveal(&stored, &totp_context(user_id), "TOTP secrets")?;
        Ok(Some(TotpRow {
            secret,
            enabled: row.try_get::<Option<i64>, _>("enabled_at")?.is_some(),
        }))
    }

    /// A new pending secret, replacing a pending one; false when MFA is already on.
    pub async fn put_pending_totp(
        &self,
        user_id: &str,
        secret: &str,
        now: i64,
    ) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        if totp_enabled(&mut tx, user_id).await? {
            return Ok(false);
        }
        sqlx::query("DELETE FROM user_totp WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO user_totp (user_id, secret, created_at) VALUES ($1, $2, $3)")
            .bind(user_id)
            .bind(self.conceal(secret, &totp_context(user_id)))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records `step` as used; false when it (or a later one) was used already: a replay.
    /// `enable` also turns a pending secret on and stores its recovery codes.
    pub async fn use_totp_step(
        &self,
        user_id: &str,
        step: i64,
        enable: Option<(&[String], i64)>,
        entries: &[AuditEntry],
    ) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE user_totp SET last_step = $1, enabled_at = COALESCE(enabled_at, $3) \
             WHERE user_id = $2 AND last_step < $1",
        )
        .bind(step)
        .bind(user_id)
        .bind(enable.map(|(_, now)| now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done != 1 {
            return Ok(false);
        }
        if let Some((hashes, _)) = enable {
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            for hash in hashes {
                sqlx::query(
                    "INSERT INTO recovery_codes (id, user_id, code_hash) VALUES ($1, $2, $3)",
                )
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(user_id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
            }
        }
        audit::insert_all(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Spends a recovery code; false when it is unknown or was used.
    pub async fn spend_recovery_code(
        &self,
        user_id: &str,
        hash: &str,
        now: i64,
        entries: &[AuditEntry],
    ) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 \
             WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 1 {
            audit::insert_all(&mut tx, entries).await?;
        }
        tx.commit().await?;
        Ok(done == 1)
    }

    /// Replaces every recovery code of an account whose second factor is on; false when it
    /// is not on. The old codes stop working in the same transaction.
    pub async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[String],
        entries: &[AuditEntry],
    ) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        if !totp_enabled(&mut tx, user_id).await? {
            return Ok(false);
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for hash in hashes {
            sqlx::query("INSERT INTO recovery_codes (id, user_id, code_hash) VALUES ($1, $2, $3)")
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(user_id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        audit::insert_all(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn remove_totp(&self, user_id: &str, entries: &[AuditEntry]) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        audit::insert_all(&mut tx, entries).await?;
        for sql in [
            "DELETE FROM user_totp WHERE user_id = $1",
            "DELETE FROM recovery_codes WHERE user_id = $1",
        ] {
            sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn insert_mfa_challenge(
        &self,
        id: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        one_time::sweep(&mut tx, OneTime::MfaChallenges, now).await?;
        sqlx::query(
            "INSERT INTO mfa_challenges (id, user_id, attempts, created_at, expires_at) \
             VALUES ($1, $2, 0, $3, $4)",
        )
        .bind(id)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts one try on a live challenge: its user and the tries used, this one included.
    pub async fn attempt_mfa_challenge(
        &self,
        id: &str,
        now: i64,
        max: i64,
    ) -> AuthResult<Option<(String, i64)>> {
        let row = self
            .attempt_one_time(
                OneTime::MfaChallenges,
                "attempts",
                "user_id, attempts",
                id,
                now,
                max,
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some((row.try_get("user_id")?, row.try_get("attempts")?)))
    }

    /// Spends a challenge (signed in, or out of tries); false when already spent.
    pub async fn spend_mfa_challenge(&self, id: &str, now: i64) -> AuthResult<bool> {
        self.spend_one_time(OneTime::MfaChallenges, id, now, false)
            .await
    }
}

/// Whether the account's TOTP is on, read inside the write that depends on it.
async fn totp_enabled(tx: &mut super::WriteTx, user_id: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM user_totp WHERE user_id = $1 AND enabled_at IS NOT NULL")
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?
            .is_some(),
    )
}
