//! Short-lived hashed one-time tokens: sign-in codes, MFA challenges, password resets, email
//! verification links. Each
//! table keys its rows by a hash of the token and has `expires_at` and `used_at`; some count
//! tries. The statements they share live here, so "swept", "spent" and "a try counted" mean
//! the same in every table.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, WriteTx};
use crate::error::AuthResult;

/// A table of one-time tokens. The names are fixed here, never input, so SQL may be built from
/// them.
#[derive(Debug, Clone, Copy)]
pub(super) enum OneTime {
    LoginCodes,
    MfaChallenges,
    PasswordResets,
    EmailVerifications,
}

impl OneTime {
    fn table(self) -> &'static str {
        match self {
            OneTime::LoginCodes => "login_codes",
            OneTime::MfaChallenges => "mfa_challenges",
            OneTime::PasswordResets => "password_resets",
            OneTime::EmailVerifications => "email_verifications",
        }
    }
}

/// Rows go a day after they expire, swept as new ones come: the table stays as small as the
/// traffic, while a just-expired token still reads as expired rather than unknown.
const KEEP_EXPIRED_MS: i64 = 24 * 3600 * 1000;

/// Deletes `kind`'s long-expired rows, in the transaction that inserts a new one.
pub(super) async fn sweep(tx: &mut WriteTx, kind: OneTime, now_ms: i64) -> Result<(), sqlx::Error> {
    let sql = format!("DELETE FROM {} WHERE expires_at < $1", kind.table());
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now_ms - KEEP_EXPIRED_MS)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Spends a live, unspent token of a table with a `user_id` column inside `tx` (so the spend
/// commits with what it unlocks); its user, or `None` when there is no such token.
pub(super) async fn spend_for_user(
    tx: &mut WriteTx,
    kind: OneTime,
    id: &str,
    now_ms: i64,
) -> Result<Option<String>, sqlx::Error> {
    let sql = format!(
        "UPDATE {} SET used_at = $1 \
         WHERE id = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        kind.table()
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now_ms)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| r.try_get("user_id")).transpose()
}

impl Db {
    /// The user of a live, unspent token of a table with a `user_id` column.
    pub(super) async fn one_time_user(
        &self,
        kind: OneTime,
        id: &str,
        now_ms: i64,
    ) -> AuthResult<Option<String>> {
        let sql = format!(
            "SELECT user_id FROM {} WHERE id = $1 AND used_at IS NULL AND expires_at > $2",
            kind.table()
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(now_ms)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("user_id")).transpose()?)
    }

    /// Spends a token by a compare-and-set on `used_at`; false when another request spent it
    /// first (or, with `live_only`, it has expired).
    pub(super) async fn spend_one_time(
        &self,
        kind: OneTime,
        id: &str,
        now_ms: i64,
        live_only: bool,
    ) -> AuthResult<bool> {
        let sql = format!(
            "UPDATE {} SET used_at = $1 WHERE id = $2 AND used_at IS NULL{}",
            kind.table(),
            if live_only {
                " AND expires_at > $1"
            } else {
                ""
            }
        );
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }

    /// Counts one try in column `counter` of a live, unspent token with tries left, and
    /// returns `returning` of it; `None` when there is no such token. The count and the read
    /// are one statement, so parallel guesses can never be more than `max`.
    pub(super) async fn attempt_one_time(
        &self,
        kind: OneTime,
        counter: &'static str,
        returning: &'static str,
        id: &str,
        now_ms: i64,
        max: i64,
    ) -> AuthResult<Option<AnyRow>> {
        let sql = format!(
            "UPDATE {table} SET {counter} = {counter} + 1 \
             WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND {counter} < $3 \
             RETURNING {returning}",
            table = kind.table()
        );
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(now_ms)
            .bind(max)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row)
    }
}
