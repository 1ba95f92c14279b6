//! Passwordless sign-in by mailed code.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/auth/code`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "ada@example.com", format = "email")
    )]
    pub email: String,
}

/// `202` from `POST /api/v1/auth/code`, the same for every valid address.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodeSentResponse {
    /// The login to verify; also in the mailed magic link.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "3f1c2b0a9d8e4f7a8b6c5d4e3f2a1b0c")
    )]
    pub login_id: String,
    /// Seconds the code stays valid.
    #[cfg_attr(feature = "openapi", schema(example = 600))]
    pub expires_in: u64,
}

/// `POST /api/v1/auth/code/verify`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CodeVerifyRequest {
    pub login_id: String,
    /// The six digits from the mail (or the `code` of the magic link).
    #[cfg_attr(feature = "openapi", schema(example = "042917"))]
    pub session_code: String,
    /// A second factor, for accounts that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_code: Option<String>,
}

/// `200` from a login whose account asks for a second factor:
/// `{"status": "mfa_required", "mfa_token" | "login_id": …, "data": {"methods": […]}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaRequiredResponse {
    pub status: String,
    /// For a password login: send it to `POST /api/v1/auth/mfa/verify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<String>,
    /// For a code login: send the same login and code again, with `mfa_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_id: Option<String>,
    pub data: serde_json::Value,
}

/// `POST /api/v1/auth/mfa/verify`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MfaVerifyRequest {
    pub mfa_token: String,
    /// A current TOTP code or an unused recovery code.
    pub mfa_code: String,
}

/// `POST /api/v1/mfa/totp/confirm`, `DELETE /api/v1/mfa/totp`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TotpCodeRequest {
    /// A current TOTP code; to turn MFA off, a recovery code also works.
    pub code: String,
}

/// `POST /api/v1/mfa/totp/enroll`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrollResponse {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "otpauth://totp/auth.example.com:ada%40example.com?secret=…&issuer=auth.example.com"
        )
    )]
    pub otpauth_uri: String,
    /// The `otpauth_uri` as a QR code, an inline SVG document.
    pub qr_svg: String,
}

/// `POST /api/v1/mfa/totp/confirm`: shown once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodesResponse {
    pub enabled: bool,
    /// 10 single-use codes, shown once.
    pub recovery_codes: Vec<String>,
}

/// `POST /api/v1/auth/password/change`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeRequest {
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    pub current_password: String,
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    pub new_password: String,
    /// Also remove the provider links, API keys and second factor set up within
    /// `LATCHKEY_RESET_CLEANUP_WINDOW` (24 hours by default). Default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_recent_changes: Option<bool>,
}

/// `POST /api/v1/auth/email/verify`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EmailVerifyRequest {
    /// The `token` of the mailed link.
    pub token: String,
    /// The account's password: the person who signed up confirms their own address and keeps
    /// what they set up. Without it, whoever holds the link takes the account over (its
    /// password, sessions, API keys, linked sign-ins and second factor are removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `POST /api/v1/auth/password/forgot`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordForgotRequest {
    #[cfg_attr(feature = "openapi", schema(format = "email"))]
    pub email: String,
}

/// `POST /api/v1/auth/password/reset`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The `token` of the mailed link.
    pub token: String,
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    pub new_password: String,
    /// Also remove the provider links and second factor set up within
    /// `LATCHKEY_RESET_CLEANUP_WINDOW` (24 hours by default). Default `true`. A reset always
    /// ends every API key and every other reset link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_recent_changes: Option<bool>,
}

/// `POST /api/v1/auth/reauthenticate`: exactly one proof, `password`, `mfa_code`, or
/// `login_id` with `session_code` (a code mailed by `POST /api/v1/auth/code` to the account's
/// own address).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReauthenticateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    pub password: Option<String>,
    /// A current TOTP code or an unused recovery code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_code: Option<String>,
}

/// `200` from `POST /api/v1/auth/reauthenticate`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReauthenticatedResponse {
    /// Until when sensitive changes are allowed in this session: RFC 3339 in UTC with
    /// milliseconds.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "2026-01-02T03:04:05.678Z", format = DateTime)
    )]
    pub reauthenticated_until: String,
    /// The same, as seconds from now (`LATCHKEY_REAUTH_WINDOW`).
    #[cfg_attr(feature = "openapi", schema(example = 300))]
    pub expires_in: u64,
}

/// A provider identity linked to the account (`GET /api/v1/identities`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityView {
    /// Opaque; for `DELETE /api/v1/identities/{id}`.
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "google"))]
    pub provider: String,
    /// The address the provider shared when it was linked.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub email: Option<String>,
    /// RFC 3339 in UTC with milliseconds.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "2026-01-02T03:04:05.678Z", format = DateTime)
    )]
    pub linked_at: String,
}

/// `GET /api/v1/identities`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityList {
    pub identities: Vec<IdentityView>,
}
