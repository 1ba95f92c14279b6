//! An API key as an OAuth client (client_id = key id, client_secret = the key), and the
//! revocation of one auth token.

use super::format::{hash_b64, parse_key, parse_token};
use crate::auth::Auth;
use crate::auth::oauth::OAuthClient;
use crate::error::{AuthError, AuthResult};
use crate::secret::ct_eq;
use crate::state::Slide;

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
        Ok(OAuthClient {
            key_id: kid.to_owned(),
            user_id: rec.user_id,
            org_id: rec.org_id,
        })
    }

    /// The scopes tokens of key `kid` carry now (the key's own ∩ its owner's, in the catalogue).
    pub async fn client_scopes(&self, kid: &str) -> AuthResult<Vec<String>> {
        let cached = self.state.key(kid).await?;
        let mut scopes = self.key_record(kid, cached).await?.scopes;
        self.honoured(&mut scopes);
        Ok(scopes)
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
