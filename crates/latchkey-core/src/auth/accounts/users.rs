//! Users as the hot path sees them: records in the token store, derived from the database and
//! rewritten on every change, so every instance sees a change on the next request.

use std::sync::Arc;

use crate::auth::Auth;
use crate::auth::publish::new_batch;
use crate::domain::{Role, User};
use crate::error::{AuthError, AuthResult};
use crate::state::UserRecord;

fn record_of(u: &User) -> UserRecord {
    UserRecord {
        org_id: u.org_id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        phone: u.phone.clone(),
        role: u.role,
        scopes: u.scopes.clone(),
        disabled: u.disabled,
        email_verified: Some(u.email_verified),
        version: u.version,
    }
}

/// A user as the token rules need it, from their live record.
pub(in crate::auth) fn user_of(uid: &str, r: UserRecord) -> User {
    User {
        id: uid.to_owned(),
        org_id: r.org_id,
        email: r.email,
        name: r.name,
        phone: r.phone,
        role: r.role,
        scopes: r.scopes,
        disabled: r.disabled,
        email_verified: r.email_verified.unwrap_or(false),
        version: r.version,
    }
}

/// What stands in for a removed user: refuses everything until the record expires, and the
/// database (no row) refuses after that.
fn tombstone() -> UserRecord {
    UserRecord {
        org_id: String::new(),
        email: String::new(),
        name: None,
        phone: None,
        role: Role::Member,
        scopes: Vec::new(),
        disabled: true,
        email_verified: Some(false),
        // User ids are never reused: nothing may replace the tombstone.
        version: i64::MAX,
    }
}

impl Auth {
    /// The user's record: from the token store, or read from the database on a miss.
    pub async fn user_record(&self, uid: &str) -> AuthResult<UserRecord> {
        if let Some(rec) = self.state.user(uid).await? {
            return Ok(rec);
        }
        self.load_user_record(uid).await
    }

    pub(in crate::auth) async fn load_user_record(&self, uid: &str) -> AuthResult<UserRecord> {
        let Some(user) = self.db.user_by_id(uid).await? else {
            // Not cached: ids anyone can make up (a refresh token names one) must not grow the
            // store. Refused all the same.
            return Ok(tombstone());
        };
        let rec = record_of(&user);
        // Only if absent: a writer that changed the user meanwhile has already put a newer one.
        self.state.put_user_if_absent(uid, &rec).await?;
        Ok(rec)
    }

    /// Rewrites the user's record and every record of their API keys from the database, after
    /// a change to the user (scopes, role, disabled, removed).
    pub(in crate::auth) async fn publish_user(&self, uid: &str) -> AuthResult<()> {
        let user = self.db.user_by_id(uid).await?;
        let rec = user.as_ref().map(record_of).unwrap_or_else(tombstone);
        self.state.put_user(uid, &rec).await?;
        for key in self.db.api_keys_of(uid).await? {
            self.publish_key(&key.id).await?;
        }
        Ok(())
    }

    pub(in crate::auth) async fn user(&self, id: &str) -> AuthResult<Arc<User>> {
        Ok(Arc::new(
            self.db
                .user_by_id(id)
                .await?
                .ok_or(AuthError::NotFound("user"))?,
        ))
    }

    /// Disables (or re-enables) an account. Disabling ends every session and key at once.
    /// Saved and published: the call may be retried as is (`Unpublished` says it is saved).
    pub async fn set_user_disabled(
        &self,
        user_id: &str,
        disabled: bool,
        audit: Option<crate::auth::AuditEntry>,
    ) -> AuthResult<()> {
        let now = self.clock.now_ms();
        let batch = new_batch();
        // The sessions end with the flag, in the database, so they stay ended whatever the
        // store does; their revocation marks go through the outbox with the record.
        let ended = self
            .db
            .set_user_disabled(user_id, disabled, now, &batch, audit.as_slice())
            .await?
            .ok_or(AuthError::NotFound("user"))?;
        // With whatever of this user is still pending from before: a re-enabling publishes
        // the marks of an earlier disabling first, so old access tokens stay refused.
        self.flush_user(user_id).await?;
        if disabled {
            tracing::info!(user_id, sessions = ended.len(), "account disabled");
        }
        Ok(())
    }
}
