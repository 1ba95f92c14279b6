//! `/api/v1/authorize`: forward-auth for nginx `auth_request`, Traefik ForwardAuth and Envoy
//! ext_authz. The proxy sends the client's credentials plus the original method and URI; the
//! answer is 200 with the caller's identity in headers, or an error in the documented shape.
//!
//! The original request is read from exactly one source (`forward_headers`). A missing,
//! duplicated, conflicting or unreadable description is refused: an auth server that guesses
//! (say, by matching its own path) answers allow for requests nobody checked.

use super::openapi::responses;
use axum::extract::{OriginalUri, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_api::ErrorCode;
use latchkey_core::auth::Principal;
use latchkey_core::policy::{MAX_URI_LEN, OriginalRequest, Unmatchable};

use super::error::{ApiError, ApiResult};
use super::extract::{authenticate, credential};
use crate::config::ForwardHeaders;
use crate::state::AppState;

/// Where Envoy's ext_authz appends the original path (`path_prefix`).
const PREFIX: &str = "/api/v1/authorize";

/// One proxy's pair of headers.
struct Pair {
    method: &'static str,
    uri: &'static str,
    names: &'static str,
}

const NGINX: Pair = Pair {
    method: "x-original-method",
    uri: "x-original-uri",
    names: "X-Original-Method and X-Original-URI",
};
const TRAEFIK: Pair = Pair {
    method: "x-forwarded-method",
    uri: "x-forwarded-uri",
    names: "X-Forwarded-Method and X-Forwarded-Uri",
};

impl Pair {
    /// Whether any of the pair is there, in any number of copies.
    fn present(&self, h: &HeaderMap) -> bool {
        h.contains_key(self.method) || h.contains_key(self.uri)
    }

    /// The pair as the proxy sent it: both, once each.
    fn read(&self, h: &HeaderMap) -> ApiResult<(Vec<u8>, Vec<u8>)> {
        match (single(h, self.method)?, single(h, self.uri)?) {
            (Some(m), Some(u)) => Ok((m.to_vec(), u.to_vec())),
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

/// A second description beside the one the proxy sent. A proxy configured as documented
/// sends one, so the other came from the client: its request is refused (403, which nginx's
/// `auth_request` passes on, where it turns a 400 into a 500), never matched by either.
fn described_twice() -> ApiError {
    ApiError::new(
        ErrorCode::Forbidden,
        "the original request is described twice (several proxy conventions at once)",
    )
}

/// The original method and URI, from the one source the configuration trusts. The proxy's own
/// description is read first: missing, half-given or doubled, the proxy is misconfigured
/// (400); present with another convention beside it, the client added one (403).
fn original(parts: &Parts, mode: ForwardHeaders) -> ApiResult<(Vec<u8>, Vec<u8>)> {
    let h = &parts.headers;
    let (nginx, traefik) = (NGINX.present(h), TRAEFIK.present(h));
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
    let alone = |found: (Vec<u8>, Vec<u8>), others: bool| {
        if others {
            Err(described_twice())
        } else {
            Ok(found)
        }
    };
    match mode {
        ForwardHeaders::Nginx => alone(NGINX.read(h)?, traefik || envoy.is_some()),
        ForwardHeaders::Traefik => alone(TRAEFIK.read(h)?, nginx || envoy.is_some()),
        ForwardHeaders::Envoy => {
            let uri = envoy.ok_or_else(|| {
                ApiError::invalid_request(format!(
                    "the original path must follow {PREFIX} (Envoy's path_prefix)"
                ))
            })?;
            alone(envoy_pick(uri), nginx || traefik)
        }
        ForwardHeaders::Auto => match (nginx, traefik, envoy) {
            (true, false, None) => NGINX.read(h),
            (false, true, None) => TRAEFIK.read(h),
            (false, false, Some(uri)) => Ok(envoy_pick(uri)),
            (false, false, None) => Err(ApiError::invalid_request(
                "the original method and URI are missing (X-Forwarded-Method and \
                     X-Forwarded-Uri, X-Original-Method and X-Original-URI, or the path after \
                     /api/v1/authorize)",
            )),
            _ => Err(described_twice()),
        },
    }
}

/// Why the original request cannot be matched. Described by nginx (`X-Original-*`), a request
/// line Latchkey cannot read is refused with 403 rather than 400 or 414: nginx's `auth_request`
/// passes on only 2xx, 401 and 403 and turns anything else into a 500, and what the client
/// itself sent is never a 500.
fn unmatchable(e: Unmatchable, via_nginx: bool) -> ApiError {
    let (code, why) = match e {
        Unmatchable::Unreadable(why) => (ErrorCode::InvalidRequest, why.to_string()),
        Unmatchable::Ambiguous(why) => (ErrorCode::Forbidden, why.to_string()),
        Unmatchable::TooLong => (
            ErrorCode::UriTooLong,
            format!("the original URI is longer than {MAX_URI_LEN} bytes"),
        ),
    };
    ApiError::new(
        if via_nginx {
            ErrorCode::Forbidden
        } else {
            code
        },
        why,
    )
}

/// The answer to the proxy. A refusal also carries its JSON body in `X-Latchkey-Error`: nginx
/// drops the body of an `auth_request` answer, but `auth_request_set` can read a header, so an
/// `error_page` can give the client Latchkey's reason instead of nginx's HTML page.
pub async fn authorize(state: State<AppState>, parts: Parts) -> ApiResult<Response> {
    let refusal = match check(state, parts).await {
        Ok(allowed) => return Ok(allowed),
        Err(e) => e.into_response(),
    };
    let (mut head, body) = refusal.into_parts();
    // The documented error shape is a few hundred bytes; anything else is passed on as is.
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Ok(Response::from_parts(head, axum::body::Body::empty()));
    };
    if let Ok(v) = HeaderValue::from_str(&ascii_json(&bytes)) {
        head.headers.insert("x-latchkey-error", v);
    }
    Ok(Response::from_parts(head, axum::body::Body::from(bytes)))
}

/// JSON text with every non-ASCII character escaped (`\uXXXX`), so that it is a header value
/// every proxy passes on unchanged. Outside strings JSON is ASCII, so this is the same JSON.
fn ascii_json(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for c in String::from_utf8_lossy(bytes).chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

async fn check(State(app): State<AppState>, parts: Parts) -> ApiResult<Response> {
    let (method, uri) = original(&parts, app.config.forward_headers)?;
    // Once read, the description came from nginx exactly when its headers are there.
    let via_nginx = NGINX.present(&parts.headers);
    let request = OriginalRequest::parse(&method, &uri).map_err(|e| unmatchable(e, via_nginx))?;
    let policy = app.policy.current();
    let matched = policy.rule_for(&request);
    let (token, api_key) = match credential(&parts)? {
        Some(found) => found,
        None => match super::forward_query::token(&parts.headers, &request, &uri, matched)? {
            Some(token) => (token, None),
            None => {
                return Err(ApiError::new(
                    ErrorCode::MissingToken,
                    "an access or auth token is required",
                ));
            }
        },
    };
    let principal = authenticate(&app, token, api_key).await?;
    let rule = matched.ok_or_else(|| {
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

// One operation per documented path, each the whole of `authorize`: a proxy sends the method of
// the request it asks about, so every method is routed (the router adds a fallback for the
// methods OpenAPI cannot name, such as CONNECT).
#[utoipa::path(
    method(get, post, put, patch, delete, head, options, trace),
    path = "/authorize",
    tag = "forward-auth",
    operation_id = "authorize",
    summary = "Forward-auth check (GET)",
    description = r#"Forward-auth for nginx `auth_request`, Traefik `forwardAuth` and Envoy `ext_authz`: the proxy passes the client's credentials (`Authorization: Bearer <access or auth token>`, or `x-authorization: Agent <auth token>` with an optional `x-api-key`) and the original method and URI. Every method is accepted.

The original request comes from exactly one source, chosen by `LATCHKEY_FORWARD_HEADERS`: `nginx` (`X-Original-Method` + `X-Original-URI`), `traefik` (`X-Forwarded-Method` + `X-Forwarded-Uri`), `envoy` (this request's own method, and the path after `/api/v1/authorize`, see `/api/v1/authorize/{path}`), or `auto` (the default: whichever one of the three is present). A missing or half-given pair, a header of the pair sent twice, or a method or URI that cannot be read exactly (bytes that are not printable ASCII, malformed escapes, percent-encoded bytes that are not UTF-8) is `400`; a second source beside the configured one (which only a client can have added) is `403`; a URI described by nginx's headers that cannot be read, or is too long, is `403` too (nginx's `auth_request` turns any other refusal into a 500); Latchkey never falls back to its own path. URIs over 8 KiB are `414`. Paths with dot segments, `;` parameters, encoded `/` or `\`, or control characters are refused (`403`) whatever the policy says.

The request is checked against the policy file (`LATCHKEY_POLICY_FILE`, first matching rule wins, no match is denied; without a file everything is denied): the caller must belong to one of the rule's organizations (`org`), have its role (`role`; only a user's own session has a role) and hold every scope of the rule. Scopes are the caller's current ones, not those of when the token was issued.

On success the answer is `200` with an empty body and the caller's identity in five headers, always all five (empty when one does not apply, so a proxy copying them always overwrites a client's): `X-Latchkey-User`, `X-Latchkey-Org`, `X-Latchkey-Scopes` (space-separated), `X-Latchkey-Role` (for a user's access token; empty for an API auth token) and `X-Latchkey-Key` (for an API auth token; empty otherwise). For an API auth token the scopes are the key's effective scopes and the role is empty: a key is not its owner.

A refusal also carries its JSON body in `X-Latchkey-Error` (non-ASCII escaped), for proxies that drop the body of the answer (nginx `auth_request` with an `error_page`)."#,
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("X-Forwarded-Method" = Option<String>, Header, description = "The original request's method (Traefik; `traefik` or `auto`)."),
        ("X-Original-Method" = Option<String>, Header, description = "The original request's method (nginx; `nginx` or `auto`)."),
        ("X-Forwarded-Uri" = Option<String>, Header, description = "The original request's URI as received, printable ASCII, at most 8 KiB (Traefik; `traefik` or `auto`)."),
        ("X-Original-Uri" = Option<String>, Header, description = "The original request's URI as received, printable ASCII, at most 8 KiB (nginx; `nginx` or `auto`).")
    ),
    responses(
        responses::ForwardAuthRoute,
        (status = 200, description = "Allowed; the caller's identity is in the headers.", headers(("X-Latchkey-User" = String, description = "The caller's user id."), ("X-Latchkey-Org" = String, description = "The caller's organization id."), ("X-Latchkey-Role" = String, description = "`admin` or `member` for a user's access token; empty for an API auth token."), ("X-Latchkey-Scopes" = String, description = "The caller's scopes, space-separated."), ("X-Latchkey-Key" = String, description = "The API key id when the caller used an API auth token; empty otherwise.")))
    )
)]
pub async fn authorize_root(state: State<AppState>, parts: Parts) -> ApiResult<Response> {
    authorize(state, parts).await
}

#[utoipa::path(
    method(get, post, put, patch, delete, head, options, trace),
    path = "/authorize/{*path}",
    tag = "forward-auth",
    operation_id = "authorizePath",
    summary = "Forward-auth check, Envoy form (GET)",
    description = "Envoy's HTTP `ext_authz` (`path_prefix: /api/v1/authorize`) appends the original path and query to the prefix and sends the original method: this route takes them as the original request (with `LATCHKEY_FORWARD_HEADERS` `envoy` or `auto`). The path is used as sent, undecoded; the same rules as for `/api/v1/authorize` apply. Sending `X-Forwarded-*` or `X-Original-*` headers as well is refused (`403`, two sources).",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("path" = String, Path, description = "The original path without its leading `/` (may contain further `/`), followed by the original query string as this request's query.")
    ),
    responses(
        responses::ForwardAuthRoute,
        (status = 200, description = "Allowed; the caller's identity is in the headers.", headers(("X-Latchkey-User" = String, description = "The caller's user id."), ("X-Latchkey-Org" = String, description = "The caller's organization id."), ("X-Latchkey-Role" = String, description = "`admin` or `member` for a user's access token; empty for an API auth token."), ("X-Latchkey-Scopes" = String, description = "The caller's scopes, space-separated."), ("X-Latchkey-Key" = String, description = "The API key id when the caller used an API auth token; empty otherwise.")))
    )
)]
pub async fn authorize_path(state: State<AppState>, parts: Parts) -> ApiResult<Response> {
    authorize(state, parts).await
}

/// Envoy's ext_authz appends the original path to its `path_prefix`, which gives
/// `/api/v1/authorize/` for the root.
#[utoipa::path(
    method(get, post, put, patch, delete, head, options, trace),
    path = "/authorize/",
    tag = "forward-auth",
    operation_id = "authorizeSlash",
    summary = "Forward-auth check (the root path with a trailing slash)",
    description = "The same check as `/api/v1/authorize`: Envoy's ext_authz appends the original path to its `path_prefix`.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    responses(
        responses::ForwardAuthRoute,
        (status = 200, description = "The request is allowed; see `/api/v1/authorize`.")
    )
)]
pub async fn authorize_slash(state: State<AppState>, parts: Parts) -> ApiResult<Response> {
    authorize(state, parts).await
}

/// The caller's identity for the upstream: always all five headers, empty when one does not
/// apply, so a proxy that copies them over the request always overwrites a client's forgery.
/// An API token reports its key's grants and an empty role: the key is not the user, and an
/// upstream trusting `X-Latchkey-Role: admin` must only ever see it for the user's own session.
fn identity(principal: &Principal) -> Response {
    let mut r = StatusCode::OK.into_response();
    let h = r.headers_mut();
    let role = principal.session_id().map(|_| principal.role.as_str());
    let scopes = principal.scopes.join(" ");
    for (name, value) in [
        ("x-latchkey-user", Some(principal.user_id.as_str())),
        ("x-latchkey-org", Some(principal.org_id.as_str())),
        ("x-latchkey-role", role),
        ("x-latchkey-key", principal.key_id()),
        ("x-latchkey-scopes", Some(scopes.as_str())),
    ] {
        let value = value.and_then(|v| HeaderValue::from_str(v).ok());
        h.insert(name, value.unwrap_or(HeaderValue::from_static("")));
    }
    r
}
