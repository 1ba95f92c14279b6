//! API keys, `/get-token`, and organization administration.

use serde::{Deserialize, Deserializer, Serialize};

/// A key with its secret: in the sign-up response and after creation or rotation, once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyCreated {
    pub id: String,
    /// The full key. Shown this once; only its hash is kept.
    #[cfg_attr(feature = "openapi", schema(pattern = "^lk_"))]
    pub key: String,
    /// The visible part (`lk_<id>`), to find a leaked key by grep.
    pub prefix: String,
    /// The scopes the key grants now (its own ∩ its owner's).
    pub scopes: Vec<String>,
}

/// A key as listed: never the secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyView {
    pub id: String,
    pub prefix: String,
    pub name: String,
    /// The key's own scopes; `null` when it follows its owner's.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub scopes: Option<Vec<String>>,
    /// What it grants now: its own ∩ its owner's.
    pub effective_scopes: Vec<String>,
    /// RFC 3339 in UTC with milliseconds, e.g. `2026-01-02T03:04:05.678Z`.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "2026-01-02T03:04:05.678Z", format = DateTime)
    )]
    pub created_at: String,
    /// RFC 3339 in UTC with milliseconds, e.g. `2026-01-02T03:04:05.678Z`; updated at most once a
    /// minute.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "2026-01-02T03:04:05.678Z", format = DateTime, required = true)
    )]
    pub last_used_at: Option<String>,
    /// RFC 3339 in UTC with milliseconds, e.g. `2026-01-02T03:04:05.678Z`; `null` when the key does
    /// not expire.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "2026-01-02T03:04:05.678Z", format = DateTime, required = true)
    )]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKeyView>,
}

/// `POST /api/v1/api-keys`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 100, min_length = 1))]
    pub name: String,
    /// Must be a subset of the caller's scopes; absent: the key follows the owner's scopes.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub scopes: Option<Vec<String>>,
    /// RFC 3339.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub expires_at: Option<String>,
}

/// `PATCH /api/v1/api-keys/{id}`: absent fields stay; `"scopes": null` makes the key follow its
/// owner's scopes again.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateApiKeyRequest {
    /// Absent or `null`: unchanged.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 100, min_length = 1))]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    /// Absent: unchanged; `null`: follow the owner's scopes; a list: a subset of the caller's
    /// scopes.
    pub scopes: Option<Option<Vec<String>>>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Vec<String>>>, D::Error> {
    Option::<Vec<String>>::deserialize(d).map(Some)
}

/// `POST /api/v1/api-keys/{id}/rotate`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateApiKeyRequest {
    /// How long the old secret (and its tokens) keep working; default 0.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 604800))]
    pub overlap_seconds: u64,
}

/// `POST /get-token`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GetTokenRequest {
    /// `lk_<id>_<secret>`.
    pub api_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthTokenData {
    /// `lkt_<id>_<generation>_<secret>`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^lkt_"))]
    pub auth_token: String,
    /// Seconds; every use slides the expiry back to this full lifetime.
    pub expires_in: u64,
}

/// The `{data, status, code, message}` envelope that existing API-key clients already parse.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GetTokenResponse {
    pub data: AuthTokenData,
    pub status: String,
    pub code: u16,
    pub message: String,
}

/// A member as an org admin sees them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberView {
    pub user_id: String,
    #[cfg_attr(feature = "openapi", schema(format = "email"))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub name: Option<String>,
    pub role: String,
    pub scopes: Vec<String>,
    pub disabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberList {
    pub members: Vec<MemberView>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetScopesRequest {
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetRoleRequest {
    /// `admin` or `member`.
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetDisabledRequest {
    pub disabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_tells_absent_from_null() {
        let absent: UpdateApiKeyRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.scopes, None);
        let null: UpdateApiKeyRequest = serde_json::from_str(r#"{"scopes": null}"#).unwrap();
        assert_eq!(null.scopes, Some(None));
        let list: UpdateApiKeyRequest = serde_json::from_str(r#"{"scopes": ["a"]}"#).unwrap();
        assert_eq!(list.scopes, Some(Some(vec!["a".into()])));
    }
}
