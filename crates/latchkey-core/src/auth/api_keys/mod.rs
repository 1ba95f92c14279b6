//! API keys and the auth tokens minted from them at `/get-token`.
//!
//! - A key is `lk_<id>_<secret>`; the id is public (the visible prefix), the secret is kept as a
//!   SHA-256 hash. A token is `lkt_<id>_<generation>_<secret>`, kept in the token store as a
//!   hash plus a copy encrypted under a server key, so `/get-token` can hand the same live
//!   token back while a dump of the store reveals no usable token.
//! - Scopes are not frozen into tokens: a check reads the key's record, whose scopes are the
//!   key's own ∩ the owner's, rewritten whenever either changes, so a scope change reaches live
//!   tokens on their next use.
//! - A rotation bumps the key's generation; tokens of an older generation are refused on their
//!   next use, after the overlap if one was asked.
//!
//! One module per concern: `format` (the strings), `wrap` (sealed token copies), `manage`
//! (create, list, update, rotate, delete), `records` (what the token store holds per key),
//! `mint` (`/get-token`) and `check` (the hot path of every API call).

mod check;
mod client;
pub use client::OAuthClient;
mod format;
mod manage;
mod mint;
mod own_keys;
mod records;
mod wrap;

use std::time::Duration;

pub(super) use mint::Touched;
pub use own_keys::MAX_ROTATION_OVERLAP;
pub(super) use wrap::TokenWrap;

use crate::secret::Secret;

pub const KEY_PREFIX: &str = "lk_";
pub const TOKEN_PREFIX: &str = "lkt_";

pub struct NewApiKey {
    pub name: String,
    /// `None`: the key follows its owner's scopes.
    pub scopes: Option<Vec<String>>,
    pub expires_at: Option<i64>,
}

/// An API key as its owner sees it; never the secret.
#[derive(Debug, Clone)]
pub struct ApiKeyInfo {
    pub id: String,
    pub prefix: String,
    pub name: String,
    pub scopes: Option<Vec<String>>,
    pub effective_scopes: Vec<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
}

/// A key with its secret, shown once (creation, rotation).
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub info: ApiKeyInfo,
    pub key: Secret,
}

pub struct MintedToken {
    pub token: Secret,
    pub expires_in: Duration,
    /// The scopes the token carries now (the key's effective scopes in the catalogue).
    pub scopes: Vec<String>,
}
