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
//! (one access-token lifetime). Routes that must refuse it at once should ask Latchkey
//! (`GET /api/v1/me` with the token) or keep their sockets on Latchkey's `/api/v1/ws`.

mod extract;
mod jwks;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

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
}

impl GuardConfig {
    /// For a Latchkey at `issuer` with the default audience.
    pub fn for_issuer(issuer: &str) -> GuardConfig {
        let issuer = issuer.trim_end_matches('/').to_owned();
        GuardConfig {
            jwks_url: format!("{issuer}/.well-known/jwks.json"),
            audience: issuer.clone(),
            issuer,
            refetch_interval: Duration::from_secs(10),
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
}

/// Verifies Latchkey access tokens. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Guard {
    keys: Arc<KeySet>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    sid: String,
    org: String,
    role: String,
    #[serde(default)]
    scope: String,
    exp: i64,
}

impl Guard {
    pub fn new(config: GuardConfig) -> Guard {
        Guard {
            keys: Arc::new(KeySet::new(config)),
        }
    }

    /// Verifies `token` and returns its caller.
    pub async fn verify(&self, token: &str) -> Result<Identity, GuardError> {
        let claims: Claims = self.keys.decode(token).await?;
        Ok(Identity {
            user_id: claims.sub,
            session_id: claims.sid,
            org_id: claims.org,
            role: claims.role,
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
            expires_at: claims.exp,
        })
    }

    /// How many times the JWKS was fetched (for monitoring and tests).
    pub fn jwks_fetches(&self) -> u64 {
        self.keys.fetches()
    }
}
