//! The HTTP edge: one route table, thin handlers, errors mapped in `error.rs`.

mod access;
mod account;
mod admin;
pub(crate) mod answers;
mod api_keys;
pub(crate) mod audit;
mod auth;
pub(crate) mod cache;
pub mod client_ip;
mod codes;
pub(crate) mod cookies;
pub mod cors;
mod device_cookie;
pub mod error;
pub mod extract;
mod forward;
mod forward_query;
mod identities;
pub mod limits;
mod link_page;
mod meta;
pub mod metrics;
mod mfa;
mod oauth;
pub mod openapi;
mod operator;
mod passwords;
mod phone;
mod profile;
mod refresh_cookie;
mod social;
pub(crate) mod social_cookies;
pub mod socketio;
mod views;
pub mod ws;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, header};
use latchkey_api::ErrorCode;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

pub use crate::limits::{BODY_LIMIT, REQUEST_DEADLINE};
use crate::state::AppState;
use error::ApiError;

/// The route table. Each handler's `#[utoipa::path]` gives its method, path and documentation,
/// and `routes!` registers it from that very attribute: the OpenAPI document and the router come
/// from here together. A route added with plain `.route` would be undocumented: don't.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .routes(routes!(auth::signup))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::logout_all))
        .routes(routes!(social::exchange))
        .routes(routes!(social::signup_complete))
        .routes(routes!(social::start))
        .routes(routes!(social::link))
        .routes(routes!(social::link_confirm))
        .routes(routes!(phone::start))
        .routes(routes!(phone::verify))
        .routes(routes!(social::callback_get, social::callback_post))
        .routes(routes!(codes::send))
        .routes(routes!(codes::verify))
        .routes(routes!(mfa::verify))
        .routes(routes!(mfa::enroll))
        .routes(routes!(mfa::confirm))
        .routes(routes!(mfa::disable))
        .routes(routes!(passwords::change))
        .routes(routes!(passwords::forgot))
        .routes(routes!(passwords::reset))
        .routes(routes!(passwords::verify_email))
        .routes(routes!(account::me, profile::update, profile::delete))
        .routes(routes!(profile::request_email_change))
        .routes(routes!(profile::confirm_email_change))
        .routes(routes!(profile::resend_verification))
        .routes(routes!(profile::regenerate_recovery_codes))
        .routes(routes!(ws::connect))
        .routes(routes!(account::org))
        .routes(routes!(account::sessions, account::delete_other_sessions))
        .routes(routes!(account::delete_session))
        .routes(routes!(identities::reauthenticate))
        .routes(routes!(identities::list))
        .routes(routes!(identities::delete))
        .routes(routes!(api_keys::create, api_keys::list))
        .routes(routes!(api_keys::update, api_keys::delete))
        .routes(routes!(api_keys::rotate))
        .routes(any_method(
            routes!(forward::authorize_root),
            forward::authorize_root,
        ))
        .routes(any_method(
            routes!(forward::authorize_slash),
            forward::authorize_slash,
        ))
        .routes(any_method(
            routes!(forward::authorize_path),
            forward::authorize_path,
        ))
        .routes(routes!(admin::members))
        .routes(routes!(admin::remove))
        .routes(routes!(admin::set_scopes))
        .routes(routes!(admin::set_role))
        .routes(routes!(admin::set_disabled))
        .routes(routes!(admin::api_keys))
        .routes(routes!(admin::revoke_api_key))
        .routes(routes!(admin::revoke_sessions))
        .routes(routes!(admin::regenerate_referral_code))
        .routes(routes!(admin::scope_catalogue))
        .routes(routes!(audit::list))
        .routes(routes!(operator::signing_keys))
        .routes(routes!(operator::rotate));
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", api)
        .routes(routes!(api_keys::get_token))
        .routes(routes!(meta::jwks))
        .routes(routes!(meta::healthz))
        .routes(routes!(meta::readyz))
        .routes(routes!(meta::openapi))
        .routes(routes!(oauth::token))
        .routes(routes!(oauth::revoke))
        .routes(routes!(oauth::introspect))
        .routes(routes!(oauth::metadata))
        .routes(routes!(oauth::openid_configuration))
        .routes(routes!(meta::metrics))
}

/// Forward-auth answers for whatever method the proxy uses: the documented methods route
/// through `routes!`, the rest (CONNECT, extension methods) through the method fallback.
fn any_method<H, T>(
    (schemas, paths, methods): UtoipaMethodRouter<AppState>,
    handler: H,
) -> UtoipaMethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    (schemas, paths, methods.fallback(handler))
}

/// The OpenAPI document of [`routes`], as served at `/openapi.json`.
pub fn openapi_json() -> &'static str {
    openapi::json()
}

/// The whole service: the JSON API and its docs, with `pages` (the server-rendered pages, built
/// by the web layer above this one) merged in under the same middleware.
pub fn router(app: AppState, pages: Router<AppState>) -> Router {
    metrics::init();
    let request_id = HeaderName::from_static("x-request-id");
    let (routes, _) = routes().split_for_parts();
    // Swagger UI's page and assets, all served from the binary (`vendored`), none from a CDN;
    // its default validator badge would load from an outside host, so it is off.
    let swagger = SwaggerUi::new("/docs")
        .config(utoipa_swagger_ui::Config::from("/openapi.json").validator_url("none"));
    routes
        .merge(swagger)
        .merge(pages)
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

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "method not allowed on this route",
    )
}
