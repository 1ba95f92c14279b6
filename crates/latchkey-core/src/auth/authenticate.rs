//! The one check behind every protected route and the forward-auth endpoint: a user's access
//! token or an API auth token in, the caller as they are *now* out.

use super::Auth;
use super::api_keys::TOKEN_PREFIX;
use super::principal::{Credential, Principal};
use crate::error::{AuthError, AuthResult, TokenProblem};

impl Auth {
    /// Accepts a user's access token or an API auth token; `api_key` is the optional
    /// `x-api-key` header, which must then belong to the token's key.
    pub async fn authenticate(&self, token: &str, api_key: Option<&str>) -> AuthResult<Principal> {
        if token.starts_with(TOKEN_PREFIX) {
            return self.authenticate_api_token(token, api_key).await;
        }
        if api_key.is_some() {
            return Err(AuthError::InvalidToken(TokenProblem::Malformed));
        }
        let claims = self
            .keys
            .verify(token, &self.clock)
            .map_err(AuthError::InvalidToken)?;
        let (revoked, user) = self
            .state
            .session_and_user(&claims.sid, &claims.sub)
            .await?;
        if revoked {
            return Err(AuthError::InvalidToken(TokenProblem::Revoked));
        }
        let user = match user {
            Some(u) => u,
            None => self.load_user_record(&claims.sub).await?,
        };
        if user.disabled {
            return Err(AuthError::InvalidToken(TokenProblem::Revoked));
        }
        Ok(Principal {
            user_id: claims.sub.clone(),
            org_id: user.org_id,
            role: user.role,
            scopes: user.scopes,
            credential: Credential::Session {
                sid: claims.sid.clone(),
            },
        })
    }
}
