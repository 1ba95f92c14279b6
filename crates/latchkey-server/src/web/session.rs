//! The web session: the cookie `__Host-latchkey` (`HttpOnly; Secure; SameSite=Lax; Path=/`)
//! holds an ordinary Latchkey session's access and refresh tokens, with the times the web
//! session started and was last active, signed by the server so the browser cannot move them.
//!
//! Each page request (`layer`) checks the access token like any API call (revocation list,
//! the user's current record): logout-all, an admin, a disabled account or a password change
//! end the session on every instance at once. An expired access token is renewed with the
//! refresh token (rotation, reuse detection, the grace for parallel tabs). The web session
//! slides while the person is active and ends after `web_session_idle` without a request or
//! `web_session_absolute` after sign-in, and then the Latchkey session is ended with it.

use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use latchkey_core::auth::{Grant, Principal, Profile};
use latchkey_core::error::{AuthError, TokenProblem};
use latchkey_core::secret::{ct_eq, hmac_b64};

use crate::http::cookies::cookie;
use crate::state::AppState;

pub const COOKIE: &str = "__Host-latchkey";
/// The last-active time is written back at most this often (one `Set-Cookie` a minute).
const SLIDE_STEP: i64 = 60_000;

/// A signed-in person, as the pages see them.
#[derive(Clone)]
pub struct WebUser {
    pub principal: Principal,
    pub profile: Profile,
    /// The Latchkey session the web session is bound to (forms are bound to it too).
    pub sid: String,
}

/// What the request's cookie turned out to be; put in the request's extensions by `layer`.
#[derive(Clone)]
pub enum Resolved {
    SignedOut,
    SignedIn(Box<WebUser>),
    /// The store could not say: neither signed in nor out (pages answer 503).
    Unavailable,
}

enum Update {
    Keep,
    Set(String, i64),
    Clear,
}

struct Parsed {
    created: i64,
    active: i64,
    access: String,
    refresh: String,
}

fn mac(app: &AppState, body: &str) -> String {
    hmac_b64(&app.web_key, format!("session|{body}").as_bytes())
}

fn encode(app: &AppState, created: i64, active: i64, access: &str, refresh: &str) -> String {
    let body = format!("{created}.{active}~{access}~{refresh}");
    let mac = mac(app, &body);
    format!("{body}~{mac}")
}

fn decode(app: &AppState, value: &str) -> Option<Parsed> {
    let (body, given) = value.rsplit_once('~')?;
    // Compared in constant time: a forged signature must not be found byte by byte.
    if !ct_eq(given.as_bytes(), mac(app, body).as_bytes()) {
        return None;
    }
    let mut parts = body.splitn(3, '~');
    let (created, active) = parts.next()?.split_once('.')?;
    Some(Parsed {
        created: created.parse().ok()?,
        active: active.parse().ok()?,
        access: parts.next()?.to_owned(),
        refresh: parts.next()?.to_owned(),
    })
}

fn limits(app: &AppState) -> (i64, i64) {
    let ms = |d: Duration| d.as_millis() as i64;
    (
        ms(app.config.web_session_idle),
        ms(app.config.web_session_absolute),
    )
}

/// The `Set-Cookie` value that opens a web session for `grant` (any way of signing in ends
/// here). `None` when the grant has no refresh token (never for a new session).
pub fn start(app: &AppState, grant: &Grant) -> Option<(String, i64)> {
    let now = app.auth.clock().now_ms();
    let refresh = grant.refresh_token.as_ref()?;
    let value = encode(app, now, now, grant.access_token.expose(), refresh.expose());
    Some((value, now))
}

