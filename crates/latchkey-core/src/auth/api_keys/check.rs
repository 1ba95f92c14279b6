//! The hot path for API callers: one round trip to the token store, which also slides the
//! token's expiry back to the full TTL.

use super::format::{hash_b64, parse_key, parse_token};
use crate::auth::Auth;
use crate::auth::principal::{Credential, Principal};
use crate::domain::Role;
use crate::error::{AuthError, AuthResult, TokenProblem};
use crate::secret::ct_eq;
use crate::state::Slide;

impl Auth {
    pub(in crate::auth) async fn authenticate_api_token(
        &self,
        token: &str,
        api_key: Option<&str>,
    ) -> AuthResult<Principal> {
        let (kid, generation) =
            parse_token(token).ok_or(AuthError::InvalidToken(TokenProblem::Malformed))?;
        let hash = hash_b64(token);
        let (entry, cached) = self
            .state
            .token_lookup(
                kid,
                generation,
                self.settings.api_token_ttl,
                Slide::IfEntryStartsWith(&format!("{hash}|")),
            )
            .await?;
        self.api_token_principal(kid, generation, &hash, entry, cached, api_key)
            .await
    }

    /// Introspection: the token's principal and when it expires (ms), without sliding its
    /// expiry (asking about a token is not using it).
    pub(in crate::auth) async fn inspect_api_token(
        &self,
        token: &str,
    ) -> AuthResult<(Principal, i64)> {
        let (kid, generation) =
            parse_token(token).ok_or(AuthError::InvalidToken(TokenProblem::Malformed))?;
        let (entry, cached) = self.state.token_peek(kid, generation).await?;
        let (entry, left) = entry.unzip();
        let principal = self
            .api_token_principal(kid, generation, &hash_b64(token), entry, cached, None)
            .await?;
        let left = left.unwrap_or_default().as_millis() as i64;
        Ok((principal, self.clock.now_ms() + left))
    }

    /// What a looked-up token entry and its key's record admit.
    async fn api_token_principal(
        &self,
        kid: &str,
        generation: i64,
        hash: &str,
        entry: Option<String>,
        cached: Option<crate::state::KeyRecord>,
        api_key: Option<&str>,
    ) -> AuthResult<Principal> {
        let entry = entry.ok_or(AuthError::InvalidToken(TokenProblem::Expired))?;
        let stored_hash = entry.split_once('|').map_or("", |(h, _)| h);
        if !ct_eq(hash.as_bytes(), stored_hash.as_bytes()) {
            return Err(AuthError::InvalidToken(TokenProblem::Unknown));
        }
        let rec = self.key_record(kid, cached).await?;
        let now = self.clock.now_ms();
        if rec.revoked {
            return Err(AuthError::InvalidToken(TokenProblem::Revoked));
        }
        if rec.expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::InvalidToken(TokenProblem::Expired));
        }
        let generation_ok = generation == rec.generation
            || rec
                .previous
                .as_ref()
                .is_some_and(|p| p.generation == generation && p.until > now);
        if !generation_ok {
            return Err(AuthError::InvalidToken(TokenProblem::Revoked));
        }
        if let Some(key) = api_key
            && (parse_key(key) != Some(kid) || self.secret_generation(&rec, key).is_none())
        {
            return Err(AuthError::InvalidApiKey(
                "x-api-key does not belong to this token",
            ));
        }
        Ok(Principal {
            user_id: rec.user_id,
            org_id: rec.org_id,
            // The owner's role is not the token's: it only carries the key's scopes.
            role: Role::Member,
            scopes: rec.scopes,
            credential: Credential::ApiToken {
                key_id: kid.to_owned(),
            },
            cap: None,
            client: Default::default(),
            record: None,
        })
    }
}
