//! Forms other sites cannot send. Two checks, both required on every POST:
//! - the browser says the request comes from a page of this origin: `Sec-Fetch-Site:
//!   same-origin`, or, from a browser that does not send it, an `Origin` naming this server;
//! - the form carries `_csrf`, a token this server signed for the same session (or, before
//!   sign-in, for the public forms) within the last day.
//!
//! The first stops every cross-site POST in current browsers; the token keeps a form from one
//! session being replayed into another, and covers browsers that send neither header.

use std::time::Duration;

use axum::http::{HeaderMap, header};
use latchkey_core::secret::{ct_eq, hmac_b64};

use crate::state::AppState;

/// The hidden field every form carries.
pub const FIELD: &str = "_csrf";
/// What a form rendered before sign-in is bound to.
pub const PUBLIC: &str = "public";
/// How long a rendered form can be sent: a sign-in page left open overnight still works.
const LIFETIME: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Another site's page (or no browser at all) sent the form.
    CrossSite,
    /// The token is missing, forged, too old, or of another session.
    BadToken,
}

/// A token for forms shown to `binding` (the web session's id, or [`PUBLIC`]).
pub fn token(app: &AppState, binding: &str) -> String {
    let issued = app.auth.clock().now_ms().div_euclid(1000);
    format!("{issued}.{}", mac(app, binding, issued))
}

fn mac(app: &AppState, binding: &str, issued: i64) -> String {
    hmac_b64(&app.web_key, format!("csrf|{binding}|{issued}").as_bytes())
}

/// Both checks of a POST: its origin, then its token for `binding`.
pub fn check(
    app: &AppState,
    headers: &HeaderMap,
    form_token: Option<&str>,
    binding: &str,
) -> Result<(), Refused> {
    if !same_origin(app, headers) {
        return Err(Refused::CrossSite);
    }
    let Some((issued, given)) = form_token.and_then(|t| t.split_once('.')) else {
        return Err(Refused::BadToken);
    };
    let Ok(issued) = issued.parse::<i64>() else {
        return Err(Refused::BadToken);
    };
    let now = app.auth.clock().now_ms().div_euclid(1000);
    let fresh = issued <= now + 60 && now - issued <= LIFETIME.as_secs() as i64;
    // Compared in constant time: the MAC must not be found byte by byte.
    if fresh && ct_eq(given.as_bytes(), mac(app, binding, issued).as_bytes()) {
        Ok(())
    } else {
        Err(Refused::BadToken)
    }
}

/// `Sec-Fetch-Site: same-origin`; without it, an `Origin` that is the issuer's origin or the
/// request's own host. Neither header: not a browser form of ours.
fn same_origin(app: &AppState, headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return site == "same-origin";
    }
    let Some(origin) = text(header::ORIGIN.as_str()) else {
        return false;
    };
    if origin == origin_of(&app.config.issuer()) {
        return true;
    }
    let host = text(header::HOST.as_str()).unwrap_or("");
    !host.is_empty() && (origin == format!("http://{host}") || origin == format!("https://{host}"))
}

/// `scheme://host[:port]` of a URL: the issuer may carry a path.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}
