//! Protect your own Rust service with Latchkey access tokens.
//!
//! A [`Guard`] verifies access tokens locally against Latchkey's JWKS (EdDSA, pinned algorithm,
//! `iss`, `aud`, `exp`), caches the keys, and fetches them again when a token names a key it
//! does not know (at most once per `refetch_interval`, so a flood of forged `kid`s cannot turn
//! into a flood of requests to Latchkey). Handlers receive the caller as an [`Identity`]
//! through the [`Authorized`] extractor and check scopes with [`Identity::require_scopes`].
//! [`ws`] authorizes WebSockets the way Latchkey's own `/api/v1/ws` does.
//!
//! Local verification cannot see a logout: a revoked session's token passes until it expires
//! (one access-token lifetime). Routes that must refuse it at once call
//! [`Guard::check_session`] (one request to Latchkey); guarded sockets do so periodically when
//! `session_check_interval` is set, closing with 4003.

mod extract;
mod jwks;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;

pub use extract::Authorized;
use jwks::KeySet;

/// How a guard reaches Latchkey and what its tokens must say.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// `https://auth.example.com/.well-known/jwks.json`
    pub jwks_url: String,
    /// Latchkey's `LATCHKEY_ISSUER`.
    pub issuer: String,
    /// Latchkey's `LATCHKEY_AUDIENCE` (the issuer unless set).
    pub audience: String,
    /// Least time between two JWKS fetches caused by unknown key ids.
    pub refetch_interval: Duration,
    /// Latchkey's base URL for session checks (`GET /api/v1/me`); the issuer by default.
    pub latchkey_url: String,
    /// How often a guarded WebSocket asks Latchkey whether its session still lives (closing
    /// it with 4003 when not); `None` (the default) trusts the token until it expires.
    pub session_check_interval: Option<Duration>,
}

impl GuardConfig {
    /// For a Latchkey at `issuer` with the default audience.
    pub fn for_issuer(issuer: &str) -> GuardConfig {
        let issuer = issuer.trim_end_matches('/').to_owned();
        GuardConfig {
            jwks_url: format!("{issuer}/.well-known/jwks.json"),
            audience: issuer.clone(),
            latchkey_url: issuer.clone(),
            issuer,
            refetch_interval: Duration::from_secs(10),
            session_check_interval: None,
        }
    }
}

/// The caller of a protected route, from a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub session_id: String,
    pub org_id: String,
    pub role: String,
    pub scopes: Vec<String>,
    /// The token's `exp`, in seconds since the epoch.
    pub expires_at: i64,
}

impl Identity {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// `Err(GuardError::InsufficientScope)` naming the first scope missing.
    pub fn require_scopes(&self, scopes: &[&str]) -> Result<(), GuardError> {
        match scopes.iter().find(|s| !self.has_scope(s)) {
            Some(missing) => Err(GuardError::InsufficientScope((*missing).to_owned())),
            None => Ok(()),
        }
    }
}

/// Why a request was refused. Answers in Latchkey's error shape (see `extract.rs`).
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("an access token is required")]
    MissingToken,
    #[error("the token has expired")]
    Expired,
    #[error("the token is invalid: {0}")]
    InvalidToken(&'static str),
    #[error("the token lacks the scope {0}")]
    InsufficientScope(String),
    #[error("the token's keys cannot be fetched now")]
    KeysUnavailable,
    #[error("the session has ended")]
    Revoked,
    #[error("Latchkey cannot be asked about the session now")]
    CheckUnavailable,
}

/// Verifies Latchkey access tokens. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Guard {
    keys: Arc<KeySet>,
}

impl Guard {
    pub fn new(config: GuardConfig) -> Guard {
        Guard {
            keys: Arc::new(KeySet::new(config)),
        }
    }

    /// Verifies `token` and returns its caller.
    pub async fn verify(&self, token: &str) -> Result<Identity, GuardError> {
        let claims: latchkey_api::AccessClaims = self.keys.decode(token).await?;
        Ok(Identity {
            user_id: claims.sub,
            session_id: claims.sid,
            org_id: claims.org,
            role: claims.role,
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
            expires_at: claims.exp,
        })
    }

    /// Asks Latchkey whether `token`'s session still lives: sees a logout at once, at the cost
    /// of a request. `Revoked` when Latchkey refuses the token.
    pub async fn check_session(&self, token: &str) -> Result<(), GuardError> {
        let url = format!(
            "{}/api/v1/me",
            self.keys.config().latchkey_url.trim_end_matches('/')
        );
        let response = self
            .keys
            .http()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|_| GuardError::CheckUnavailable)?;
        match response.status().as_u16() {
            200 => Ok(()),
            401 | 403 => Err(GuardError::Revoked),
            _ => Err(GuardError::CheckUnavailable),
        }
    }

    pub fn config(&self) -> &GuardConfig {
        self.keys.config()
    }

    /// How many times the JWKS was fetched (for monitoring and tests).
    pub fn jwks_fetches(&self) -> u64 {
        self.keys.fetches()
    }
}
