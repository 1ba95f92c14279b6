//! `/api/v1/authorize`: forward-auth for nginx `auth_request`, Traefik ForwardAuth and Envoy
//! ext_authz. The proxy sends the client's credentials plus the original method and URI; the
//! answer is 200 with the caller's identity in headers, or an error in the documented shape.
//!
//! The original request is read from exactly one source (`forward_headers`). A missing,
//! duplicated, conflicting or unreadable description is refused: an auth server that guesses
//! (say, by matching its own path) answers allow for requests nobody checked.

use axum::extract::{OriginalUri, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_api::ErrorCode;
use latchkey_core::auth::Principal;
use latchkey_core::policy::{MAX_URI_LEN, OriginalRequest, Unmatchable};

use super::error::{ApiError, ApiResult};
use super::extract::credential;
use crate::app::AppState;
use crate::config::ForwardHeaders;

/// Where Envoy's ext_authz appends the original path (`path_prefix`).
const PREFIX: &str = "/api/v1/authorize";

/// One proxy's pair of headers, as sent (each at most once).
struct Pair<'a> {
    method: Option<&'a [u8]>,
    uri: Option<&'a [u8]>,
    names: &'static str,
}

impl<'a> Pair<'a> {
    fn read(h: &'a HeaderMap, method: &str, uri: &str, names: &'static str) -> ApiResult<Self> {
        Ok(Pair {
            method: single(h, method)?,
            uri: single(h, uri)?,
            names,
        })
    }

    fn present(&self) -> bool {
        self.method.is_some() || self.uri.is_some()
    }

    fn both(&self) -> ApiResult<(&'a [u8], Vec<u8>)> {
        match (self.method, self.uri) {
            (Some(m), Some(u)) => Ok((m, u.to_vec())),
            _ => Err(ApiError::invalid_request(format!(
                "the original request needs both {}",
                self.names
            ))),
        }
    }
}

/// A header sent once, or absent; two copies are refused (which one would the upstream use?).
fn single<'a>(h: &'a HeaderMap, name: &str) -> ApiResult<Option<&'a [u8]>> {
    let mut all = h.get_all(name).iter();
    match (all.next(), all.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => Ok(Some(v.as_bytes())),
        _ => Err(ApiError::invalid_request(format!(
            "the {name} header is sent more than once"
        ))),
    }
}

/// The original method and URI, from the one source the configuration trusts.
fn original(parts: &Parts, mode: ForwardHeaders) -> ApiResult<(Vec<u8>, Vec<u8>)> {
    let h = &parts.headers;
    let nginx = Pair::read(
        h,
        "x-original-method",
        "x-original-uri",
        "X-Original-Method and X-Original-URI",
    )?;
    let traefik = Pair::read(
        h,
        "x-forwarded-method",
        "x-forwarded-uri",
        "X-Forwarded-Method and X-Forwarded-Uri",
    )?;
    // Envoy: this request's own method, and the path after the prefix (raw, undecoded).
    let full = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |o| &o.0);
    let envoy = full
        .path()
        .strip_prefix(PREFIX)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut uri = p.as_bytes().to_vec();
            if let Some(q) = full.query() {
                uri.push(b'?');
                uri.extend_from_slice(q.as_bytes());
            }
            uri
        });
    let envoy_pick = |uri: Vec<u8>| (parts.method.as_str().as_bytes().to_vec(), uri);
    let conflict = || {
        ApiError::invalid_request(
            "the original request is described twice (several proxy conventions at once)",
        )
    };
    let pick = |pair: &Pair<'_>| pair.both().map(|(m, u)| (m.to_vec(), u));
    match mode {
        ForwardHeaders::Nginx if traefik.present() || envoy.is_some() => Err(conflict()),
        ForwardHeaders::Nginx => pick(&nginx),
        ForwardHeaders::Traefik if nginx.present() || envoy.is_some() => Err(conflict()),
        ForwardHeaders::Traefik => pick(&traefik),
        ForwardHeaders::Envoy if nginx.present() || traefik.present() => Err(conflict()),
        ForwardHeaders::Envoy => envoy.map(envoy_pick).ok_or_else(|| {
            ApiError::invalid_request(format!(
                "the original path must follow {PREFIX} (Envoy's path_prefix)"
            ))
        }),
        ForwardHeaders::Auto => match (nginx.present(), traefik.present(), envoy) {
            (true, false, None) => pick(&nginx),
            (false, true, None) => pick(&traefik),
            (false, false, Some(uri)) => Ok(envoy_pick(uri)),
            (false, false, None) => Err(ApiError::invalid_request(
                "the original method and URI are missing (X-Forwarded-Method and \
                     X-Forwarded-Uri, X-Original-Method and X-Original-URI, or the path after \
                     /api/v1/authorize)",
            )),
            _ => Err(conflict()),
        },
    }
}

fn unmatchable(e: Unmatchable) -> ApiError {
    match e {
        Unmatchable::Unreadable(why) => ApiError::invalid_request(why),
        Unmatchable::Ambiguous(why) => ApiError::new(ErrorCode::Forbidden, why),
        Unmatchable::TooLong => ApiError::new(
            ErrorCode::UriTooLong,
            format!("the original URI is longer than {MAX_URI_LEN} bytes"),
        ),
    }
}

pub async fn authorize(State(app): State<AppState>, parts: Parts) -> ApiResult<Response> {
    let (method, uri) = original(&parts, app.config.forward_headers)?;
    let request = OriginalRequest::parse(&method, &uri).map_err(unmatchable)?;
    let (token, api_key) = credential(&parts)?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::MissingToken,
            "an access or auth token is required",
        )
    })?;
    let checked = app
        .auth
        .authenticate(token, api_key)
        .await
        .map_err(ApiError::from);
    super::metrics::outcome(
        "latchkey_token_checks_total",
        checked.as_ref().map(|_| ()).map_err(|e| e.code),
    );
    let principal = checked?;
    let policy = app.policy.current();
    let rule = policy.rule_for(&request).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "no policy rule allows {} /{}",
                request.method,
                request.segments.join("/")
            ),
        )
    })?;
    rule.admit(&principal)?;
    Ok(identity(&principal))
}

/// The caller's identity for the upstream. An API token reports its key's grants and no role:
/// the key is not the user, and an upstream trusting `X-Latchkey-Role: admin` must only ever
/// see it for the user's own session.
fn identity(principal: &Principal) -> Response {
    let mut r = StatusCode::OK.into_response();
    let h = r.headers_mut();
    let role = principal.session_id().map(|_| principal.role.as_str());
    for (name, value) in [
        ("x-latchkey-user", Some(principal.user_id.as_str())),
        ("x-latchkey-org", Some(principal.org_id.as_str())),
        ("x-latchkey-role", role),
        ("x-latchkey-key", principal.key_id()),
    ] {
        if let Some(Ok(v)) = value.map(HeaderValue::from_str) {
            h.insert(name, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&principal.scopes.join(" ")) {
        h.insert("x-latchkey-scopes", v);
    }
    r
}
