//! The owner's side: create, list, rename or rescope, rotate and delete keys.

use std::time::Duration;

use super::format::{hash_b64, new_id, parse_name};
use super::{ApiKeyInfo, CreatedKey, KEY_PREFIX, NewApiKey};
use crate::auth::Auth;
use crate::auth::audit::{AuditEntry, AuditEvent};
use crate::auth::mfa::beyond_read;
use crate::auth::principal::Principal;
use crate::auth::publish::new_batch;
use crate::auth::scopes::{effective, parse_scopes};
use crate::error::{AuthError, AuthResult};
use crate::secret::{Secret, random_token};
use crate::store::ApiKeyRow;

fn info(row: &ApiKeyRow, owner_scopes: &[String]) -> ApiKeyInfo {
    ApiKeyInfo {
        id: row.id.clone(),
        prefix: format!("{KEY_PREFIX}{}", row.id),
        name: row.name.clone(),
        scopes: row.scopes.clone(),
        effective_scopes: effective(&row.scopes, owner_scopes),
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        expires_at: row.expires_at,
    }
}

impl Auth {
    /// Creates a key for `user_id`; the owner's scopes bound what it may carry. `created`
    /// (`api_key.created`) is completed with the key and written with it.
    pub(in crate::auth) async fn create_key_for(
        &self,
        user_id: &str,
        new: NewApiKey,
        created: AuditEntry,
    ) -> AuthResult<CreatedKey> {
        let name = parse_name(&new.name)?;
        let scopes = new.scopes.as_deref().map(parse_scopes).transpose()?;
        self.check_catalogued(scopes.as_deref().unwrap_or_default())?;
        let now = self.clock.now_ms();
        if new.expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::invalid_field(
                "expires_at",
                "must be in the future",
            ));
        }
        let owner = self.user(user_id).await?;
        if let Some(s) = scopes.iter().flatten().find(|s| !owner.scopes.contains(s)) {
            // Nobody hands a key more than its owner holds.
            return Err(AuthError::InsufficientScope(s.clone()));
        }
        let id = new_id();
        let key = format!("{KEY_PREFIX}{id}_{}", random_token::<32>());
        let row = ApiKeyRow {
            id: id.clone(),
            user_id: user_id.to_owned(),
            name,
            secret_hash: hash_b64(&key),
            generation: 0,
            previous_hash: None,
            previous_until: None,
            scopes,
            created_at: now,
            last_used_at: None,
            expires_at: new.expires_at,
        };
        let entry = created
            .subject(user_id)
            .detail("key_id", id.clone())
            .detail("scopes", row.scopes.clone());
        self.db.insert_api_key(&row, &[entry]).await?;
        if let Err(e) = self.publish_key(&id).await {
            // Nothing stale can stand for a new key: readers load it on a miss.
            tracing::warn!(key_id = %id, error = %e, "new api key not published; loaded on first use");
        }
        tracing::info!(key_id = %id, user_id, "api key created");
        Ok(CreatedKey {
            info: info(&row, &owner.scopes),
            key: Secret::new(key),
        })
    }

    pub async fn create_api_key(
        &self,
        caller: &Principal,
        new: NewApiKey,
    ) -> AuthResult<CreatedKey> {
        caller.require_session()?;
        let wanted = match &new.scopes {
            Some(scopes) => scopes.clone(),
            None => self.user(&caller.user_id).await?.scopes.clone(),
        };
        self.require_recent_auth_beyond_read(caller, &wanted)
            .await?;
        let entry = self.audit_by(caller, AuditEvent::ApiKeyCreated);
        let created = self.create_key_for(&caller.user_id, new, entry).await?;
        if beyond_read(&wanted) {
            self.notify_change(
                &caller.user_id,
                &format!(
                    "An API key was created for your account: {} ({}).",
                    created.info.name, created.info.prefix
                ),
            )
            .await;
        }
        Ok(created)
    }

    /// A key that can do more than read (a scope not ending in `:read`) is a way into the
    /// account that outlives any session: it needs a recent re-authentication.
    async fn require_recent_auth_beyond_read(
        &self,
        caller: &Principal,
        scopes: &[String],
    ) -> AuthResult<()> {
        if beyond_read(scopes) {
            self.require_recent_auth(caller).await?;
        }
        Ok(())
    }

    pub async fn list_api_keys(&self, owner_id: &str) -> AuthResult<Vec<ApiKeyInfo>> {
        let owner = self.user(owner_id).await?;
        let rows = self.db.api_keys_of(owner_id).await?;
        Ok(rows.iter().map(|r| info(r, &owner.scopes)).collect())
    }

    /// The key, if `owner_id` owns it; anyone else's is "not found" (ids cannot be probed).
    async fn owned_key(&self, owner_id: &str, kid: &str) -> AuthResult<ApiKeyRow> {
        match self.db.api_key(kid).await? {
            Some(k) if k.user_id == owner_id => Ok(k),
            _ => Err(AuthError::NotFound("api key")),
        }
    }

    /// Renames and/or rescopes a key (`scopes: Some(None)` makes it follow the owner again).
    /// Live tokens carry the new scopes on their next use.
    pub async fn update_api_key(
        &self,
        caller: &Principal,
        kid: &str,
        name: Option<String>,
        scopes: Option<Option<Vec<String>>>,
    ) -> AuthResult<ApiKeyInfo> {
        caller.require_session()?;
        let mut row = self.owned_key(&caller.user_id, kid).await?;
        let old_scopes = row.scopes.clone();
        if let Some(name) = name {
            row.name = parse_name(&name)?;
        }
        if let Some(scopes) = scopes {
            let scopes = scopes.as_deref().map(parse_scopes).transpose()?;
            self.check_catalogued(scopes.as_deref().unwrap_or_default())?;
            if let Some(s) = scopes.iter().flatten().find(|s| !caller.has_scope(s)) {
                return Err(AuthError::InsufficientScope(s.clone()));
            }
            let wanted = match &scopes {
                Some(scopes) => scopes.clone(),
                None => caller.scopes.clone(),
            };
            self.require_recent_auth_beyond_read(caller, &wanted)
                .await?;
            row.scopes = scopes;
        }
        let batch = new_batch();
        let now = self.clock.now_ms();
        let entry = self
            .audit_by(caller, AuditEvent::ApiKeyUpdated)
            .subject(&caller.user_id)
            .detail("key_id", kid)
            .detail("old_scopes", old_scopes)
            .detail("new_scopes", row.scopes.clone());
        if !self
            .db
            .update_api_key(kid, &row.name, &row.scopes, now, &batch, &[entry])
            .await?
        {
            return Err(AuthError::NotFound("api key"));
        }
        self.flush(&batch).await?;
        Ok(info(&row, &caller.scopes))
    }

    /// A new secret for the same key id. Tokens of the old secret stop at once, or after
    /// `overlap` when one is asked (the old secret keeps minting until then too).
    pub async fn rotate_api_key(
        &self,
        caller: &Principal,
        kid: &str,
        overlap: Duration,
    ) -> AuthResult<CreatedKey> {
        caller.require_session()?;
        let row = self.owned_key(&caller.user_id, kid).await?;
        // A new secret of a key that can write is as good as a new key.
        let owner = self.user(&caller.user_id).await?;
        self.require_recent_auth_beyond_read(caller, &effective(&row.scopes, &owner.scopes))
            .await?;
        let now = self.clock.now_ms();
        let key = format!("{KEY_PREFIX}{kid}_{}", random_token::<32>());
        let until = (!overlap.is_zero()).then(|| now + overlap.as_millis() as i64);
        let batch = new_batch();
        let entry = self
            .audit_by(caller, AuditEvent::ApiKeyRotated)
            .subject(&caller.user_id)
            .detail("key_id", kid)
            .detail("overlap_seconds", overlap.as_secs());
        if !self
            .db
            .rotate_api_key(
                kid,
                row.generation,
                &hash_b64(&key),
                until,
                now,
                &batch,
                &[entry],
            )
            .await?
        {
            return Err(AuthError::Conflict(
                "the key was rotated concurrently; retry",
            ));
        }
        // Unpublished: the new secret is lost with the answer, and a retry rotates again.
        self.flush(&batch).await?;
        if until.is_none()
            && let Err(e) = self.state.drop_tokens(kid).await
        {
            // Housekeeping only: the record already refuses the old generation.
            tracing::warn!(key_id = %kid, error = %e, "old tokens not dropped");
        }
        tracing::info!(key_id = %kid, overlap_ms = overlap.as_millis() as u64, "api key rotated");
        let row = self.owned_key(&caller.user_id, kid).await?;
        Ok(CreatedKey {
            info: info(&row, &caller.scopes),
            key: Secret::new(key),
        })
    }

    /// Deletes the key; its tombstone is published and its tokens dropped. A retry of a
    /// deletion that was saved but not yet published finishes it instead of answering 404.
    pub async fn delete_api_key(
        &self,
        owner_id: &str,
        kid: &str,
        deleted: AuditEntry,
    ) -> AuthResult<()> {
        if let Err(e) = self.owned_key(owner_id, kid).await {
            return match e {
                AuthError::NotFound(_) if self.finish_pending(kid, owner_id).await? => Ok(()),
                e => Err(e),
            };
        }
        let batch = new_batch();
        self.db
            .delete_api_key(kid, self.clock.now_ms(), &batch, &[deleted])
            .await?;
        self.flush(&batch).await?;
        tracing::info!(key_id = %kid, "api key deleted");
        Ok(())
    }
}
