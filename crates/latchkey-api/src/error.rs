use serde::{Deserialize, Serialize};

/// The stable machine codes of the error shape. Clients branch on these, never on messages.
///
/// - `missing_token` (401): No access token was sent (the `WWW-Authenticate` challenge carries no
///   error code, RFC 6750 §3.1).
/// - `invalid_token` (401): The token is malformed, expired, wrongly signed, for another issuer or
///   audience, of a revoked session, or a reused refresh token. The message says which.
/// - `insufficient_scope` (403): The token lacks a scope the route requires.
/// - `invalid_request` (400): Malformed JSON, missing or unknown fields, wrong types, an invalid
///   email, phone or name; for forward-auth, an original method or URI that is missing, sent twice,
///   described by two proxy conventions at once, or unreadable (bytes that are not printable ASCII,
///   malformed escapes, percent-encoded bytes that are not UTF-8).
/// - `invalid_credentials` (401): Wrong email or password. An unknown email gets the very same
///   answer.
/// - `invalid_api_key` (401): The API key is unknown, revoked or expired (`/get-token`), or the
///   `x-api-key` header does not belong to the auth token.
/// - `email_taken` (409): An account with this email (compared case-insensitively) already exists.
/// - `conflict` (409): A concurrent change won (e.g. two rotations of one API key); retry.
/// - `weak_password` (422): The password breaks the policy: 8 to 256 characters, not a common
///   password, not the email, not one repeated character.
/// - `unknown_referral_code` (422): The referral code matches no organization.
/// - `rate_limited` (429): Too many attempts; `Retry-After` says how many seconds to wait.
/// - `payload_too_large` (413): The request body is larger than 1 MiB.
/// - `unsupported_media_type` (415): A JSON route got a body whose `Content-Type` is not
///   `application/json` (or `application/<name>+json`, UTF-8 if a charset is named), or none at
///   all. A cross-site form can send `text/plain` or a form body without asking; never JSON.
/// - `not_found` (404): No such route, or no such resource of the caller.
/// - `method_not_allowed` (405): The route exists but not with this method.
/// - `unknown_scope` (422): A scope that is not in the server's scope catalogue
///   (`LATCHKEY_SCOPES`); the message names it.
/// - `uri_too_long` (414): The original URI given to forward-auth is longer than 8 KiB.
/// - `forbidden` (403): The caller may not do this: not an organization admin, an API token on a
///   route that needs a user's session, an admin acting on their own account, or forward-auth
///   refuses the request (no policy rule allows it, the rule is limited to other organizations or
///   roles, or the original path has dot segments, `;` parameters or encoded separators).
/// - `account_disabled` (403): The account is disabled.
/// - `service_unavailable` (503): The service is overloaded, or Redis or the database is
///   unreachable (never answered as allowed); retry after `Retry-After` seconds. On a change (admin
///   routes, API key updates), `data.committed: true` says the change is saved and takes effect
///   once the token store is reachable; retrying the same call is safe.
/// - `external_login_failed` (401): A sign-in through Google, Microsoft or another OpenID provider
///   was refused: no sign-in in progress in this browser, a state that does not match, a code the
///   provider refused (used or expired), an ID token that fails validation (signature, issuer,
///   tenant, audience, authorized party, expiry, issue time, nonce), or a hand-off code or sign-up
///   token that is invalid, expired or used. The message says which.
/// - `internal_error` (500): An unexpected error; details are logged on the server, never returned.
/// - `invalid_client` (401): OAuth endpoints: the client credentials (an API key as the client) are
///   missing where required, malformed or wrong; the challenge is `WWW-Authenticate: Basic`.
/// - `invalid_grant` (400): OAuth token endpoint: wrong username or password, an unknown, expired,
///   revoked or reused refresh token, a disabled account, or an account that needs another login
///   step (multi-factor authentication).
/// - `unsupported_grant_type` (400): OAuth token endpoint: `grant_type` is not `password`,
///   `refresh_token` or `client_credentials`.
/// - `invalid_scope` (400): OAuth token endpoint: `scope` names a scope the user or the client does
///   not hold.
/// - `headers_too_large` (431): The request headers exceed 16 KiB or 100 lines.
/// - `request_timeout` (408): The request body did not arrive whole in time (20 seconds by
///   default).
/// - `invalid_email` (422): The address is not valid, or the mail server refused it; nothing was
///   stored.
/// - `invalid_session_code` (401): The sign-in code is wrong, expired or already used, the login is
///   unknown, or its 5 tries are spent.
/// - `invalid_mfa_code` (401): The TOTP code is wrong or was already used in its window, or the
///   recovery code is unknown or used.
/// - `email_not_verified` (403): Verified addresses are required and this one is not verified yet
///   (the verification mail is sent; log in once it is verified).
/// - `reauthentication_required` (403): A sensitive change (linking or removing a provider,
///   turning two-factor authentication on or off, an API key that can do more than read) needs a
///   credential proved in this session within the last minutes: `POST
///   /api/v1/auth/reauthenticate`, then retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    UnsupportedMediaType,
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
    ReauthenticationRequired,
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
            | ErrorCode::EmailNotVerified
            | ErrorCode::ReauthenticationRequired => 403,
            ErrorCode::InvalidRequest
            | ErrorCode::InvalidGrant
            | ErrorCode::UnsupportedGrantType
            | ErrorCode::InvalidScope => 400,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::EmailTaken | ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
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
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
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
            ErrorCode::ReauthenticationRequired => "reauthentication_required",
        }
    }
}

/// The one error body of every `/api/v1` route:
/// `{"status": "failed", "code": 401, "error": "invalid_token", "message": "...", "data": {}}`.
///
/// `status`/`code`/`message`/`data` follow the `/get-token` envelope, so clients written for
/// that shape read errors too; `error` is the machine code.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Always `failed`.
    #[cfg_attr(feature = "openapi", schema(example = "failed"))]
    pub status: String,
    /// The HTTP status, repeated.
    pub code: u16,
    /// The stable machine code.
    pub error: ErrorCode,
    /// For humans; never contains secrets or internals.
    pub message: String,
    /// `{}`, except `{"committed": true}` on a 503 whose change is saved and
    /// `{"mfa_required": true, "attempts_left": N}` on a refused second factor during a login.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = Object))]
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
            ErrorCode::UnsupportedMediaType,
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
