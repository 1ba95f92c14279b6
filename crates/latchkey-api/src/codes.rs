//! Passwordless sign-in by mailed code.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/auth/code`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    pub email: String,
}

/// `202` from `POST /api/v1/auth/code`, the same for every valid address.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeSentResponse {
    pub login_id: String,
    /// Seconds the code stays valid.
    pub expires_in: u64,
}

/// `POST /api/v1/auth/code/verify`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeVerifyRequest {
    pub login_id: String,
    pub session_code: String,
    /// A second factor, for accounts that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_code: Option<String>,
}
