//! The one place where errors become responses: every `/api/v1` failure leaves as
//! `{"status":"failed","code":…,"error":…,"message":…,"data":{}}` with its status and headers.

use super::cache::no_store;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_api::{ErrorBody, ErrorCode};
use latchkey_core::AuthError;

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after_secs: Option<u64>,
    /// The body's `data` (`{}` when `None`).
    pub data: Option<serde_json::Value>,
    /// Answered by an `/oauth2/*` endpoint: the body also carries RFC 6749's
    /// `error_description`, and `invalid_client` challenges with `Basic`.
    pub oauth: bool,
    /// What the metrics count once the error is answered (see [`ApiError::count`]): the store
    /// that failed, if any, and whether a refresh token was reused.
    failed_store: Option<&'static str>,
    reuse_detected: bool,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            retry_after_secs: None,
            data: None,
            oauth: false,
            failed_store: None,
            reuse_detected: false,
        }
    }

    /// The same error, answered the OAuth way (see `oauth`).
    pub fn oauth(mut self) -> Self {
        self.oauth = true;
        self
    }

    /// A domain error met at the OAuth token, revocation or introspection endpoint: a refused
    /// grant is `invalid_grant` (RFC 6749 §5.2), a refused client `invalid_client`.
    pub fn from_oauth(e: AuthError) -> Self {
        let reused = reused(&e);
        let code = match &e {
            AuthError::InvalidCredentials
            | AuthError::InvalidToken(_)
            | AuthError::AccountDisabled => Some(ErrorCode::InvalidGrant),
            AuthError::InvalidApiKey(_) => Some(ErrorCode::InvalidClient),
            AuthError::ScopeNotGranted(_) | AuthError::UnknownScope(_) => {
                Some(ErrorCode::InvalidScope)
            }
            _ => None,
        };
        match code {
            Some(code) => {
                let mut error = ApiError::new(code, e.to_string()).oauth();
                error.reuse_detected = reused;
                error
            }
            None => ApiError::from(e).oauth(),
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::InvalidRequest, message)
    }

    /// Counts what this error says about the server (a failed store, a reused refresh token)
    /// where it is answered: by `into_response`, or by a socket answering it in a message.
    pub fn count(&self) {
        if let Some(store) = self.failed_store {
            super::metrics::store_failed(store);
        }
        if self.reuse_detected {
            super::metrics::reuse_detected();
        }
    }
}

fn reused(e: &AuthError) -> bool {
    matches!(
        e,
        AuthError::InvalidToken(latchkey_core::error::TokenProblem::Reused)
    )
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let failed_store = e.failed_store();
        let reuse_detected = reused(&e);
        let code = match &e {
            AuthError::InvalidInput { .. } => ErrorCode::InvalidRequest,
            AuthError::InvalidCredentials => ErrorCode::InvalidCredentials,
            AuthError::InvalidToken(_) => ErrorCode::InvalidToken,
            AuthError::InsufficientScope(_) => ErrorCode::InsufficientScope,
            AuthError::UnknownScope(_) => ErrorCode::UnknownScope,
            AuthError::ScopeNotGranted(_) => ErrorCode::InvalidScope,
            AuthError::EmailTaken => ErrorCode::EmailTaken,
            AuthError::WeakPassword(_) => ErrorCode::WeakPassword,
            AuthError::UnknownReferralCode => ErrorCode::UnknownReferralCode,
            AuthError::RateLimited { .. } => ErrorCode::RateLimited,
            AuthError::AccountDisabled => ErrorCode::AccountDisabled,
            AuthError::InvalidEmail => ErrorCode::InvalidEmail,
            AuthError::InvalidSessionCode => ErrorCode::InvalidSessionCode,
            AuthError::InvalidMfaCode { .. } => ErrorCode::InvalidMfaCode,
            AuthError::InvalidMfaToken
            | AuthError::InvalidResetToken
            | AuthError::InvalidVerificationToken => ErrorCode::InvalidToken,
            AuthError::EmailNotVerified => ErrorCode::EmailNotVerified,
            AuthError::ReauthenticationRequired => ErrorCode::ReauthenticationRequired,
            AuthError::InvalidApiKey(_) => ErrorCode::InvalidApiKey,
            AuthError::Conflict(_) => ErrorCode::Conflict,
            AuthError::NotFound(_) => ErrorCode::NotFound,
            AuthError::Forbidden(_) | AuthError::NotGrantable(_) => ErrorCode::Forbidden,
            AuthError::ExternalLogin(_) => ErrorCode::ExternalLoginFailed,
            AuthError::Busy | AuthError::Unpublished => ErrorCode::ServiceUnavailable,
            AuthError::Unavailable(cause) => {
                // Logged (once, here) so an operator sees which store is down; the client is
                // refused with a retryable status, never allowed.
                tracing::warn!(error = format!("{cause:#}"), "storage unavailable");
                ErrorCode::ServiceUnavailable
            }
            AuthError::Unexpected(cause) => {
                // The cause chain is logged once, here; the client gets no internals.
                tracing::error!(error = format!("{cause:#}"), "unexpected error");
                let mut error = ApiError::new(ErrorCode::InternalError, "internal error");
                error.failed_store = failed_store;
                return error;
            }
        };
        let retry_after_secs = match &e {
            AuthError::RateLimited { retry_after } => Some(retry_after.as_secs_f64().ceil() as u64),
            AuthError::Busy | AuthError::Unavailable(_) => Some(1),
            AuthError::Unpublished => Some(latchkey_core::auth::PUBLISH_RETRY_EVERY.as_secs()),
            _ => None,
        };
        // Says the 503 is not a failure to save: the change stands and will take effect.
        let data = match &e {
            AuthError::Unpublished => Some(serde_json::json!({"committed": true})),
            // The login's loop: how many second-factor tries remain before it is dead.
            AuthError::InvalidMfaCode {
                attempts_left: Some(n),
            } => Some(serde_json::json!({"mfa_required": true, "attempts_left": n})),
            _ => None,
        };
        ApiError {
            code,
            message: e.to_string(),
            retry_after_secs,
            data,
            oauth: false,
            failed_store,
            reuse_detected,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.count();
        super::metrics::error(self.code);
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = ErrorBody::new(self.code, self.message.clone());
        if let Some(data) = self.data {
            body.data = data;
        }
        if self.oauth {
            // RFC 6749 §5.2 allows printable ASCII but `"` and `\` in error_description.
            let allowed = |c: char| c == ' ' || c == '!' || (('#'..='~').contains(&c) && c != '\\');
            let text = self
                .message
                .chars()
                .map(|c| if allowed(c) { c } else { '?' });
            body.error_description = Some(text.collect());
        }
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3.1: a request without credentials gets the challenge but no error code.
            let challenge = if self.code == ErrorCode::InvalidClient {
                // RFC 6749 §5.2: the scheme the client authenticates with, HTTP Basic.
                r#"Basic realm="latchkey", charset="UTF-8""#.to_owned()
            } else if self.code == ErrorCode::MissingToken {
                r#"Bearer realm="latchkey""#.to_owned()
            } else {
                format!(
                    r#"Bearer realm="latchkey", error="{}", error_description="{}""#,
                    self.code.as_str(),
                    self.message.replace('"', "'")
                )
            };
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                headers.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if self.code == ErrorCode::InsufficientScope {
            let v = format!(
                r#"Bearer realm="latchkey", error="insufficient_scope", error_description="{}""#,
                self.message.replace('"', "'")
            );
            if let Ok(v) = HeaderValue::from_str(&v) {
                headers.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        no_store(headers);
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
