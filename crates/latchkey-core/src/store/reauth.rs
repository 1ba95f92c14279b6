//! Re-authentication times of sessions, linked identities as their owner sees them, and the
//! clean-up after a password is replaced.

use sqlx::Row;

use super::{Db, audit};
use crate::audit::AuditEntry;
use crate::error::{AuthError, AuthResult};

/// A provider identity linked to an account.
#[derive(Debug, Clone)]
pub struct IdentityRow {
    pub provider: String,
    pub subject: String,
    pub email: Option<String>,
    pub created_at: i64,
}

/// What the clean-up after a password change or reset removed.
#[derive(Debug, Clone, Default)]
pub struct Removed {
    pub identities: Vec<String>,
    pub totp: bool,
}

impl Db {
    /// The session's owner and when a credential was last proved in it, for a live session.
    pub async fn session_auth_time(&self, sid: &str) -> AuthResult<Option<(String, i64)>> {
        let row = sqlx::query(
            "SELECT user_id, COALESCE(reauth_at, created_at) AS auth_at FROM sessions \
             WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(sid)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|r| Ok::<_, sqlx::Error>((r.try_get("user_id")?, r.try_get("auth_at")?)))
            .transpose()?)
    }

    /// Records a proof of a credential in a live session; false when it has ended.
    pub async fn set_reauth(&self, sid: &str, now_ms: i64) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        let r =
            sqlx::query("UPDATE sessions SET reauth_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now_ms)
                .bind(sid)
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn identities_of(&self, user_id: &str) -> AuthResult<Vec<IdentityRow>> {
        let rows = sqlx::query(
            "SELECT provider, subject, email, created_at FROM external_identities \
             WHERE user_id = $1 ORDER BY created_at, provider, subject",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(IdentityRow {
                    provider: r.try_get("provider")?,
                    subject: r.try_get("subject")?,
                    email: r.try_get("email")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(AuthError::from)
    }

    /// Removes one identity of `user_id`, unless it is the last way to sign in (no password
    /// and no other identity). `Ok(false)`: no such identity of this user.
    pub async fn unlink_identity(
        &self,
        user_id: &str,
        provider: &str,
        subject: &str,
        entries: &[AuditEntry],
    ) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        let others: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM external_identities \
             WHERE user_id = $1 AND NOT (provider = $2 AND subject = $3)",
        )
        .bind(user_id)
        .bind(provider)
        .bind(subject)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        let has_password =
            sqlx::query("SELECT 1 AS one FROM users WHERE id = $1 AND password_hash IS NOT NULL")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        let r = sqlx::query(
            "DELETE FROM external_identities WHERE user_id = $1 AND provider = $2 AND subject = $3",
        )
        .bind(user_id)
        .bind(provider)
        .bind(subject)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Ok(false);
        }
        if others == 0 && !has_password {
            // Dropped uncommitted: the account would have no way in but mailed codes.
            return Err(AuthError::Conflict(
                "this is the account's last way to sign in: set a password or link another provider first",
            ));
        }
        audit::insert_all(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Ends every unused reset link of the user; how many were live.
    pub async fn end_password_resets(&self, user_id: &str, now_ms: i64) -> AuthResult<u64> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
        )
        .bind(now_ms)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(r.rows_affected())
    }

    /// Removes the provider links made since `since`, and the second factor when it was set
    /// up since then (its recovery codes with it).
    pub async fn remove_recent_sign_ins(
        &self,
        user_id: &str,
        since: i64,
        entries: &[AuditEntry],
    ) -> AuthResult<Removed> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "DELETE FROM external_identities WHERE user_id = $1 AND created_at >= $2 \
             RETURNING provider",
        )
        .bind(user_id)
        .bind(since)
        .fetch_all(&mut *tx)
        .await?;
        let identities = rows
            .iter()
            .map(|r| r.try_get("provider"))
            .collect::<Result<Vec<String>, _>>()?;
        let totp = sqlx::query(
            "DELETE FROM user_totp WHERE user_id = $1 AND COALESCE(enabled_at, created_at) >= $2",
        )
        .bind(user_id)
        .bind(since)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if totp {
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        audit::insert_all(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(Removed { identities, totp })
    }
}
