//! The HTTP edge: one route table, thin handlers, errors mapped in `error.rs`.

mod access;
mod account;
mod admin;
mod api_keys;
mod audit;
mod auth;
pub mod client_ip;
mod codes;
pub mod cors;
pub mod error;
pub mod extract;
mod forward;
pub mod limits;
mod meta;
pub mod metrics;
mod mfa;
mod oauth;
mod operator;
mod passwords;
mod phone;
mod refresh_cookie;
mod social;
pub mod socketio;
mod views;
pub mod ws;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, header};
use axum::routing::{any, delete, get, patch, post, put};
use latchkey_api::ErrorCode;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;

use crate::app::AppState;
use error::ApiError;

pub use meta::OPENAPI;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Every route, as `(method, path)`: the OpenAPI document is checked against this list.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/signup"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/logout-all"),
    ("post", "/api/v1/auth/exchange"),
    ("post", "/api/v1/auth/signup/complete"),
    ("get", "/api/v1/oauth/{provider}/start"),
    ("post", "/api/v1/oauth/{provider}/link"),
    ("post", "/api/v1/phone/verify/start"),
    ("post", "/api/v1/phone/verify"),
    ("get", "/api/v1/oauth/{provider}/callback"),
    ("post", "/api/v1/oauth/{provider}/callback"),
    ("post", "/api/v1/auth/code"),
    ("post", "/api/v1/auth/code/verify"),
    ("post", "/api/v1/auth/mfa/verify"),
    ("post", "/api/v1/mfa/totp/enroll"),
    ("post", "/api/v1/mfa/totp/confirm"),
    ("delete", "/api/v1/mfa/totp"),
    ("post", "/api/v1/auth/password/change"),
    ("post", "/api/v1/auth/password/forgot"),
    ("post", "/api/v1/auth/password/reset"),
    ("post", "/api/v1/auth/email/verify"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/ws"),
    ("get", "/api/v1/org"),
    ("get", "/api/v1/sessions"),
    ("delete", "/api/v1/sessions/{id}"),
    ("post", "/api/v1/api-keys"),
    ("get", "/api/v1/api-keys"),
    ("patch", "/api/v1/api-keys/{id}"),
    ("delete", "/api/v1/api-keys/{id}"),
    ("post", "/api/v1/api-keys/{id}/rotate"),
    ("post", "/get-token"),
    ("get", "/api/v1/authorize"),
    ("post", "/api/v1/authorize"),
    ("put", "/api/v1/authorize"),
    ("patch", "/api/v1/authorize"),
    ("delete", "/api/v1/authorize"),
    ("head", "/api/v1/authorize"),
    ("options", "/api/v1/authorize"),
    ("get", "/api/v1/authorize/{path}"),
    ("post", "/api/v1/authorize/{path}"),
    ("put", "/api/v1/authorize/{path}"),
    ("patch", "/api/v1/authorize/{path}"),
    ("delete", "/api/v1/authorize/{path}"),
    ("head", "/api/v1/authorize/{path}"),
    ("options", "/api/v1/authorize/{path}"),
    ("get", "/api/v1/admin/users"),
    ("delete", "/api/v1/admin/users/{id}"),
    ("put", "/api/v1/admin/users/{id}/scopes"),
    ("put", "/api/v1/admin/users/{id}/role"),
    ("put", "/api/v1/admin/users/{id}/disabled"),
    ("get", "/api/v1/admin/users/{id}/api-keys"),
    ("delete", "/api/v1/admin/users/{id}/api-keys/{key_id}"),
    ("delete", "/api/v1/admin/users/{id}/sessions"),
    ("get", "/api/v1/admin/audit"),
    ("get", "/api/v1/admin/signing-keys"),
    ("post", "/api/v1/admin/signing-keys/rotate"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
    ("post", "/oauth2/token"),
    ("post", "/oauth2/revoke"),
    ("post", "/oauth2/introspect"),
    ("get", "/.well-known/oauth-authorization-server"),
    ("get", "/.well-known/openid-configuration"),
    ("get", "/metrics"),
];

pub fn router(app: AppState) -> Router {
    metrics::init();
    let request_id = HeaderName::from_static("x-request-id");
    let api = Router::new()
        .route("/auth/signup", post(auth::signup))
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/logout-all", post(auth::logout_all))
        .route("/auth/exchange", post(social::exchange))
        .route("/auth/signup/complete", post(social::signup_complete))
        .route("/oauth/{provider}/start", get(social::start))
        .route("/oauth/{provider}/link", post(social::link))
        .route("/phone/verify/start", post(phone::start))
        .route("/phone/verify", post(phone::verify))
        .route(
            "/oauth/{provider}/callback",
            get(social::callback_get).post(social::callback_post),
        )
        .route("/auth/code", post(codes::send))
        .route("/auth/code/verify", post(codes::verify))
        .route("/auth/mfa/verify", post(mfa::verify))
        .route("/mfa/totp/enroll", post(mfa::enroll))
        .route("/mfa/totp/confirm", post(mfa::confirm))
        .route("/mfa/totp", delete(mfa::disable))
        .route("/auth/password/change", post(passwords::change))
        .route("/auth/password/forgot", post(passwords::forgot))
        .route("/auth/password/reset", post(passwords::reset))
        .route("/auth/email/verify", post(passwords::verify_email))
        .route("/me", get(account::me))
        .route("/ws", get(ws::connect))
        .route("/org", get(account::org))
        .route("/sessions", get(account::sessions))
        .route("/sessions/{id}", delete(account::delete_session))
        .route("/api-keys", post(api_keys::create).get(api_keys::list))
        .route(
            "/api-keys/{id}",
            patch(api_keys::update).delete(api_keys::delete),
        )
        .route("/api-keys/{id}/rotate", post(api_keys::rotate))
        .route("/authorize", any(forward::authorize))
        // Envoy's ext_authz appends the original path to its `path_prefix`.
        .route("/authorize/", any(forward::authorize))
        .route("/authorize/{*path}", any(forward::authorize))
        .route("/admin/users", get(admin::members))
        .route("/admin/users/{id}", delete(admin::remove))
        .route("/admin/users/{id}/scopes", put(admin::set_scopes))
        .route("/admin/users/{id}/role", put(admin::set_role))
        .route("/admin/users/{id}/disabled", put(admin::set_disabled))
        .route("/admin/users/{id}/api-keys", get(admin::api_keys))
        .route(
            "/admin/users/{id}/api-keys/{key_id}",
            delete(admin::revoke_api_key),
        )
        .route("/admin/users/{id}/sessions", delete(admin::revoke_sessions))
        .route("/admin/audit", get(audit::list))
        .route("/admin/signing-keys", get(operator::signing_keys))
        .route("/admin/signing-keys/rotate", post(operator::rotate));
    Router::new()
        .nest("/api/v1", api)
        .route("/get-token", post(api_keys::get_token))
        .route("/.well-known/jwks.json", get(meta::jwks))
        .route("/healthz", get(meta::healthz))
        .route("/readyz", get(meta::readyz))
        .route("/openapi.json", get(meta::openapi))
        .route("/oauth2/token", post(oauth::token))
        .route("/oauth2/revoke", post(oauth::revoke))
        .route("/oauth2/introspect", post(oauth::introspect))
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata),
        )
        .route("/.well-known/openid-configuration", get(oauth::metadata))
        .route("/metrics", get(metrics::render))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Socket.IO answers `/socket.io/` itself, before the route table.
        .layer(socketio::layer(&app))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(deadline))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(limits::request_line))
        .layer(axum::middleware::from_fn(header_limit))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            cors::cors,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            access::log,
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(axum::middleware::from_fn(access::plain_request_id))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            HeaderName::from_static("x-authorization"),
            HeaderName::from_static("x-api-key"),
            // Carries the token of a browser WebSocket.
            header::SEC_WEBSOCKET_PROTOCOL,
        ]))
        .with_state(app)
}

/// Largest accepted sum of request header names and values. Hyper's own limit is far higher
/// and answers without a body; this one answers in the error shape.
pub const HEADER_LIMIT: usize = 16 * 1024;

async fn header_limit(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let size: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if size > HEADER_LIMIT {
        return ApiError::new(
            ErrorCode::HeadersTooLarge,
            "the request headers exceed 16 KiB",
        )
        .into_response();
    }
    next.run(req).await
}

/// No request runs longer than `REQUEST_DEADLINE`; one that would gets a 503 in the error shape.
async fn deadline(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(REQUEST_DEADLINE, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(ErrorCode::ServiceUnavailable, "the request took too long")
            .into_response(),
    }
}

pub const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "method not allowed on this route",
    )
}
