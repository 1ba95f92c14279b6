//! Password changes and reset tokens.

use sqlx::Row;

use super::Db;
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

    pub async fn set_password_hash(&self, user_id: &str, hash: &str) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
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
        sqlx::query("DELETE FROM password_resets WHERE expires_at < $1")
            .bind(now - 24 * 3600 * 1000)
            .execute(&mut *tx)
            .await?;
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
        let row = sqlx::query(
            "SELECT user_id FROM password_resets \
             WHERE id = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("user_id")).transpose()?)
    }

    /// Spends a reset token; false when it was spent (or expired) meanwhile.
    pub async fn spend_password_reset(&self, id: &str, now: i64) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE password_resets SET used_at = $1 \
             WHERE id = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }
}
