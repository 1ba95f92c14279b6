//! Hosted sign-in for apps, and the one way every sign-in on the pages ends (`finish_sign_in`).
//!
//! An app sends the browser to `/login?redirect_to=<allow-listed URL>&code_challenge=<S256>`.
//! The request is remembered in a short-lived signed cookie (`__Host-latchkey-hosted`), so it
//! survives every way of signing in: the password and second-factor steps, a typed code, and
//! a magic link opened later in the same browser. When the sign-in completes, the browser goes
//! to `redirect_to?code=…`, and the app exchanges the code (with its PKCE verifier) at
//! `POST /api/v1/auth/exchange`, as after a provider sign-in: the same allow-list
//! (`LATCHKEY_OIDC_REDIRECT_ALLOW_LIST`), the same hand-off codes.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::auth::Grant;
use latchkey_core::auth::hosted::valid_code_challenge;
use latchkey_core::secret::{ct_eq, hmac_b64};

use super::page::{self, see_other};
use super::session::{self, WebUser};
use crate::http::cookies::cookie;
use crate::state::AppState;

pub const COOKIE: &str = "__Host-latchkey-hosted";
/// Long enough to read a mailed code or open its link.
const LIFETIME_MS: i64 = 15 * 60 * 1000;

/// An app waiting for this browser's sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hosted {
    pub redirect_to: String,
    pub code_challenge: String,
}

impl Hosted {
    /// From `/login`'s query: `Some(Ok)` for a valid request, `Some(Err)` for one that must
    /// not be followed (never redirect to an address outside the allow-list), `None` when the
    /// query asks for no app.
    pub fn from_query(app: &AppState, q: &super::form::Fields) -> Option<Result<Hosted, ()>> {
        let redirect_to = q.get("redirect_to")?;
        let challenge = q.get("code_challenge").unwrap_or("");
        let method_ok = q.get("code_challenge_method").is_none_or(|m| m == "S256");
        if app.oidc.redirect_allowed(redirect_to) && valid_code_challenge(challenge) && method_ok {
            Some(Ok(Hosted {
                redirect_to: redirect_to.to_owned(),
                code_challenge: challenge.to_owned(),
            }))
        } else {
            Some(Err(()))
        }
    }

    /// The app's origin, to name it on the sign-in page.
    pub fn app_name(&self) -> String {
        origin_of(&self.redirect_to)
    }
}

fn origin_of(url: &str) -> String {
    let after = url.find("://").map_or(0, |i| i + 3);
    let end = url[after..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after + i);
    url[..end].to_owned()
}

fn mac(app: &AppState, body: &str) -> String {
    hmac_b64(&app.web_key, format!("hosted|{body}").as_bytes())
}

/// Remembers `hosted` in this browser for the sign-in to come.
pub fn remember(app: &AppState, response: &mut Response, hosted: &Hosted) {
    let expires = app.auth.clock().now_ms() + LIFETIME_MS;
    let body = format!(
        "{expires}~{}~{}",
        URL_SAFE_NO_PAD.encode(&hosted.redirect_to),
        hosted.code_challenge
    );
    let value = format!(
        "{COOKIE}={body}~{}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age={}",
        mac(app, &body),
        LIFETIME_MS / 1000
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Forgets any waiting app (a plain sign-in, or the app got its code).
pub fn forget(response: &mut Response) {
    let value = format!("{COOKIE}=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The app waiting for this browser's sign-in, if any (signed by us, not expired).
pub fn waiting(app: &AppState, headers: &HeaderMap) -> Option<Hosted> {
    let value = cookie(headers, COOKIE)?;
    let (body, given) = value.rsplit_once('~')?;
    if !ct_eq(given.as_bytes(), mac(app, body).as_bytes()) {
        return None;
    }
    let mut parts = body.split('~');
    let expires: i64 = parts.next()?.parse().ok()?;
    let redirect_to = String::from_utf8(URL_SAFE_NO_PAD.decode(parts.next()?).ok()?).ok()?;
    let code_challenge = parts.next()?.to_owned();
    // Checked again: the allow-list may have changed since.
    let fresh = expires > app.auth.clock().now_ms();
    (fresh && app.oidc.redirect_allowed(&redirect_to)).then_some(Hosted {
        redirect_to,
        code_challenge,
    })
}

/// Sends a signed-in person on to the app with a one-time code.
pub async fn hand_to_app(app: &AppState, user: &WebUser, hosted: &Hosted) -> Response {
    match app
        .auth
        .hosted_sign_in_code(&user.principal, &hosted.code_challenge)
        .await
    {
        Ok(code) => {
            let mut response = see_other(&app.oidc.handoff_url(&hosted.redirect_to, &code));
            forget(&mut response);
            response
        }
        Err(_) => page::unavailable(app),
    }
}

/// How every way of signing in on the pages ends (password, mailed code, magic link, second
/// factor, and provider sign-in): the web session opens for `grant`, and the browser goes on
/// to the app waiting for it (hosted sign-in), else to `next` (a local path) or `/`.
pub async fn finish_sign_in(
    app: &AppState,
    headers: &HeaderMap,
    grant: &Grant,
    next: Option<&str>,
) -> Response {
    let mut response = match waiting(app, headers) {
        Some(hosted) => match session::user_of(app, grant).await {
            Some(user) => hand_to_app(app, &user, &hosted).await,
            None => page::unavailable(app),
        },
        None => see_other(page::local_path(next).as_deref().unwrap_or("/")),
    };
    session::sign_in(app, &mut response, grant);
    response
}
