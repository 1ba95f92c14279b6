//! One access-log line per request, at INFO: method, matched route, status, latency, request id
//! and client address. Never the raw path's query string, never a header: query strings and
//! headers can carry tokens.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::extract::client_ip;
use crate::state::AppState;

pub async fn log(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    // The route template (`/api/v1/sessions/{id}`), not the path: ids stay out of the logs and
    // lines group by endpoint. Unknown routes have none.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "-".to_owned(), |p| p.as_str().to_owned());
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let ip = match client_ip(req.headers(), req.extensions(), &app) {
        Ok(Some(ip)) => ip.to_string(),
        Ok(None) => "-".to_owned(),
        // Refused by every route that needs the address.
        Err(_) => "conflicting-forwarding-headers".to_owned(),
    };
    let span = tracing::info_span!("request", %method, %route, %request_id);
    let response = next.run(req).instrument(span).await;
    tracing::info!(
        %method,
        %route,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_millis() as u64,
        %request_id,
        client_ip = %ip,
        "request"
    );
    response
}

/// A client's `x-request-id` is kept (it ties our lines to the caller's) only when it is a
/// plain token of at most 128 characters; anything else could forge fields in a text log
/// line, so it is dropped and a fresh id is generated instead.
pub async fn plain_request_id(mut req: Request, next: Next) -> Response {
    let plain = |v: &[u8]| {
        !v.is_empty()
            && v.len() <= 128
            && v.iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    };
    if let Some(id) = req.headers().get("x-request-id")
        && !plain(id.as_bytes())
    {
        req.headers_mut().remove("x-request-id");
    }
    next.run(req).await
}
