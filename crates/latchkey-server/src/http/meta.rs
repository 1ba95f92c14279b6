//! Discovery and probes.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_api::{ErrorCode, Health};

use super::error::ApiError;
use crate::state::AppState;

/// The process is up. Touches nothing: this is also the bench tool's bare route.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    operation_id = "healthz",
    summary = "Liveness: the process is up",
    responses(
        (status = 200, description = r#"Always `{"status": "ok"}`."#, body = latchkey_api::Health)
    )
)]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Storage answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "meta",
    operation_id = "readyz",
    summary = "Readiness: storage answers",
    responses(
        (status = 200, description = r#"`{"status": "ok"}`."#, body = latchkey_api::Health),
        (status = 503, description = r#"`{"status": "unavailable"}`: storage does not answer."#, body = latchkey_api::Health)
    )
)]
pub async fn readyz(State(app): State<AppState>) -> Response {
    match app.auth.ready().await {
        Ok(()) => Json(Health {
            status: "ok".into(),
        })
        .into_response(),
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable".into(),
                }),
            )
                .into_response()
        }
    }
}

#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "meta",
    operation_id = "jwks",
    summary = "The public keys that verify access tokens",
    description = "Ed25519 keys (RFC 8037). Access tokens name their key in the `kid` header.",
    responses(
        (status = 200, description = "The key set.", body = ref("#/components/schemas/JWKS"), headers(("Cache-Control" = String, description = "`public, max-age=300`.")))
    )
)]
pub async fn jwks(State(app): State<AppState>) -> Response {
    let mut r = Json(app.auth.jwks()).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    operation_id = "openapi",
    summary = "This document",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", body = ref("#/components/schemas/OpenapiResponse200"))
    )
)]
pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::openapi::json(),
    )
        .into_response()
}

/// `GET /metrics`: the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "meta",
    operation_id = "metrics",
    summary = "Prometheus metrics",
    description = "The Prometheus text format: `latchkey_http_requests_total{method,route,status}` and `latchkey_http_request_duration_seconds{method,route}` (standard methods by name, any other `other`; route templates, unknown paths `unmatched`: no request adds a series), `latchkey_logins_total{result}`, `latchkey_refreshes_total{result}`, `latchkey_token_checks_total{result}` (`ok` or the error code), `latchkey_refresh_reuse_detected_total`, `latchkey_lockouts_total` (answers `rate_limited`), `latchkey_unavailable_total` (answers 503: Redis or the database unreachable, or overload) and `latchkey_errors_total{code}`.",
    responses(
        (status = 200, description = "The metrics.", body = String, content_type = "text/plain")
    )
)]
pub async fn metrics() -> Response {
    let Some(text) = super::metrics::render() else {
        return ApiError::new(ErrorCode::NotFound, "metrics are not recorded").into_response();
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
