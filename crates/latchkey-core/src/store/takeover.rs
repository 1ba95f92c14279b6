//! Taking over an account whose address was never proven (pre-account hijacking): whoever
//! proves the mailbox gets the account, and everything set up on it before goes.

use sqlx::Row;

use super::{Db, WriteTx, audit, outbox};
use crate::audit::AuditEntry;
use crate::error::AuthResult;

/// What a takeover removed, for its audit entry and the logs.
#[derive(Debug, Clone, Default)]
pub struct TakenOver {
    /// Sessions ended (their refresh tokens die with them).
    pub sessions: Vec<String>,
    pub api_keys: u64,
    pub identities: u64,
    /// Whether a second factor was on.
    pub totp: bool,
    /// Whether the account had a password.
    pub password: bool,
    /// Whether the organization's referral code was replaced (the account is its admin).
    pub referral_code_rotated: bool,
    /// Other members of the account's organization, left in place for the new owner to review.
    pub other_members: i64,
}

impl Db {
    /// Marks the address of `user_id` proven and removes every credential and session set up
    /// before: password, phone, sessions (revoked), API keys (tombstones queued in `batch`),
    /// linked identities, TOTP and recovery codes, pending MFA challenges, reset and
    /// verification links, phone codes and pending sign-in hand-offs. When the account is an
    /// admin of its organization, the referral code is replaced. All in one transaction, and
    /// only if the address is still unproven (a compare-and-set on `email_verified_at`):
    /// `None` when it was proven meanwhile, and nothing changed.
    pub async fn take_over_account(
        &self,
        user_id: &str,
        now: i64,
        batch: &str,
        entry: AuditEntry,
    ) -> AuthResult<Option<TakenOver>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT password_hash, role, org_id FROM users \
             WHERE id = $1 AND email_verified_at IS NULL",
        )
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let password = row.try_get::<Option<String>, _>("password_hash")?.is_some();
        let role: String = row.try_get("role")?;
        let org_id: String = row.try_get("org_id")?;
        let r = sqlx::query(
            "UPDATE users SET email_verified_at = $1, password_hash = NULL, phone = NULL, \
             updated_at = $1, version = version + 1 \
             WHERE id = $2 AND email_verified_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(None);
        }
        let mut done = sweep(&mut tx, user_id, now, batch).await?;
        done.password = password;
        if role == "admin" {
            // Whoever set the account up knows the code and could bring members in.
            sqlx::query("UPDATE organizations SET referral_code = $1 WHERE id = $2")
                .bind(super::accounts::new_referral_code())
                .bind(&org_id)
                .execute(&mut *tx)
                .await?;
            done.referral_code_rotated = true;
        }
        done.other_members =
            sqlx::query("SELECT COUNT(*) AS n FROM users WHERE org_id = $1 AND id <> $2")
                .bind(&org_id)
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        outbox::enqueue_user(&mut tx, batch, user_id, now).await?;
        let entry = entry
            .detail("sessions_revoked", done.sessions.len())
            .detail("api_keys_removed", done.api_keys)
            .detail("identities_removed", done.identities)
            .detail("password_removed", done.password)
            .detail("totp_removed", done.totp)
            .detail("referral_code_rotated", done.referral_code_rotated)
            .detail("other_members", done.other_members);
        audit::insert(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Some(done))
    }

    /// The removals of a takeover, again, once its revocations are in force: a request of the
    /// former holder that was already past its checks when the takeover committed (a key
    /// being created, a factor being enrolled) cannot leave anything behind. Runs before the
    /// new owner has any session or key of their own.
    pub async fn sweep_taken_over(
        &self,
        user_id: &str,
        now: i64,
        batch: &str,
    ) -> AuthResult<TakenOver> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET password_hash = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let done = sweep(&mut tx, user_id, now, batch).await?;
        if !done.sessions.is_empty() || done.api_keys > 0 {
            outbox::enqueue_user(&mut tx, batch, user_id, now).await?;
        }
        tx.commit().await?;
        Ok(done)
    }
}

async fn sweep(
    tx: &mut WriteTx,
    user_id: &str,
    now: i64,
    batch: &str,
) -> Result<TakenOver, sqlx::Error> {
    let sessions: Vec<String> = sqlx::query(
        "UPDATE sessions SET revoked_at = $1, revoke_reason = 'account taken over' \
         WHERE user_id = $2 AND revoked_at IS NULL RETURNING id",
    )
    .bind(now)
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| r.try_get::<String, _>("id"))
    .collect::<Result<_, _>>()?;
    if !sessions.is_empty() {
        outbox::enqueue_sessions_revoked(tx, batch, user_id, now).await?;
    }
    // Tombstones for every key (and with them their live API tokens), before the rows go.
    outbox::enqueue_keys_of(tx, batch, user_id, now).await?;
    let api_keys = exec(tx, "DELETE FROM api_keys WHERE user_id = $1", user_id).await?;
    let identities = exec(
        tx,
        "DELETE FROM external_identities WHERE user_id = $1",
        user_id,
    )
    .await?;
    let totp = exec(
        tx,
        "DELETE FROM user_totp WHERE user_id = $1 AND enabled_at IS NOT NULL",
        user_id,
    )
    .await?;
    for sql in [
        "DELETE FROM user_totp WHERE user_id = $1",
        "DELETE FROM recovery_codes WHERE user_id = $1",
        "DELETE FROM mfa_challenges WHERE user_id = $1",
        "DELETE FROM password_resets WHERE user_id = $1",
        "DELETE FROM email_verifications WHERE user_id = $1",
        "DELETE FROM phone_verifications WHERE user_id = $1",
    ] {
        exec(tx, sql, user_id).await?;
    }
    // Hand-offs naming the user: a provider sign-in not yet exchanged, a link ticket. The
    // payload is JSON this server wrote, and user ids are UUIDs (nothing to escape).
    sqlx::query("DELETE FROM login_handoffs WHERE payload LIKE $1")
        .bind(format!("%\"user_id\":\"{user_id}\"%"))
        .execute(&mut **tx)
        .await?;
    Ok(TakenOver {
        sessions,
        api_keys,
        identities,
        totp: totp > 0,
        ..Default::default()
    })
}

async fn exec(tx: &mut WriteTx, sql: &'static str, user_id: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(sql)
        .bind(user_id)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}
