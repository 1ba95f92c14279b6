//! Wire types of the Latchkey HTTP API, shared by the server, the bench tool and the client
//! SDKs. Nothing here knows about HTTP frameworks or storage: these are the JSON shapes only.

mod audit;
mod claims;
mod codes;
mod error;
mod keys;
mod operator;
mod profile;
mod social;

pub use audit::*;
pub use claims::AccessClaims;
pub use codes::*;
pub use error::{ErrorBody, ErrorCode};
pub use keys::*;
pub use operator::*;
pub use profile::*;
use serde::{Deserialize, Serialize};
pub use social::*;

/// `POST /api/v1/auth/signup`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// Unique case-insensitively; kept as typed (trimmed).
    #[cfg_attr(feature = "openapi", schema(format = "email", max_length = 254))]
    pub email: String,
    /// 8 to 256 characters; not a common password, not the email, not one repeated character.
    #[cfg_attr(feature = "openapi", schema(max_length = 256, min_length = 8))]
    pub password: String,
    /// Display name, at most 200 characters, no control characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub name: Option<String>,
    /// E.164, e.g. `+14155550123`.
    #[serde(default)]
    pub phone: Option<String>,
    /// An organization's invite code: join it as a member. Without one, the user founds a new
    /// organization and becomes its admin.
    #[serde(default)]
    pub referral_code: Option<String>,
}

/// `POST /api/v1/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Compared case-insensitively.
    pub email: String,
    pub password: String,
}

/// `POST /api/v1/auth/refresh` (the token may instead come in `Authorization: Bearer`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// A refresh token (`lkr_…`). May instead be sent as `Authorization: Bearer`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub refresh_token: Option<String>,
}

/// The user as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub user_id: String,
    #[cfg_attr(feature = "openapi", schema(format = "email"))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub name: Option<String>,
    /// E.164.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub phone: Option<String>,
    /// Absent for an API token: it carries its key's scopes, not the user's role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub org_id: String,
    pub scopes: Vec<String>,
    /// `GET /me` with an API token: the key it was minted from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// `GET /me`: whether the user proved their address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

/// What login, sign-up and refresh return.
///
/// `refresh_token` and `refresh_expires_at` are absent when the response came from a lenient
/// refresh (an expired access token exchanged for a new one): the client keeps its refresh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    /// An EdDSA (Ed25519) JWT with a `kid` header; valid 15 minutes by default.
    pub access_token: String,
    pub token_type: String,
    /// Seconds until the access token expires.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub expires_in: i64,
    /// RFC 3339.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "2026-01-02T03:04:05.678Z", format = DateTime)
    )]
    pub expires_at: String,
    /// Single use: every refresh rotates it. Absent after a lenient refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^lkr_"))]
    pub refresh_token: Option<String>,
    /// When the refresh token expires: RFC 3339 in UTC with milliseconds, e.g.
    /// `2026-01-02T03:04:05.678Z`. Absent after a lenient refresh.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "2026-01-02T03:04:05.678Z", format = DateTime)
    )]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expires_at: Option<String>,
    pub session_id: String,
    pub user: UserView,
    /// Sign-up only: the user's default API key, shown this once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<ApiKeyCreated>,
    /// A new session's device token: send it back as `X-Device-Token` when this client signs
    /// in again, and its wrong guesses are counted in a budget of its own, so failures from
    /// elsewhere do not lock it out. Keep it like a refresh token. In cookie mode it is in the
    /// `latchkey_device` cookie instead. Absent after a refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^lkd_"))]
    pub device_token: Option<String>,
}

/// One row of `GET /api/v1/sessions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    pub id: String,
    /// RFC 3339 in UTC with milliseconds, e.g. `2026-01-02T03:04:05.678Z`.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "2026-01-02T03:04:05.678Z", format = DateTime)
    )]
    pub created_at: String,
    /// RFC 3339 in UTC with milliseconds, e.g. `2026-01-02T03:04:05.678Z`.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "2026-01-02T03:04:05.678Z", format = DateTime)
    )]
    pub last_used_at: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub user_agent: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub ip: Option<String>,
    /// The session of the access token that asked.
    pub current: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
}

/// `GET /api/v1/org`. The referral code is shown to admins only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgView {
    pub org_id: String,
    pub name: String,
    /// Admins only: absent for members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral_code: Option<String>,
}

/// `POST /api/v1/auth/logout-all`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogoutAllResponse {
    pub sessions_revoked: u64,
}

/// `GET /healthz`, `GET /readyz`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
}
