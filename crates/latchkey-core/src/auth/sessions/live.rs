//! Long-lived connections (WebSockets): a session watched for as long as the socket lives.
//!
//! A socket is authorized once at connect, but what made it valid can end while it stays open:
//! the token expires, the session is revoked, the user is disabled, scopes change. The socket's
//! owner calls `Auth::check_live` every tick; it re-runs the same check every request runs
//! (revocation list, the user's current record, on every instance through the shared store)
//! and says what the client must be told. Renewal in-band replaces the token only with one of
//! the same user.

use crate::auth::Auth;
use crate::auth::api_keys::TOKEN_PREFIX;
use crate::auth::principal::Principal;
use crate::error::{AuthError, AuthResult, TokenProblem};

/// The longest warning before a token's expiry; shorter tokens are warned at 3/4 of their life.
pub const MAX_EXPIRY_WARNING_MS: i64 = 60_000;

/// An authorized socket's session. Not `Debug`: it holds the token.
pub struct LiveSession {
    pub principal: Principal,
    /// The current token's `exp`, in milliseconds.
    pub expires_at_ms: i64,
    token: String,
    /// When `token_expiring` is due; `None` once sent for this token.
    warn_at_ms: Option<i64>,
}

/// What happened to a live session since the last check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEvent {
    /// The token expires soon: renew it in-band.
    Expiring { expires_at_ms: i64 },
    /// The user's scopes changed; the new set.
    ScopesChanged { scopes: Vec<String> },
    /// The token expired without renewal: close (4001).
    Expired,
    /// The session was revoked or the account disabled: close (4003).
    Revoked,
}

impl LiveSession {
    pub fn user_id(&self) -> &str {
        &self.principal.user_id
    }
}

impl Auth {
    /// Authorizes a socket with a user's access token. API tokens are refused: they have no
    /// session to end and no fixed expiry to announce.
    pub async fn open_live(&self, token: &str) -> AuthResult<LiveSession> {
        if token.starts_with(TOKEN_PREFIX) {
            return Err(AuthError::Forbidden(
                "a WebSocket needs a user's access token, not an API token",
            ));
        }
        let claims = self.verify_access(token).await?;
        let principal = self.authenticate(token, None).await?;
        let expires_at_ms = claims.exp * 1000;
        // The token is refused past `exp`; verification's leeway is for clock skew between
        // servers, not for extending a socket.
        if self.clock.now_ms() >= expires_at_ms {
            return Err(AuthError::InvalidToken(TokenProblem::Expired));
        }
        let lifetime_ms = (claims.exp - claims.iat).max(0) * 1000;
        let lead = (lifetime_ms / 4).min(MAX_EXPIRY_WARNING_MS);
        Ok(LiveSession {
            principal,
            expires_at_ms,
            token: token.to_owned(),
            warn_at_ms: Some(expires_at_ms - lead),
        })
    }

    /// Replaces the socket's token with `token`, which must be valid and of the same user
    /// (a renewed token after a refresh, or one of another session of that user). On an
    /// error the socket keeps its current token.
    pub async fn renew_live(&self, live: &mut LiveSession, token: &str) -> AuthResult<()> {
        let renewed = self.open_live(token).await?;
        if renewed.principal.user_id != live.principal.user_id {
            return Err(AuthError::Forbidden(
                "the new token belongs to another user",
            ));
        }
        *live = renewed;
        Ok(())
    }

    /// Checks the live session again, as a request would now. A terminal event (`Expired`,
    /// `Revoked`) is last; a store that cannot answer is an error, never "still live".
    pub async fn check_live(&self, live: &mut LiveSession) -> AuthResult<Vec<LiveEvent>> {
        let now = self.clock.now_ms();
        if now >= live.expires_at_ms {
            return Ok(vec![LiveEvent::Expired]);
        }
        let principal = match self.authenticate(&live.token, None).await {
            Ok(p) => p,
            Err(AuthError::InvalidToken(TokenProblem::Expired)) => {
                return Ok(vec![LiveEvent::Expired]);
            }
            // Revoked, disabled, removed, or a signing key gone: the session is over.
            Err(AuthError::InvalidToken(_)) => return Ok(vec![LiveEvent::Revoked]),
            Err(e) => return Err(e),
        };
        let mut events = Vec::new();
        if principal.scopes != live.principal.scopes {
            events.push(LiveEvent::ScopesChanged {
                scopes: principal.scopes.clone(),
            });
        }
        live.principal = principal;
        if live.warn_at_ms.is_some_and(|at| now >= at) {
            live.warn_at_ms = None;
            events.push(LiveEvent::Expiring {
                expires_at_ms: live.expires_at_ms,
            });
        }
        Ok(events)
    }
}
