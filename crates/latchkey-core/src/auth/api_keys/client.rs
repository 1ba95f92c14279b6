//! An API key as an OAuth client (client_id = key id, client_secret = the key), and the
//! revocation of one auth token.

use super::format::{hash_b64, parse_key, parse_token};
use crate::auth::{Auth, MintedToken};
use crate::error::{AuthError, AuthResult};
use crate::secret::ct_eq;
use crate::state::Slide;

/// A client authenticated with an API key (client_id = key id, client_secret = the key).
#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub key_id: String,
    pub user_id: String,
    pub org_id: String,
    /// The key's effective scopes now (key ∩ owner, within the catalogue).
    pub scopes: Vec<String>,
}

impl Auth {
    /// Checks a client's credentials without minting anything. `client_id`, when given, must
    /// name the key the secret belongs to.
    pub async fn authenticate_client(
        &self,
        client_id: Option<&str>,
        secret: &str,
    ) -> AuthResult<OAuthClient> {
        let bad = || AuthError::InvalidApiKey("the client credentials are not valid");
        let kid = parse_key(secret).ok_or_else(bad)?;
        if client_id.is_some_and(|id| !ct_eq(id.as_bytes(), kid.as_bytes())) {
            return Err(bad());
        }
        let cached = self.state.key(kid).await?;
        let rec = self.key_record(kid, cached).await?;
        self.secret_generation(&rec, secret).ok_or_else(bad)?;
        let mut scopes = rec.scopes;
        self.honoured(&mut scopes);
        Ok(OAuthClient {
            key_id: kid.to_owned(),
            user_id: rec.user_id,
            org_id: rec.org_id,
            scopes,
        })
    }

    /// The client_credentials grant: the key's auth token, as `/get-token` hands it out (one
    /// read of the key's record). `client_id`, when given, must name the secret's key. A
    /// `scope` may name only the key's scopes: tokens carry those, read on every use.
    pub async fn client_credentials(
        &self,
        client_id: Option<&str>,
        secret: &str,
        scope: Option<&[String]>,
    ) -> AuthResult<MintedToken> {
        let bad = || AuthError::InvalidApiKey("the client credentials are not valid");
        let kid = parse_key(secret).ok_or_else(bad)?;
        if client_id.is_some_and(|id| !ct_eq(id.as_bytes(), kid.as_bytes())) {
            return Err(bad());
        }
        let minted = self.get_token(secret).await.map_err(|e| match e {
            AuthError::InvalidApiKey(_) => bad(),
            other => other,
        })?;
        if let Some(missing) = scope
            .into_iter()
            .flatten()
            .find(|s| !minted.scopes.contains(s))
        {
            return Err(AuthError::ScopeNotGranted(missing.clone()));
        }
        Ok(minted)
    }

    /// Drops the key's live auth tokens when `token` is one of them; anything else is ignored.
    pub(in crate::auth) async fn revoke_api_token(&self, token: &str) -> AuthResult<()> {
        let Some((kid, generation)) = parse_token(token) else {
            return Ok(());
        };
        let hash = hash_b64(token);
        let (entry, _) = self
            .state
            .token_lookup(kid, generation, self.settings.api_token_ttl, Slide::No)
            .await?;
        let stored = entry
            .as_deref()
            .and_then(|e| e.split_once('|'))
            .map(|(h, _)| h);
        // Only the holder of the token itself may end it: a made-up token naming a real key id
        // must not cut off that key's callers.
        if stored.is_some_and(|h| ct_eq(h.as_bytes(), hash.as_bytes())) {
            self.state.drop_tokens(kid).await?;
            tracing::info!(key_id = %kid, "API auth token revoked");
        }
        Ok(())
    }
}
