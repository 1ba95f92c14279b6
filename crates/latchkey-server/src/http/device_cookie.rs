//! The device token (see `latchkey_core::auth::lockout`): a client that signed in before shows
//! it at its next sign-in and gets a failure budget of its own, so attackers elsewhere cannot
//! lock it out. Apps send it back as `X-Device-Token`; in cookie mode (`X-Refresh-Token-Mode:
//! cookie`) browsers keep it in the `HttpOnly; Secure; SameSite=Strict` cookie `latchkey_device`
//! instead, which page scripts never see and other sites cannot make the browser send.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

pub const NAME: &str = "latchkey_device";
pub const HEADER: &str = "x-device-token";
/// Sent only to the sign-in routes.
const PATH: &str = "/api/v1/auth";
/// Longer than any device token is valid: the token's own expiry decides.
const LONGEST: usize = 256;

/// The device token the request shows: the header, else the cookie.
pub fn read(headers: &HeaderMap) -> Option<String> {
    let from_header = headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned());
    from_header
        .or_else(|| super::cookies::cookie(headers, NAME))
        .filter(|t| !t.is_empty() && t.len() <= LONGEST)
}

/// Keeps the device token in the browser for `max_age` seconds.
pub fn set(response: &mut Response, token: &str, max_age: u64) {
    let value = format!(
        "{NAME}={token}; HttpOnly; Secure; SameSite=Strict; Path={PATH}; Max-Age={max_age}"
    );
    // A device token is printable ASCII (`lkd_`, base64url, digits, dots).
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
