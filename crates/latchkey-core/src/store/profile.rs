//! The owner's own changes to their account: name, phone, address, deletion. Each is one
//! transaction with its audit entries and the outbox row that republishes the user's record.

use sqlx::Row;

use super::{Db, audit, is_unique_violation, outbox};
use crate::audit::AuditEntry;
use crate::error::{AuthError, AuthResult};

/// What deleting an account did to its organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgAfterDeletion {
    /// Other members remain (with an admin among them).
    Kept,
    /// The account was its last member: the organization went with it.
    Deleted,
}

impl Db {
    /// Sets the name and/or the phone (`Some(None)` clears). A new phone number forgets the
    /// verification of the old one.
    pub async fn update_profile(
        &self,
        user_id: &str,
        name: Option<Option<&str>>,
        phone: Option<Option<&str>>,
        now: i64,
        batch: &str,
        entries: &[AuditEntry],
    ) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        let mut found = true;
        if let Some(name) = name {
            found &= sqlx::query(
                "UPDATE users SET name = $1, updated_at = $2, version = version + 1 WHERE id = $3",
            )
            .bind(name)
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
        }
        if let Some(phone) = phone {
            found &= sqlx::query(
                "UPDATE users SET phone = $1, updated_at = $2, version = version + 1 WHERE id = $3",
            )
            .bind(phone)
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            // A code sent to (or a proof of) the old number says nothing about the new one.
            sqlx::query("DELETE FROM phone_verifications WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        if !found {
            return Ok(false);
        }
        outbox::enqueue_user(&mut tx, batch, user_id, now).await?;
        audit::insert_all(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether a phone number on the account was proven by a code.
    pub async fn phone_verified(&self, user_id: &str) -> AuthResult<bool> {
        let row = sqlx::query(
            "SELECT verified_at FROM phone_verifications WHERE user_id = $1 \
             AND verified_at IS NOT NULL",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// When the newest verification link of the user was made, if any.
    pub async fn last_verification_sent(&self, user_id: &str) -> AuthResult<Option<i64>> {
        let row =
            sqlx::query("SELECT MAX(created_at) AS at FROM email_verifications WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(row.try_get::<Option<i64>, _>("at")?)
    }

    /// Replaces the account's address with one its mailbox just proved (so it is verified),
    /// and ends what was mailed to the old one: verification and reset links. `email_taken`
    /// when another account holds the address by now.
    pub async fn change_email(
        &self,
        user_id: &str,
        email: &str,
        email_normalized: &str,
        now: i64,
        batch: &str,
        entries: &[AuditEntry],
    ) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE users SET email = $1, email_normalized = $2, email_verified_at = $3, \
             updated_at = $3, version = version + 1 WHERE id = $4",
        )
        .bind(email)
        .bind(email_normalized)
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await;
        let changed = match changed {
            Err(e) if is_unique_violation(&e) => return Err(AuthError::EmailTaken),
            other => other?.rows_affected() == 1,
        };
        if !changed {
            return Ok(false);
        }
        for sql in [
            "DELETE FROM email_verifications WHERE user_id = $1",
            "DELETE FROM password_resets WHERE user_id = $1",
        ] {
            sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
        }
        outbox::enqueue_user(&mut tx, batch, user_id, now).await?;
        audit::insert_all(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes the account (its sessions, keys, factors and links go by cascade), queueing the
    /// user's and every key's tombstone in `batch`. An organization is never left without an
    /// admin: the last admin of an organization with other members is refused (`conflict`);
    /// the last member takes the organization with them. `None` when there is no such user.
    pub async fn delete_account(
        &self,
        user_id: &str,
        now: i64,
        batch: &str,
        entries: &[AuditEntry],
    ) -> AuthResult<Option<OrgAfterDeletion>> {
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query("SELECT org_id, role FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let org_id: String = row.try_get("org_id")?;
        let role: String = row.try_get("role")?;
        // A write to the organization's row first: on PostgreSQL it holds the row until the
        // commit, so two last admins leaving at once are counted one after the other (SQLite
        // has one writer anyway).
        sqlx::query("UPDATE organizations SET name = name WHERE id = $1")
            .bind(&org_id)
            .execute(&mut *tx)
            .await?;
        let others: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM users WHERE org_id = $1 AND id <> $2")
                .bind(&org_id)
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        let other_admins: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM users WHERE org_id = $1 AND id <> $2 \
             AND role = 'admin' AND disabled_at IS NULL",
        )
        .bind(&org_id)
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if role == "admin" && others > 0 && other_admins == 0 {
            return Err(AuthError::Conflict(
                "you are the organization's last admin: make another member admin (or remove the other members) first",
            ));
        }
        audit::insert_all(&mut tx, entries).await?;
        outbox::enqueue_user(&mut tx, batch, user_id, now).await?;
        outbox::enqueue_keys_of(&mut tx, batch, user_id, now).await?;
        // Hand-offs naming the user (a pending change of address, a provider sign-in not yet
        // exchanged) have no foreign key: they go here.
        sqlx::query("DELETE FROM login_handoffs WHERE payload LIKE $1")
            .bind(format!("%\"user_id\":\"{user_id}\"%"))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let org = if others == 0 {
            sqlx::query("DELETE FROM organizations WHERE id = $1")
                .bind(&org_id)
                .execute(&mut *tx)
                .await?;
            OrgAfterDeletion::Deleted
        } else {
            OrgAfterDeletion::Kept
        };
        tx.commit().await?;
        Ok(Some(org))
    }

    /// Deletes every pending change of address of the user (a new request replaces them).
    pub async fn end_email_changes(&self, user_id: &str, kind_prefix: &str) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM login_handoffs WHERE payload LIKE $1")
            .bind(format!("{kind_prefix}\"user_id\":\"{user_id}\"%"))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
