use serde::{Deserialize, Serialize};

/// The stable machine codes of the error shape. Clients branch on these, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    MissingToken,
    InvalidToken,
    InsufficientScope,
    InvalidRequest,
    InvalidCredentials,
    InvalidApiKey,
    EmailTaken,
    Conflict,
    WeakPassword,
    UnknownReferralCode,
    RateLimited,
    PayloadTooLarge,
    HeadersTooLarge,
    UriTooLong,
    RequestTimeout,
    NotFound,
    MethodNotAllowed,
    Forbidden,
    AccountDisabled,
    ServiceUnavailable,
    InternalError,
    UnknownScope,
    ExternalLoginFailed,
    // RFC 6749 §5.2 errors, answered by the `/oauth2/*` endpoints.
    InvalidClient,
    InvalidGrant,
    UnsupportedGrantType,
    InvalidScope,
    InvalidEmail,
    InvalidSessionCode,
    InvalidMfaCode,
    EmailNotVerified,
}

impl ErrorCode {
    /// The HTTP status each code always travels with.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::MissingToken
            | ErrorCode::InvalidToken
            | ErrorCode::InvalidCredentials
            | ErrorCode::InvalidApiKey
            | ErrorCode::ExternalLoginFailed
            | ErrorCode::InvalidSessionCode
            | ErrorCode::InvalidMfaCode => 401,
            ErrorCode::InvalidClient => 401,
            ErrorCode::AccountDisabled
            | ErrorCode::InsufficientScope
            | ErrorCode::Forbidden
            | ErrorCode::EmailNotVerified => 403,
            ErrorCode::InvalidRequest
            | ErrorCode::InvalidGrant
            | ErrorCode::UnsupportedGrantType
            | ErrorCode::InvalidScope => 400,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::EmailTaken | ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::HeadersTooLarge => 431,
            ErrorCode::WeakPassword
            | ErrorCode::UnknownReferralCode
            | ErrorCode::UnknownScope
            | ErrorCode::InvalidEmail => 422,
            ErrorCode::UriTooLong => 414,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::RateLimited => 429,
            ErrorCode::InternalError => 500,
            ErrorCode::ServiceUnavailable => 503,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MissingToken => "missing_token",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::EmailTaken => "email_taken",
            ErrorCode::InvalidApiKey => "invalid_api_key",
            ErrorCode::Conflict => "conflict",
            ErrorCode::WeakPassword => "weak_password",
            ErrorCode::UnknownReferralCode => "unknown_referral_code",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::HeadersTooLarge => "headers_too_large",
            ErrorCode::UriTooLong => "uri_too_long",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::AccountDisabled => "account_disabled",
            ErrorCode::ServiceUnavailable => "service_unavailable",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::UnknownScope => "unknown_scope",
            ErrorCode::ExternalLoginFailed => "external_login_failed",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidEmail => "invalid_email",
            ErrorCode::InvalidSessionCode => "invalid_session_code",
            ErrorCode::InvalidMfaCode => "invalid_mfa_code",
            ErrorCode::EmailNotVerified => "email_not_verified",
        }
    }
}

/// The one error body of every `/api/v1` route:
/// `{"status": "failed", "code": 401, "error": "invalid_token", "message": "...", "data": {}}`.
///
/// `status`/`code`/`message`/`data` follow the `/get-token` envelope, so clients written for
/// that shape read errors too; `error` is the machine code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub status: String,
    pub code: u16,
    pub error: ErrorCode,
    pub message: String,
    #[serde(default)]
    pub data: serde_json::Value,
    /// RFC 6749 §5.2's description, on the `/oauth2/*` endpoints only (the same text as
    /// `message`), so OAuth client libraries show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl ErrorBody {
    pub fn new(error: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            status: "failed".into(),
            code: error.status(),
            error,
            message: message.into(),
            data: serde_json::Value::Object(Default::default()),
            error_description: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_the_documented_shape() {
        let body =
            serde_json::to_value(ErrorBody::new(ErrorCode::InvalidToken, "expired")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"status": "failed", "code": 401, "error": "invalid_token",
                "message": "expired", "data": {}})
        );
    }

    #[test]
    fn as_str_matches_the_serialized_code() {
        for code in [
            ErrorCode::MissingToken,
            ErrorCode::InsufficientScope,
            ErrorCode::UnknownReferralCode,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UriTooLong,
            ErrorCode::RequestTimeout,
            ErrorCode::InvalidClient,
            ErrorCode::UnsupportedGrantType,
            ErrorCode::InvalidEmail,
            ErrorCode::InvalidSessionCode,
            ErrorCode::InvalidMfaCode,
            ErrorCode::EmailNotVerified,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}
