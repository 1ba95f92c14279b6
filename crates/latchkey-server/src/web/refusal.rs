//! How a refused step of signing in or signing up reads on a page: the JSON API's error, in
//! the page's words where the catalogue has them, and how long until the next try.

use axum::http::StatusCode;
use latchkey_api::ErrorCode;

use super::page::Problems;
use super::text::EN;
use crate::http::error::ApiError;

/// What a refused sign-in step tells the person (the JSON API's error, in the page's words
/// where the catalogue has them), and its status.
pub fn refusal(e: &ApiError) -> (StatusCode, Problems) {
    let t = &EN.signin;
    let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let text = match e.code {
        ErrorCode::InvalidCredentials => t.invalid_credentials.to_owned(),
        ErrorCode::AccountDisabled => t.account_disabled.to_owned(),
        ErrorCode::EmailNotVerified => t.email_not_verified.to_owned(),
        ErrorCode::RateLimited => format!(
            "{} {} {}.",
            t.rate_limited,
            EN.common.try_again_in,
            wait(std::time::Duration::from_secs(
                e.retry_after_secs.unwrap_or(60)
            ))
        ),
        ErrorCode::ServiceUnavailable => EN.common.unavailable.to_owned(),
        _ => e.message.clone(),
    };
    (status, Problems::one(None, text))
}

/// "4 minutes", "30 seconds": how long until the next try.
pub fn wait(d: std::time::Duration) -> String {
    let secs = d.as_secs().max(1);
    if secs < 90 {
        format!("{secs} seconds")
    } else if secs < 90 * 60 {
        format!("{} minutes", secs.div_ceil(60))
    } else {
        format!("{} hours", secs.div_ceil(3600))
    }
}
