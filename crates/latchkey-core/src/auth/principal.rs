//! Who is calling: the one check behind every protected route and the forward-auth endpoint.

use super::Auth;
use crate::domain::Role;
use crate::error::{AuthError, AuthResult, TokenProblem};

/// The caller, with scopes as they are *now* (not as they were when the token was issued).
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: String,
    pub org_id: String,
    pub role: Role,
    pub scopes: Vec<String>,
    pub credential: Credential,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A user's access token (JWT) of session `sid`.
    Session { sid: String },
    /// An auth token minted from API key `key_id` at `/get-token`.
    ApiToken { key_id: String },
}

impl Principal {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn session_id(&self) -> Option<&str> {
        match &self.credential {
            Credential::Session { sid } => Some(sid),
            Credential::ApiToken { .. } => None,
        }
    }

    pub fn key_id(&self) -> Option<&str> {
        match &self.credential {
            Credential::ApiToken { key_id } => Some(key_id),
            Credential::Session { .. } => None,
        }
    }

    pub fn require_scopes<'a>(&self, wanted: impl IntoIterator<Item = &'a str>) -> AuthResult<()> {
        for scope in wanted {
            if !self.has_scope(scope) {
                return Err(AuthError::InsufficientScope(scope.to_owned()));
            }
        }
        Ok(())
    }

    /// Routes that act as the user (key management, logout) need the user's own session.
    pub fn require_session(&self) -> AuthResult<&str> {
        self.session_id().ok_or(AuthError::Forbidden(
            "this route needs a user's access token, not an API token",
        ))
    }

    pub fn require_admin(&self) -> AuthResult<()> {
        self.require_session()?;
        if self.role != Role::Admin {
            return Err(AuthError::Forbidden(
                "only an organization admin may do this",
            ));
        }
        Ok(())
    }
}

impl Auth {
    /// Accepts a user's access token or an API auth token; `api_key` is the optional
    /// `x-api-key` header, which must then belong to the token's key.
    pub async fn authenticate(&self, token: &str, api_key: Option<&str>) -> AuthResult<Principal> {
        let mut principal = if token.starts_with(super::api_keys::TOKEN_PREFIX) {
            self.authenticate_api_token(token, api_key).await?
        } else {
            self.authenticate_session(token, api_key).await?
        };
        self.honoured(&mut principal.scopes);
        Ok(principal)
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
        let claims = self
            .keys
            .verify(token, &self.clock)
            .map_err(AuthError::InvalidToken)?;
        let (revocation, user) = self
            .state
            .session_and_user(&claims.sid, &claims.sub)
            .await?;
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
        Ok(Principal {
            user_id: claims.sub.clone(),
            org_id: user.org_id,
            role: crate::store::parse_column(&user.role, "role")?,
            scopes: user.scopes,
            credential: Credential::Session {
                sid: claims.sid.clone(),
            },
        })
    }
}

/// A long-lived credential sent where a token belongs: named, so the client learns which
/// exchange it skipped instead of reading "malformed".
pub(super) fn misplaced_credential(token: &str) -> Option<TokenProblem> {
    if token.starts_with(super::api_keys::KEY_PREFIX) {
        Some(TokenProblem::ApiKeyNotToken)
    } else if token.starts_with(super::session::REFRESH_PREFIX) {
        Some(TokenProblem::RefreshTokenNotAccess)
    } else {
        None
    }
}