/// Adds the session cookie to `response`; `created` is when the web session began.
pub fn set(app: &AppState, response: &mut Response, value: &str, created: i64) {
    let now = app.auth.clock().now_ms();
    let (_, absolute) = limits(app);
    let max_age = ((created + absolute - now) / 1000).max(0);
    // HttpOnly: no script reads it; Secure + `__Host-`: only this host over HTTPS (browsers
    // count http://localhost as secure); Lax: sent when a link from elsewhere opens a page,
    // never with another site's POST.
    let header_value =
        format!("{COOKIE}={value}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age={max_age}");
    if let Ok(v) = HeaderValue::from_str(&header_value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Removes the session cookie.
pub fn clear(response: &mut Response) {
    let v = format!("{COOKIE}=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&v) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Signs in the browser: `response` gets the cookie of a new web session for `grant`.
pub fn sign_in(app: &AppState, response: &mut Response, grant: &Grant) {
    if let Some((value, created)) = start(app, grant) {
        set(app, response, &value, created);
    }
}

/// The person a fresh grant signs in, as the pages see them.
pub async fn user_of(app: &AppState, grant: &Grant) -> Option<WebUser> {
    let principal = app
        .auth
        .authenticate(grant.access_token.expose(), None)
        .await
        .ok()?;
    let profile = app.auth.me(&principal).await.ok()?;
    Some(WebUser {
        sid: grant.session_id.clone(),
        principal,
        profile,
    })
}

/// Resolves the web session of every page request, and writes back what changed (a slid
/// activity time, renewed tokens, or a removed cookie) unless the handler set the cookie itself.
pub async fn layer(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let (resolved, update) = match cookie(&parts.headers, COOKIE) {
        None => (Resolved::SignedOut, Update::Keep),
        Some(value) => {
            match crate::http::extract::Client::from_request_parts(&mut parts, &app).await {
                Ok(client) => resolve(&app, &value, client.0).await,
                Err(_) => (Resolved::SignedOut, Update::Keep),
            }
        }
    };
    parts.extensions.insert(resolved);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    let handler_set = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(COOKIE.as_bytes()));
    if !handler_set {
        match update {
            Update::Keep => {}
            Update::Set(value, created) => set(&app, &mut response, &value, created),
            Update::Clear => clear(&mut response),
        }
    }
    response
}

async fn resolve(
    app: &AppState,
    value: &str,
    client: latchkey_core::auth::ClientInfo,
) -> (Resolved, Update) {
    let Some(c) = decode(app, value) else {
        return (Resolved::SignedOut, Update::Clear);
    };
    let now = app.auth.clock().now_ms();
    let (idle, absolute) = limits(app);
    if now - c.created >= absolute || now - c.active >= idle {
        // The Latchkey session ends with the web session: it must not linger in the list.
        return match app.auth.revoke_token(&c.refresh).await {
            Err(AuthError::Unavailable(_)) => (Resolved::Unavailable, Update::Keep),
            _ => (Resolved::SignedOut, Update::Clear),
        };
    }
    let before = c.access.clone();
    let (mut principal, access, refresh) = match app.auth.authenticate(&c.access, None).await {
        Ok(p) => (p, c.access, c.refresh),
        Err(AuthError::InvalidToken(TokenProblem::Expired)) => {
            match renew(app, &c.refresh, &client).await {
                Ok(renewed) => renewed,
                Err(AuthError::Unavailable(_)) => return (Resolved::Unavailable, Update::Keep),
                Err(_) => return (Resolved::SignedOut, Update::Clear),
            }
        }
        Err(AuthError::Unavailable(_)) => return (Resolved::Unavailable, Update::Keep),
        Err(_) => return (Resolved::SignedOut, Update::Clear),
    };
    principal.client = client;
    let Some(sid) = principal.session_id().map(str::to_owned) else {
        return (Resolved::SignedOut, Update::Clear);
    };
    let profile = match app.auth.me(&principal).await {
        Ok(p) => p,
        Err(AuthError::Unavailable(_)) => return (Resolved::Unavailable, Update::Keep),
        Err(_) => return (Resolved::SignedOut, Update::Clear),
    };
    let renewed = access != before;
    let update = if renewed || now - c.active >= SLIDE_STEP {
        Update::Set(encode(app, c.created, now, &access, &refresh), c.created)
    } else {
        Update::Keep
    };
    let user = WebUser {
        principal,
        profile,
        sid,
    };
    (Resolved::SignedIn(Box::new(user)), update)
}

/// A new access token (and refresh token) for the session, and who it is now.
async fn renew(
    app: &AppState,
    refresh: &str,
    client: &latchkey_core::auth::ClientInfo,
) -> Result<(Principal, String, String), AuthError> {
    let grant = app.auth.refresh(refresh, client).await?;
    let access = grant.access_token.expose().to_owned();
    let refresh = grant
        .refresh_token
        .map_or_else(|| refresh.to_owned(), |r| r.expose().to_owned());
    let principal = app.auth.authenticate(&access, None).await?;
    Ok((principal, access, refresh))
}

pub(super) fn resolved(parts: &Parts) -> Resolved {
    parts
        .extensions
        .get::<Resolved>()
        .cloned()
        .unwrap_or(Resolved::SignedOut)
}
