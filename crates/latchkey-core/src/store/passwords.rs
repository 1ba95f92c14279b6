//! Password changes, reset tokens and email verification tokens.

use sqlx::Row;

use super::one_time::{self, OneTime};
use super::{Db, audit};
use crate::audit::AuditEntry;
use crate::error::AuthResult;

impl Db {
    pub async fn password_hash_of(&self, user_id: &str) -> AuthResult<Option<String>> {
        let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .map(|r| r.try_get::<Option<String>, _>("password_hash"))
            .transpose()?
            .flatten())
    }

    pub async fn set_password_hash(
        &self,
        user_id: &str,
        hash: &str,
        entries: &[AuditEntry],
    ) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        audit::insert_all(&mut tx, entries).await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn insert_password_reset(
        &self,
        id: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        one_time::sweep(&mut tx, OneTime::PasswordResets, now).await?;
        sqlx::query(
            "INSERT INTO password_resets (id, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
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

    /// The user of a live, unused reset token.
    pub async fn password_reset_user(&self, id: &str, now: i64) -> AuthResult<Option<String>> {
        self.one_time_user(OneTime::PasswordResets, id, now).await
    }

    /// The user of a live, unused verification token.
    pub async fn email_verification_user(&self, id: &str, now: i64) -> AuthResult<Option<String>> {
        self.one_time_user(OneTime::EmailVerifications, id, now)
            .await
    }

    /// Spends a reset token; false when it was spent (or expired) meanwhile.
    pub async fn spend_password_reset(&self, id: &str, now: i64) -> AuthResult<bool> {
        self.spend_one_time(OneTime::PasswordResets, id, now, true)
            .await
    }
}

impl Db {
    pub async fn email_verified(&self, user_id: &str) -> AuthResult<bool> {
        let row = sqlx::query("SELECT email_verified_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .map(|r| r.try_get::<Option<i64>, _>("email_verified_at"))
            .transpose()?
            .flatten()
            .is_some())
    }

    /// Marks the address proven; the change is queued for publishing in `batch` (the cached
    /// record carries the flag) and `entries` are written, only when it was not already.
    /// False when it already was.
    pub async fn mark_email_verified(
        &self,
        user_id: &str,
        now: i64,
        batch: &str,
        entries: &[AuditEntry],
    ) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        let changed = set_verified(&mut tx, user_id, now, batch).await?;
        if changed {
            audit::insert_all(&mut tx, entries).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    pub async fn insert_email_verification(
        &self,
        id: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        one_time::sweep(&mut tx, OneTime::EmailVerifications, now).await?;
        sqlx::query(
            "INSERT INTO email_verifications (id, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
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

    /// Spends a live verification token and marks its user verified (queued for publishing
    /// in `batch`); the user, or `None`. `verified` is completed with the user as actor and
    /// subject.
    pub async fn spend_email_verification(
        &self,
        id: &str,
        now: i64,
        batch: &str,
        verified: AuditEntry,
    ) -> AuthResult<Option<String>> {
        let mut tx = self.begin_write().await?;
        let Some(user_id) =
            one_time::spend_for_user(&mut tx, OneTime::EmailVerifications, id, now).await?
        else {
            return Ok(None);
        };
        set_verified(&mut tx, &user_id, now, batch).await?;
        let mut entry = verified.subject(&user_id);
        entry.actor_id.get_or_insert_with(|| user_id.clone());
        audit::insert(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }
}

/// Sets the verified flag once, bumping the user's version and queueing the user's record
/// for publishing, like every change a cached record shows.
async fn set_verified(
    tx: &mut super::WriteTx,
    user_id: &str,
    now: i64,
    batch: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE users SET email_verified_at = $1, updated_at = $1, version = version + 1 \
         WHERE id = $2 AND email_verified_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    super::outbox::enqueue_user(tx, batch, user_id, now).await?;
    Ok(true)
}
