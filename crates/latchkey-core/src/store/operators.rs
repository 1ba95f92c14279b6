//! The operator flag (`users.operator_since`): deployment-wide rights, granted only from the
//! command line and read afresh on every operator request.

use sqlx::Row;

use super::Db;
use super::accounts::user_from_row;
use crate::domain::User;
use crate::error::AuthResult;

impl Db {
    /// Whether `user_id` is an operator now: flagged and not disabled. A fresh read, no cache,
    /// so a revoke or a disabled account stops the next request.
    pub async fn is_operator(&self, user_id: &str) -> AuthResult<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM users WHERE id = $1 AND operator_since IS NOT NULL \
             AND disabled_at IS NULL",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Grants (`true`) or revokes the flag of the user with this (normalized) email. `None`
    /// when there is no such user; otherwise the user and whether anything changed.
    pub async fn set_operator(
        &self,
        email_normalized: &str,
        operator: bool,
        now_ms: i64,
    ) -> AuthResult<Option<(User, bool)>> {
        let mut tx = self.begin_write().await?;
        let sql = concat!(
            "SELECT ",
            super::accounts::user_columns!(),
            ", operator_since FROM users WHERE email_normalized = $1"
        );
        let Some(row) = sqlx::query(sql)
            .bind(email_normalized)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let user = user_from_row(&row)?;
        let was = row.try_get::<Option<i64>, _>("operator_since")?.is_some();
        if was == operator {
            return Ok(Some((user, false)));
        }
        sqlx::query("UPDATE users SET operator_since = $1 WHERE id = $2")
            .bind(operator.then_some(now_ms))
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some((user, true)))
    }
}
