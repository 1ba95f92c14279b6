//! Organizations and users.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, audit, is_unique_violation, outbox, parse_column};
use crate::audit::{ActorKind, AuditEntry};
use crate::domain::{Org, Role, User};
use crate::error::{AuthError, AuthResult};

/// A user as stored: the domain's `User` plus the password hash, which only login reads.
pub struct UserRow {
    pub user: User,
    pub password_hash: Option<String>,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The id of the one organization of a single-organization deployment (`single_org`).
pub const SINGLE_ORG_ID: &str = "00000000-0000-4000-8000-000000000001";

pub struct NewUser<'a> {
    pub email: &'a str,
    pub email_normalized: &'a str,
    pub name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub scopes: &'a [String],
    /// Join this organization as a member; `None` founds a new one with the user as admin.
    pub referral_code: Option<&'a str>,
    /// Name of the organization founded when there is no referral code.
    pub new_org_name: &'a str,
    /// An external identity linked in the same transaction (sign-up through a provider).
    pub identity: Option<super::NewIdentity<'a>>,
}

macro_rules! user_columns {
    () => {
        "id, org_id, email, name, phone, role, scopes, disabled_at, email_verified_at, version"
    };
}
pub(super) use user_columns;

pub(super) fn user_from_row(row: &AnyRow) -> anyhow::Result<User> {
    let role: String = row.try_get("role")?;
    let scopes: String = row.try_get("scopes")?;
    Ok(User {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        phone: row.try_get("phone")?,
        role: parse_column(&role, "users.role")?,
        scopes: scopes.split_ascii_whitespace().map(str::to_owned).collect(),
        disabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
        email_verified: row
            .try_get::<Option<i64>, _>("email_verified_at")?
            .is_some(),
        version: row.try_get("version")?,
    })
}

