//! What the token store holds per key: a record derived from the database (the key's secrets
//! and effective scopes, its owner's role and state), rewritten after every change.

use crate::auth::Auth;
use crate::auth::scopes::effective;
use crate::domain::Role;
use crate::error::AuthResult;
use crate::state::{KeyRecord, PreviousSecret};

/// What stands in for a deleted key (or a removed owner's key): refuses everything.
fn tombstone() -> KeyRecord {
    KeyRecord {
        user_id: String::new(),
        org_id: String::new(),
        role: Role::Member,
        scopes: Vec::new(),
        secret_hash: String::new(),
        generation: -1,
        previous: None,
        expires_at: None,
        revoked: true,
        // Key ids are never reused: nothing may replace the tombstone.
        version: i64::MAX,
    }
}

impl Auth {
    /// Rewrites the key's record from the database (a tombstone when the key is gone);
    /// whether the key still exists.
    pub(in crate::auth) async fn publish_key(&self, kid: &str) -> AuthResult<bool> {
        let rec = self.build_key_record(kid).await?;
        self.state.put_key(kid, &rec).await?;
        Ok(rec.generation >= 0)
    }

    async fn build_key_record(&self, kid: &str) -> AuthResult<KeyRecord> {
        let Some(row) = self.db.api_key(kid).await? else {
            return Ok(tombstone());
        };
        let Some(owner) = self.db.user_by_id(&row.user_id).await? else {
            return Ok(tombstone());
        };
        Ok(KeyRecord {
            scopes: effective(&row.scopes, &owner.scopes),
            user_id: owner.id,
            org_id: owner.org_id,
            role: owner.role,
            secret_hash: row.secret_hash,
            generation: row.generation,
            previous: match (row.previous_hash, row.previous_until) {
                (Some(hash), Some(until)) => Some(PreviousSecret {
                    hash,
                    generation: row.generation - 1,
                    until,
                }),
                _ => None,
            },
            expires_at: row.expires_at,
            // Verified addresses required: the keys of an unproven account do not work either.
            revoked: owner.disabled
                || (self.settings.require_verified_email && !owner.email_verified),
            version: owner.version,
        })
    }

    /// The key's record: the one the store held, or one read from the database.
    pub(super) async fn key_record(
        &self,
        kid: &str,
        cached: Option<KeyRecord>,
    ) -> AuthResult<KeyRecord> {
        if let Some(rec) = cached {
            return Ok(rec);
        }
        let rec = self.build_key_record(kid).await?;
        // Only real keys are cached: unknown ids would let anyone fill the store.
        if rec.generation >= 0 {
            self.state.put_key_if_absent(kid, &rec).await?;
        }
        Ok(rec)
    }
}
