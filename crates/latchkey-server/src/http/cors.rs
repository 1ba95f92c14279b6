//! CORS for browser apps on other origins (`LATCHKEY_CORS_ORIGINS`), written out rather than
//! taken from a generic layer because forward-auth must never be answered by it: a proxy may
//! pass on a browser's preflight headers, and a CORS answer there would read as "allowed".

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Kept here too for the configuration's checks; the rule itself lives below both.
pub use crate::origin::check_origin;
use crate::state::AppState;

const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
/// What the SDKs send: credentials, JSON, request ids, the refresh-cookie opt-in and the
/// device token.
const ALLOW_HEADERS: &str = "authorization, content-type, x-authorization, x-request-id, \
     x-refresh-token-mode, x-device-token";
/// What the SDKs read: why a token was refused, when to retry, and the request id.
const EXPOSE_HEADERS: &str = "www-authenticate, retry-after, x-request-id";
const MAX_AGE: &str = "600";

pub async fn cors(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let origins = &app.config.cors_origins;
    if origins.is_empty() || req.uri().path().starts_with("/api/v1/authorize") {
        return next.run(req).await;
    }
    let allowed = req
        .headers()
        .get(header::ORIGIN)
        .filter(|o| {
            origins
                .iter()
                .any(|allowed| o.as_bytes() == allowed.as_bytes())
        })
        .cloned();
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = match (&allowed, preflight) {
        (Some(_), true) => {
            let mut r = StatusCode::NO_CONTENT.into_response();
            let h = r.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOW_METHODS),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOW_HEADERS),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(MAX_AGE),
            );
            r
        }
        _ => next.run(req).await,
    };
    let h = response.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = allowed {
        allow(h, origin);
    }
    response
}

fn allow(h: &mut HeaderMap, origin: HeaderValue) {
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    // The cookie mode needs credentials; the origin is never `*`, so this is allowed.
    h.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
}
