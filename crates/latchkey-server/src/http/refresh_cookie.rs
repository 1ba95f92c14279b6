//! The refresh token in an `HttpOnly` cookie for web apps, so page scripts never see it.
//! Offered when `LATCHKEY_REFRESH_COOKIE` is on and the client asks with
//! `X-Refresh-Token-Mode: cookie`. That header is also the CSRF guard: a cross-origin page
//! cannot send it without a CORS preflight, which only `LATCHKEY_CORS_ORIGINS` pass.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use crate::state::AppState;

pub const NAME: &str = "latchkey_refresh";
const MODE_HEADER: &str = "x-refresh-token-mode";
/// Sent only to the routes that use it: refresh and logout.
const PATH: &str = "/api/v1/auth";

/// True when this request asked for the cookie and the server offers it.
pub fn wanted(app: &AppState, headers: &HeaderMap) -> bool {
    app.config.refresh_cookie
        && headers
            .get(MODE_HEADER)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cookie"))
}

/// The refresh token from the request's cookies, when there is one.
pub fn read(headers: &HeaderMap) -> Option<String> {
    super::cookies::cookie(headers, NAME).filter(|value| !value.is_empty())
}

/// Sets the cookie (`max_age` seconds), or removes it when `token` is `None`.
pub fn set(response: &mut Response, token: Option<&str>, max_age: i64) {
    let value = match token {
        Some(token) => format!(
            "{NAME}={token}; HttpOnly; Secure; SameSite=Strict; Path={PATH}; Max-Age={}",
            max_age.max(0)
        ),
        None => format!("{NAME}=; HttpOnly; Secure; SameSite=Strict; Path={PATH}; Max-Age=0"),
    };
    // A refresh token is printable ASCII (`lkr_` and base64url); anything else is not sent.
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
