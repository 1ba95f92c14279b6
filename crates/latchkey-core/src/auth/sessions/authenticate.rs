//! The one check behind every protected route and the forward-auth endpoint: a user's access
//! token or an API auth token in, the caller as they are *now* out.

use crate::auth::Auth;
use crate::auth::api_keys::{KEY_PREFIX, TOKEN_PREFIX};
use crate::auth::principal::{Credential, Principal};
use crate::error::{AuthError, AuthResult, TokenProblem};

impl Auth {
    /// Accepts a user's access token or an API auth token; `api_key` is the optional
    /// `x-api-key` header, which must then belong to the token's key. Scopes outside the
    /// operator's catalogue never count, whatever a record says.
    pub async fn authenticate(&self, token: &str, api_key: Option<&str>) -> AuthResult<Principal> {
        let mut principal = if token.starts_with(TOKEN_PREFIX) {
            self.authenticate_api_token(token, api_key).await?
        } else {
            self.authenticate_session(token, api_key).await?
        };
        self.honoured(&mut principal.scopes);
        Ok(principal)
    }

    /// As `authenticate`, for introspection: nothing slides, and an API token comes with its
    /// expiry (ms).
    pub(in crate::auth) async fn inspect(
        &self,
        token: &str,
    ) -> AuthResult<(Principal, Option<i64>)> {
        let (mut principal, expires_at) = if token.starts_with(TOKEN_PREFIX) {
            let (principal, at) = self.inspect_api_token(token).await?;
            (principal, Some(at))
        } else {
            (self.authenticate_session(token, None).await?, None)
        };
        self.honoured(&mut principal.scopes);
        Ok((principal, expires_at))
    }

    async fn authenticate_session(
        &self,
        token: &str,
        api_key: Option<&str>,
    ) -> AuthResult<Principal> {
        if let Some(problem) = misplaced_credential(token) {
            return Err(AuthError::InvalidToken(problem));
        }
        if api_key.is_some() {
            return Err(AuthError::InvalidToken(TokenProblem::Malformed));
        }
        let claims = self.verify_access(token).await?;
        let (revocation, user) = self
            .state
            .session_and_user(&claims.sid, &claims.sub)
            .await?;
        // An incomplete revocation list is never read as "live": the database decides.
        if self.resolve_revocation(&claims.sid, revocation).await? {
            return Err(AuthError::InvalidToken(TokenProblem::Revoked));
        }
        let user = match user {
            Some(u) => u,
            None => self.load_user_record(&claims.sub).await?,
        };
        if user.disabled {
            return Err(AuthError::InvalidToken(TokenProblem::Revoked));
        }
        let mut scopes = user.scopes.clone();
        let cap: Option<Vec<String>> = claims.cap.as_ref().map(|c| {
            c.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        });
        let mut role = user.role;
        if let Some(cap) = &cap {
            scopes.retain(|s| cap.contains(s));
            // A narrowed grant carries scopes, not the user's authority: it is no admin.
            role = crate::domain::Role::Member;
        }
        Ok(Principal {
            user_id: claims.sub.clone(),
            org_id: user.org_id.clone(),
            role,
            scopes,
            credential: Credential::Session {
                sid: claims.sid.clone(),
            },
            cap,
            client: Default::default(),
            record: Some(std::sync::Arc::new(user)),
        })
    }
}

/// A long-lived credential sent where a token belongs: named, so the client learns which
/// exchange it skipped instead of reading "malformed".
pub(super) fn misplaced_credential(token: &str) -> Option<TokenProblem> {
    if token.starts_with(KEY_PREFIX) {
        Some(TokenProblem::ApiKeyNotToken)
    } else if token.starts_with(super::session::REFRESH_PREFIX) {
        Some(TokenProblem::RefreshTokenNotAccess)
    } else {
        None
    }
}