impl Db {
    /// Creates the user, and the organization too when there is no referral code, atomically,
    /// with its `user.signed_up` entry (completed here with the new ids and role). With
    /// `single_org`, a user without a referral code joins the deployment's one organization
    /// (`SINGLE_ORG_ID`) as a member, or founds it as its admin when it does not exist yet.
    pub async fn create_user(
        &self,
        new: NewUser<'_>,
        now_ms: i64,
        signed_up: AuditEntry,
        single_org: bool,
    ) -> AuthResult<(User, Org)> {
        let mut tx = self.begin_write().await?;
        let (org, role) = match new.referral_code {
            None if single_org => {
                let org = Org {
                    id: SINGLE_ORG_ID.to_owned(),
                    name: new.new_org_name.to_owned(),
                    referral_code: new_referral_code(),
                };
                // The primary key decides who is first, also between instances: a concurrent
                // founder waits for the other transaction, then finds the row and joins it.
                let founded = sqlx::query(
                    "INSERT INTO organizations (id, name, referral_code, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                )
                .bind(&org.id)
                .bind(&org.name)
                .bind(&org.referral_code)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if founded {
                    (org, Role::Admin)
                } else {
                    let row = sqlx::query(
                        "SELECT id, name, referral_code FROM organizations WHERE id = $1",
                    )
                    .bind(SINGLE_ORG_ID)
                    .fetch_one(&mut *tx)
                    .await?;
                    (org_from_row(&row)?, Role::Member)
                }
            }
            Some(code) => {
                let row = sqlx::query(
                    "SELECT id, name, referral_code FROM organizations WHERE referral_code = $1",
                )
                .bind(code)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(AuthError::UnknownReferralCode)?;
                (org_from_row(&row)?, Role::Member)
            }
            None => {
                let org = Org {
                    id: uuid::Uuid::new_v4().to_string(),
                    name: new.new_org_name.to_owned(),
                    referral_code: new_referral_code(),
                };
                sqlx::query(
                    "INSERT INTO organizations (id, name, referral_code, created_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&org.id)
                .bind(&org.name)
                .bind(&org.referral_code)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
                (org, Role::Admin)
            }
        };
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            org_id: org.id.clone(),
            email: new.email.to_owned(),
            name: new.name.map(str::to_owned),
            phone: new.phone.map(str::to_owned),
            role,
            scopes: new.scopes.to_vec(),
            disabled: false,
            email_verified: false,
            version: 0,
        };
        let inserted = sqlx::query(
            "INSERT INTO users (id, org_id, email, email_normalized, name, phone, password_hash, \
             role, scopes, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(&user.id)
        .bind(&user.org_id)
        .bind(&user.email)
        .bind(new.email_normalized)
        .bind(&user.name)
        .bind(&user.phone)
        .bind(new.password_hash)
        .bind(user.role.as_str())
        .bind(user.scope_string())
        .bind(now_ms)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => return Err(AuthError::EmailTaken),
            other => other?,
        };
        if let Some(identity) = &new.identity {
            super::identities::link(&mut tx, identity, &user.id, now_ms).await?;
        }
        let mut entry = signed_up
            .subject(&user.id)
            .org(&org.id)
            .detail("role", user.role.as_str());
        if entry.actor_kind == ActorKind::User {
            entry.actor_id.get_or_insert_with(|| user.id.clone());
        }
        audit::insert(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok((user, org))
    }

    /// The only read of a password hash: login checks it, nothing else sees it.
    pub async fn user_by_email(&self, email_normalized: &str) -> AuthResult<Option<UserRow>> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            ", password_hash FROM users WHERE email_normalized = $1"
        );
        let row = sqlx::query(sql)
            .bind(email_normalized)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(UserRow {
            user: user_from_row(&row)?,
            password_hash: row.try_get("password_hash")?,
        }))
    }

    pub async fn user_by_id(&self, id: &str) -> AuthResult<Option<User>> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
        let row = sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    pub async fn org_by_id(&self, id: &str) -> AuthResult<Option<Org>> {
        let row = sqlx::query("SELECT id, name, referral_code FROM organizations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(org_from_row).transpose()?)
    }

    /// Gives the organization a new referral code, with its audit entry, in one transaction:
    /// sign-ups look the code up here, so the old one stops working at the commit.
    /// `None` when the organization is gone.
    pub async fn regenerate_referral_code(
        &self,
        org_id: &str,
        entry: &AuditEntry,
    ) -> AuthResult<Option<Org>> {
        let mut tx = self.begin_write().await?;
        let code = new_referral_code();
        let r = sqlx::query("UPDATE organizations SET referral_code = $1 WHERE id = $2")
            .bind(&code)
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() != 1 {
            return Ok(None);
        }
        let row = sqlx::query("SELECT id, name, referral_code FROM organizations WHERE id = $1")
            .bind(org_id)
            .fetch_one(&mut *tx)
            .await?;
        audit::insert(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(Some(org_from_row(&row)?))
    }

    /// Changes the role; the change is queued for publishing in `batch` (see `outbox`).
    pub async fn set_user_role(
        &self,
        id: &str,
        role: Role,
        now_ms: i64,
        batch: &str,
        entries: &[AuditEntry],
    ) -> AuthResult<bool> {
        self.update_user(
            "UPDATE users SET role = $1, updated_at = $2, version = version + 1 WHERE id = $3",
            role.as_str().to_owned(),
            id,
            now_ms,
            batch,
            entries,
        )
        .await
    }

    /// One statement changing one user (`$1` the value, `$2` now, `$3` the id), with its
    /// outbox row and audit entries, in one transaction.
    async fn update_user<V>(
        &self,
        sql: &'static str,
        value: V,
        id: &str,
        now_ms: i64,
        batch: &str,
        entries: &[AuditEntry],
    ) -> AuthResult<bool>
    where
        V: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + 'static,
    {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(sql)
            .bind(value)
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        outbox::enqueue_user(&mut tx, batch, id, now_ms).await?;
        if r.rows_affected() == 1 {
            audit::insert_all(&mut tx, entries).await?;
        }
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn set_user_scopes(
        &self,
        id: &str,
        scopes: &[String],
        now_ms: i64,
        batch: &str,
        entries: &[AuditEntry],
    ) -> AuthResult<bool> {
        self.update_user(
            "UPDATE users SET scopes = $1, updated_at = $2, version = version + 1 WHERE id = $3",
            scopes.join(" "),
            id,
            now_ms,
            batch,
            entries,
        )
        .await
    }

    /// Deletes the user (sessions and keys go by cascade), queueing the user's and every
    /// key's tombstone in `batch`.
    pub async fn delete_user(
        &self,
        id: &str,
        now_ms: i64,
        batch: &str,
        entries: &[AuditEntry],
    ) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        audit::insert_all(&mut tx, entries).await?;
        outbox::enqueue_user(&mut tx, batch, id, now_ms).await?;
        outbox::enqueue_keys_of(&mut tx, batch, id, now_ms).await?;
        let r = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn users_of_org(&self, org_id: &str) -> AuthResult<Vec<User>> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE org_id = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(sql).bind(org_id).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(user_from_row)
            .collect::<anyhow::Result<_>>()?)
    }

    /// Sets or clears the disabled flag; disabling also ends the user's live sessions, in the
    /// same transaction. `None` when there is no such user, else the ended sessions' ids.
    pub async fn set_user_disabled(
        &self,
        id: &str,
        disabled: bool,
        now_ms: i64,
        batch: &str,
        entries: &[AuditEntry],
    ) -> AuthResult<Option<Vec<String>>> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "UPDATE users SET disabled_at = $1, updated_at = $2, version = version + 1 WHERE id = $3",
        )
        .bind(disabled.then_some(now_ms))
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(None);
        }
        let ended = if disabled {
            sqlx::query(
                "UPDATE sessions SET revoked_at = $1, revoke_reason = 'account disabled' \
                 WHERE user_id = $2 AND revoked_at IS NULL RETURNING id",
            )
            .bind(now_ms)
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>("id"))
            .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        outbox::enqueue_user(&mut tx, batch, id, now_ms).await?;
        if !ended.is_empty() {
            outbox::enqueue_sessions_revoked(&mut tx, batch, id, now_ms).await?;
        }
        audit::insert_all(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(Some(ended))
    }
}

fn org_from_row(row: &AnyRow) -> anyhow::Result<Org> {
    Ok(Org {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        referral_code: row.try_get("referral_code")?,
    })
}

/// 10 characters from an alphabet without look-alikes (no 0/O, 1/I/L): ~50 bits, easy to read
/// aloud, and guessing is rate-limited with sign-ups anyway.
pub(super) fn new_referral_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    // Rejection sampling keeps every character equally likely (256 is not a multiple of 31).
    let limit = 256 - 256 % ALPHABET.len();
    let mut code = String::with_capacity(10);
    while code.len() < 10 {
        for b in crate::secret::random_bytes::<16>() {
            if (b as usize) < limit && code.len() < 10 {
                code.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
    }
    code
}
