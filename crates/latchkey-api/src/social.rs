//! Sign-in through Google, Microsoft or another OpenID provider.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/auth/exchange`: the one-time code the app received on its redirect.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
    /// The one-time code from the redirect to `redirect_to`.
    pub code: String,
    /// The PKCE verifier, required when the app sent `code_challenge` to `/start`.
    #[serde(default)]
    pub code_verifier: Option<String>,
}

/// `POST /api/v1/auth/exchange` for a person without an account yet.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignupRequiredResponse {
    pub signup_required: bool,
    /// Single use; finish with `POST /api/v1/auth/signup/complete`.
    pub signup_token: String,
    /// The address the provider shared.
    pub email: Option<String>,
    /// Seconds left to finish with `POST /api/v1/auth/signup/complete`.
    pub expires_in: i64,
    /// The provider does not vouch for `email` (`email_verified` not true): a six-digit code
    /// was mailed to it, and `/signup/complete` needs it as `email_code`.
    #[serde(default)]
    pub email_code_required: bool,
}

/// `POST /api/v1/auth/signup/complete`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignupCompleteRequest {
    pub signup_token: String,
    /// The code mailed to the address when the sign-up step said `email_code_required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_code: Option<String>,
    /// E.164, e.g. `+14155550123`.
    pub phone: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Join this organization as a member (overrides one given at `/start`). Without one, the
    /// person founds an organization and is its admin.
    #[serde(default)]
    pub referral_code: Option<String>,
}

/// `POST /api/v1/phone/verify/start`: where the code went.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhoneCodeSent {
    pub sent: bool,
    /// Seconds the code stays valid.
    pub expires_in: i64,
}

/// `POST /api/v1/phone/verify`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PhoneVerifyRequest {
    /// The 6 digits from the text message.
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhoneVerified {
    pub phone: String,
    pub verified: bool,
}

/// `POST /api/v1/oauth/{provider}/link`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// Where the browser lands afterwards, with `?linked=<provider>`.
    pub redirect_to: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkStarted {
    /// Open in the browser within 2 minutes; it works once.
    pub url: String,
}
