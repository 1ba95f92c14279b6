//! The caller's own account: profile edits, a change of address, deletion.

use serde::{Deserialize, Deserializer, Serialize};

use crate::UserView;

/// `PATCH /api/v1/me`: absent fields stay; `null` clears.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    /// Absent: unchanged; `null` or blank: removed.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 200))]
    pub name: Option<Option<String>>,
    /// E.164 (`+14155550123`). Absent: unchanged; `null` or blank: removed. A new number is
    /// unverified until the code texted to it comes back at `POST /api/v1/phone/verify`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub phone: Option<Option<String>>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// What `PATCH /api/v1/me` answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileUpdated {
    pub user: UserView,
    /// A new phone number was given and a verification code was texted to it. `false` when
    /// the number did not change, or the text could not go now (send limits): ask again at
    /// `POST /api/v1/phone/verify/start`.
    pub phone_code_sent: bool,
}

/// `POST /api/v1/me/email`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EmailChangeRequest {
    /// The new address; the account keeps its address until the link mailed there is used.
    #[cfg_attr(feature = "openapi", schema(format = "email"))]
    pub email: String,
}

/// `POST /api/v1/me/email` answers `202` with this.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailChangeStarted {
    pub sent: bool,
    /// Seconds the mailed link works.
    pub expires_in: u64,
}

/// `POST /api/v1/me/email/confirm`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EmailChangeConfirmRequest {
    /// `lke_…`, from the link mailed to the new address.
    pub token: String,
}

/// `POST /api/v1/me/email/confirm` answers with the account's new address.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailChanged {
    #[cfg_attr(feature = "openapi", schema(format = "email"))]
    pub email: String,
    pub email_verified: bool,
}

/// `POST /api/v1/me/email/verification` answers `202` with this.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerificationSent {
    pub sent: bool,
    /// Seconds before another mail may be asked for.
    pub retry_after: u64,
}
