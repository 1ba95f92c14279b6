//! The cookies and redirects of provider sign-in (`social.rs`): the signed flow cookie
//! between start and callback, the link cookie that binds a link to the browser that asked.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::cache::no_store;
use crate::state::AppState;

/// Its own name, apart from any session cookie; read back only under `/api/v1/oauth/`.
pub(super) const FLOW_COOKIE: &str = "latchkey_oidc_flow";
/// Binds a link ticket to the browser that asked for it (set by `POST /oauth/{p}/link`,
/// needed at `/start` and at the confirmation), so a link URL sent to someone else is dead.
pub(super) const LINK_COOKIE: &str = "latchkey_link";
/// As long as a sign-in at the provider may take, plus the confirmation.
pub(super) const LINK_COOKIE_SECS: i64 = 600;

/// `HttpOnly`, `SameSite=Lax`, `Secure` on HTTPS, scoped to the provider routes.
pub(super) fn named_cookie(app: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if app.config.issuer().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/api/v1/oauth/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .expect("cookie values are base64url")
}

pub(super) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `HttpOnly`, `SameSite=Lax` (a `Strict` cookie would be withheld on the provider's
/// redirect back; a `form_post` answer is a cross-site POST, which only `None` survives),
/// `Secure` when the public URL is HTTPS, scoped to the sign-in routes.
pub(crate) fn flow_cookie(
    app: &AppState,
    value: &str,
    max_age: i64,
    form_post: bool,
) -> HeaderValue {
    let same_site = if form_post { "None" } else { "Lax" };
    let secure = if form_post || app.config.issuer().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{FLOW_COOKIE}={value}; Path=/api/v1/oauth/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}"
    ))
    .expect("cookie values are base64url")
}

pub(super) fn redirect(status: StatusCode, location: &str, cookie: HeaderValue) -> Response {
    let mut response = status.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, v);
    }
    headers.insert(header::SET_COOKIE, cookie);
    no_store(headers);
    response
}
