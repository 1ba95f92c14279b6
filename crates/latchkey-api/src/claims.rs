//! The claims of a Latchkey access token (an EdDSA JWT): what the server signs and what the
//! guards of other services read.

use serde::{Deserialize, Serialize};

/// The payload of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The session id: revoking the session refuses the token at once.
    pub sid: String,
    pub org: String,
    pub role: String,
    /// Space-separated, as in OAuth.
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// Set on a token minted by a lenient refresh (an expired token exchanged for a new one):
    /// such a token cannot be exchanged again, so one leaked token cannot be renewed in a chain
    /// for as long as the session lives. Absent (not `false`) otherwise, so tokens signed
    /// before this claim existed keep their exact bytes when re-signed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lnt: bool,
    /// Set when a client asked the token endpoint for fewer scopes than the user holds: the
    /// token never carries a scope outside these, whatever the user is granted later. Absent
    /// otherwise, like `lnt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<String>,
}
