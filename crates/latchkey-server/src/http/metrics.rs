//! Prometheus metrics at `GET /metrics`: requests and latency per route, and the outcomes an
//! operator alerts on (logins, refreshes, reuse detections, lockouts, token checks, storage
//! errors). Counted at the edge, where every outcome passes once.
//!
//! The `metrics` facade records into one recorder per process (installed on first use); the
//! exporter's HTTP listener is not used, so its upkeep runs on every scrape.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use latchkey_api::ErrorCode;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder already installed (an embedding program's): leave it be.
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// Installs the recorder; call once at start so counters exist before the first scrape.
pub fn init() {
    if handle().is_none() {
        return;
    }
    // Present (at zero) from the start, so an alert on them never reads "no data".
    for transport in [WEBSOCKET, SOCKET_IO] {
        metrics::gauge!(LIVE_SOCKETS, "transport" => transport).increment(0.0);
    }
    for store in ["redis", "database"] {
        metrics::counter!(STORE_ERRORS, "store" => store).increment(0);
    }
}

const LIVE_SOCKETS: &str = "latchkey_live_sockets";
const STORE_ERRORS: &str = "latchkey_store_errors_total";
pub const WEBSOCKET: &str = "websocket";
pub const SOCKET_IO: &str = "socketio";

/// One open socket in `latchkey_live_sockets{transport}`, from its acceptance until this is
/// dropped: held by the task that serves the socket, so a close, an error, an early return or
/// a panic all give the count back.
pub struct LiveSocket(&'static str);

impl LiveSocket {
    pub fn open(transport: &'static str) -> LiveSocket {
        metrics::gauge!(LIVE_SOCKETS, "transport" => transport).increment(1.0);
        LiveSocket(transport)
    }
}

impl Drop for LiveSocket {
    fn drop(&mut self) {
        metrics::gauge!(LIVE_SOCKETS, "transport" => self.0).decrement(1.0);
    }
}

/// A request (or a socket's check) that failed in Redis or the database, unreachable or not.
pub fn store_error(e: &latchkey_core::AuthError) {
    if let Some(store) = e.failed_store() {
        store_failed(store);
    }
}

/// A failure in `store` (`"redis"` or `"database"`), see [`store_error`].
pub fn store_failed(store: &'static str) {
    metrics::counter!(STORE_ERRORS, "store" => store).increment(1);
}

/// The Prometheus text of every metric recorded, `None` when this process records none (another
/// recorder was installed first).
pub fn render() -> Option<String> {
    let handle = handle()?;
    handle.run_upkeep();
    Some(handle.render())
}

/// Counts every request by method, route template and status, with its latency. Every label
/// comes from a closed set, so no request can add a series: a client chooses the method token
/// and the path freely, and each new label set would stay in the recorder for good.
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    // The route template, never the raw path: ids and junk paths must not grow the label set.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    let status = status_label(response.status());
    metrics::counter!("latchkey_http_requests_total",
        "method" => method, "route" => route.clone(), "status" => status)
    .increment(1);
    metrics::histogram!("latchkey_http_request_duration_seconds",
        "method" => method, "route" => route)
    .record(started.elapsed().as_secs_f64());
    response
}

/// The standard methods by name; any extension token (`PROPFIND`, `XQZ123`, …) is `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// A registered status code as itself; anything else (the server sends none, but a label must
/// not depend on that) as its class, `5xx`.
fn status_label(status: StatusCode) -> Cow<'static, str> {
    if status.canonical_reason().is_some() {
        Cow::Owned(status.as_u16().to_string())
    } else {
        Cow::Borrowed(match status.as_u16() / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        })
    }
}

/// An outcome of a login, refresh or token check: `ok` or the error code.
pub fn outcome(name: &'static str, result: Result<(), ErrorCode>) {
    let result = match result {
        Ok(()) => "ok",
        Err(code) => code.as_str(),
    };
    metrics::counter!(name, "result" => result).increment(1);
}

/// A refresh token replayed after its grace: the session was revoked as a precaution.
pub fn reuse_detected() {
    metrics::counter!("latchkey_refresh_reuse_detected_total").increment(1);
}

/// Every error answered, by code; the alerts (lockouts, storage faults) read these.
pub fn error(code: ErrorCode) {
    metrics::counter!("latchkey_errors_total", "code" => code.as_str()).increment(1);
    if code == ErrorCode::RateLimited {
        metrics::counter!("latchkey_lockouts_total").increment(1);
    }
    if code == ErrorCode::ServiceUnavailable {
        metrics::counter!("latchkey_unavailable_total").increment(1);
    }
}
