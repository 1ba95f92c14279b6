//! The OpenAPI 3.1 document, generated from the route table: every operation is a handler's
//! `#[utoipa::path]`, registered with `routes!` in `http/mod.rs`, so a route cannot exist
//! without its documentation nor the other way round. What every route shares (400, 405, 413,
//! 414, 431, 500 from the checks on the request head; 408/422 for bodies; 401/403/503 for
//! authenticated routes) is added by [`complete`], so no operation can forget it. The error
//! rows a kind of route shares (public, user, admin, JSON body, OAuth form, forward-auth) are
//! named once as a set in [`responses`] and listed first in each operation's `responses(..)`.

use std::sync::LazyLock;

use serde_json::{Map, Value, json};
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::Ref;
use utoipa::openapi::{ContentBuilder, ObjectBuilder, RefOr, Response, ResponseBuilder, Type};
use utoipa::{OpenApi, ToResponse};

/// Defines a reusable error response: the error shape, the codes that can occur (one example
/// each) and the headers that come with it.
macro_rules! error_response {
    ($name:ident, $description:expr, headers: [$($header:expr),*], examples: [$(($ex:expr, $summary:expr, $value:expr)),* $(,)?]) => {
        pub struct $name;
        impl<'s> utoipa::ToResponse<'s> for $name {
            fn response() -> (&'s str, utoipa::openapi::RefOr<utoipa::openapi::Response>) {
                (
                    stringify!($name),
                    ErrorResponse {
                        description: $description,
                        headers: &[$($header),*],
                        examples: &[$(($ex, $summary, $value)),*],
                    }
                    .build()
                    .into(),
                )
            }
        }
    };
}

pub mod errors;
pub mod responses;

/// The headers an error response may carry.
#[derive(Clone, Copy)]
pub enum Header {
    CacheControl,
    Pragma,
    WwwAuthenticate,
    RetryAfter,
    /// The challenge of the OAuth endpoints for a refused client (RFC 6749 §5.2).
    BasicChallenge,
}

impl Header {
    fn build(self) -> (&'static str, utoipa::openapi::header::Header) {
        let (name, description, integer) = match self {
            Header::CacheControl => ("Cache-Control", "`no-store`.", false),
            Header::Pragma => ("Pragma", "`no-cache`.", false),
            Header::WwwAuthenticate => (
                "WWW-Authenticate",
                "RFC 6750 challenge, e.g. `Bearer realm=\"latchkey\", error=\"invalid_token\", error_description=\"the token has expired\"`.",
                false,
            ),
            Header::RetryAfter => (
                "Retry-After",
                "Seconds to wait before trying again (at least 1).",
                true,
            ),
            Header::BasicChallenge => (
                "WWW-Authenticate",
                "`Basic realm=\"latchkey\", charset=\"UTF-8\"`.",
                false,
            ),
        };
        let schema =
            ObjectBuilder::new().schema_type(if integer { Type::Integer } else { Type::String });
        (
            name,
            HeaderBuilder::new()
                .schema(Some(schema))
                .description(Some(description))
                .build(),
        )
    }
}

/// One error response in the documented shape (`ErrorBody`).
pub struct ErrorResponse {
    pub description: &'static str,
    pub headers: &'static [Header],
    /// `(name, summary, JSON value)`.
    pub examples: &'static [(&'static str, &'static str, &'static str)],
}

impl ErrorResponse {
    pub fn build(&self) -> Response {
        let examples = self.examples.iter().map(|(name, summary, value)| {
            let value: Value = serde_json::from_str(value).expect("an example is JSON");
            (
                *name,
                ExampleBuilder::new()
                    .summary(*summary)
                    .value(Some(value))
                    .build(),
            )
        });
        let content = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .examples_from_iter(examples)
            .build();
        let mut response = ResponseBuilder::new()
            .description(self.description)
            .content("application/json", content);
        for header in self.headers {
            let (name, header) = header.build();
            response = response.header(name, header);
        }
        response.build()
    }
}

// Responses every route shares, added by `complete`.
error_response!(MethodNotAllowed, "`method_not_allowed`: the route exists but not with this method.",
    headers: [Header::CacheControl],
    examples: [("method_not_allowed", "The route exists but not with this method.",
        r#"{"status": "failed", "code": 405, "error": "method_not_allowed", "message": "method not allowed on this route", "data": {}}"#)]);
error_response!(BadPath, "`invalid_request`: the path has a percent-escape that is malformed or not UTF-8.",
    headers: [Header::CacheControl],
    examples: [("invalid_request", "A malformed percent-escape in the path.",
        r#"{"status": "failed", "code": 400, "error": "invalid_request", "message": "the path has a percent-escape that is malformed or not UTF-8", "data": {}}"#)]);
error_response!(UrlTooLong, "`uri_too_long`: the URL is longer than 8 KiB.",
    headers: [Header::CacheControl],
    examples: [("uri_too_long", "The URL is longer than 8 KiB.",
        r#"{"status": "failed", "code": 414, "error": "uri_too_long", "message": "the URL is longer than 8 KiB", "data": {}}"#)]);
error_response!(HeadersTooLarge, "`headers_too_large`: the request headers exceed 16 KiB or 100 lines.",
    headers: [Header::CacheControl],
    examples: [("headers_too_large", "The request headers exceed 16 KiB.",
        r#"{"status": "failed", "code": 431, "error": "headers_too_large", "message": "the request headers exceed 16 KiB", "data": {}}"#)]);
error_response!(RequestTimeout, "`request_timeout`: the body did not arrive whole in time (20 seconds by default).",
    headers: [Header::CacheControl],
    examples: [("request_timeout", "The body did not arrive in time.",
        r#"{"status": "failed", "code": 408, "error": "request_timeout", "message": "the request body did not arrive in time", "data": {}}"#)]);
error_response!(Unprocessable, "A well-formed value that is refused: `invalid_email`, `weak_password`, `unknown_scope` or `unknown_referral_code`, where the operation reads such a value.",
    headers: [Header::CacheControl],
    examples: [("weak_password", "The password breaks the policy.",
        r#"{"status": "failed", "code": 422, "error": "weak_password", "message": "the password must be at least 8 characters", "data": {}}"#)]);
error_response!(Unavailable, "`service_unavailable`: the service is overloaded, the request took longer than 30 seconds, or Redis or the database is unreachable; retry after `Retry-After` seconds.",
    headers: [Header::CacheControl, Header::RetryAfter],
    examples: [("service_unavailable", "Storage unreachable.",
        r#"{"status": "failed", "code": 503, "error": "service_unavailable", "message": "the service is temporarily unavailable", "data": {}}"#)]);

/// The parts of the document that are not operations: info, tags, and the wire types that
/// every error names.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey",
        description = include_str!("description.md"),
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "/")),
    paths(socket_io, swagger_ui),
    // The error shape, and the types only the hand-ported schemas of `components.json` name.
    components(schemas(
        latchkey_api::ErrorBody,
        latchkey_api::ErrorCode,
        latchkey_api::MfaRequiredResponse,
        latchkey_api::SignupRequiredResponse
    )),
    tags(
        (name = "auth", description = "Sign-up, login, refresh, logout."),
        (name = "account", description = "The caller's own account."),
        (name = "sessions", description = "The caller's sessions."),
        (name = "api-keys", description = "API keys and the auth tokens minted from them."),
        (name = "admin", description = "Organization admins manage their members and read their organization's audit log."),
        (name = "operator", description = "Deployment operators (granted on the server's command line) manage the signing keys."),
        (name = "forward-auth", description = "Token and scope checks for a reverse proxy in front of other APIs."),
        (name = "meta", description = "Discovery and probes."),
        (name = "sign-in", description = "Sign-in and sign-up with Google, Microsoft or another OpenID provider."),
        (name = "phone", description = "Proving the phone number on the account."),
        (name = "oauth", description = "OAuth 2.0: token, revocation and introspection endpoints, authorization-server metadata."),
        (name = "mfa", description = "Two-factor authentication (TOTP and recovery codes)."),
        (name = "docs", description = "This document and its browsable form.")
    )
)]
pub struct ApiDoc;

/// Socket.IO answers this path itself, in a layer before the route table; documented here so
/// clients find it. Not called.
#[utoipa::path(
    get,
    path = "/socket.io/",
    tag = "account",
    operation_id = "socketIo",
    summary = "Socket.IO: session events for the signed-in user",
    description = "The Engine.IO/Socket.IO v4 endpoint (polling and WebSocket transports). The client authenticates in the connect packet's auth payload with `{\"token\": \"<access token>\"}`; a connection without a valid token is refused at connect. Events mirror `/api/v1/ws`: the session's revocation and the user's changes.",
    params(
        ("EIO" = String, Query, description = "Engine.IO protocol version: `4`."),
        ("transport" = String, Query, description = "`polling` or `websocket`."),
    ),
    responses(
        (status = 101, description = "Switched to WebSocket (`transport=websocket`)."),
        (status = 200, description = "An Engine.IO polling answer (`transport=polling`).", body = String, content_type = "text/plain"),
        (status = 400, description = "Not a valid Engine.IO request."),
    )
)]
#[expect(dead_code, reason = "documents a route that socketioxide serves")]
async fn socket_io() {}

/// Swagger UI is served by its own router (`SwaggerUi`), merged beside the route table.
#[utoipa::path(
    get,
    path = "/docs/",
    tag = "docs",
    operation_id = "docs",
    summary = "Browse this document (Swagger UI)",
    description = "An HTML page that renders `/openapi.json`; its scripts and styles are served by Latchkey under `/docs/`, nothing from elsewhere. `/docs` redirects here.",
    responses((status = 200, description = "The page.", body = String, content_type = "text/html"))
)]
#[expect(dead_code, reason = "documents the page that SwaggerUi serves")]
async fn swagger_ui() {}

/// Hand-ported schemas of bodies the handlers build as JSON (OAuth, JWKS) and the security schemes.
const COMPONENTS: &str = include_str!("components.json");

/// The document as served at `/openapi.json` and printed by `latchkey openapi`.
pub fn json() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        let (_, doc) = super::routes().split_for_parts();
        let mut doc = serde_json::to_value(doc).expect("the document serializes");
        complete(&mut doc);
        serde_json::to_string_pretty(&doc).expect("the document serializes")
    });
    &DOCUMENT
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn response<'s, R: ToResponse<'s>>() -> Value {
    match R::response().1 {
        RefOr::T(r) => serde_json::to_value(r).expect("a response serializes"),
        RefOr::Ref(_) => unreachable!("error responses are built inline"),
    }
}

/// Adds what every operation shares, the hand-ported components, and unique operation ids for
/// operations that serve several methods.
fn complete(doc: &mut Value) {
    let extra: Map<String, Value> = serde_json::from_str(COMPONENTS).expect("components.json");
    let components = doc["components"]
        .as_object_mut()
        .expect("the document has components");
    for (section, entries) in extra {
        let target = components
            .entry(section)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a components section is an object");
        for (name, value) in entries.as_object().expect("a section is an object") {
            target.insert(name.clone(), value.clone());
        }
    }

    // axum's catch-all `{*path}` is OpenAPI's plain `{path}` (its description says it may
    // hold further `/`).
    let paths = doc["paths"]
        .as_object_mut()
        .expect("the document has paths");
    *paths = std::mem::take(paths)
        .into_iter()
        .map(|(path, item)| (path.replace("{*", "{"), item))
        .collect();
    for (path, item) in paths.iter_mut() {
        if path == "/socket.io/" {
            // Answered by Socket.IO itself, not by the route table and its limits.
            continue;
        }
        let item = item.as_object_mut().expect("a path item is an object");
        let ids: Vec<Value> = METHODS
            .iter()
            .filter_map(|m| item.get(*m).map(|op| op["operationId"].clone()))
            .collect();
        for method in METHODS {
            let Some(op) = item.get_mut(method) else {
                continue;
            };
            let shared = ids.iter().filter(|id| **id == op["operationId"]).count() > 1;
            if shared && let Some(Value::String(id)) = op.get_mut("operationId") {
                // One handler documented for several methods has one id; OpenAPI wants one per
                // operation.
                let mut m = method.to_owned();
                m[..1].make_ascii_uppercase();
                if !id.ends_with(&m) {
                    id.push_str(&m);
                }
            }
            let has_body = op.get("requestBody").is_some();
            let json_body = op["requestBody"]["content"]
                .get("application/json")
                .is_some();
            // An operation whose every alternative is empty (`{}`) needs no credential.
            let authenticated = op["security"].as_array().is_some_and(|reqs| {
                reqs.iter()
                    .any(|r| r.as_object().is_some_and(|m| !m.is_empty()))
            });
            // A user's or an API key's token: the account may be disabled or lack a scope
            // (403). An OAuth client's key is refused as `invalid_client` (401) instead.
            let token = op["security"].as_array().is_some_and(|reqs| {
                reqs.iter().any(|r| {
                    ["bearerAuth", "agentAuth", "accessTokenQuery"]
                        .iter()
                        .any(|scheme| r.get(scheme).is_some())
                })
            });
            let responses = op["responses"]
                .as_object_mut()
                .expect("an operation has responses");
            let mut add = |status: &str, response: Value| {
                responses.entry(status).or_insert(response);
            };
            if has_body {
                add("400", response::<errors::InvalidRequest>());
                // JSON bodies must say so (`http/extract.rs`); form bodies keep their type.
                if json_body {
                    add("415", response::<errors::UnsupportedMediaType>());
                }
                add("408", response::<RequestTimeout>());
                add("422", response::<Unprocessable>());
            }
            // The request line and head are checked before any route (`http/limits.rs`): a
            // malformed path, a declared body over the limit, a long URL, large headers.
            add("400", response::<BadPath>());
            add("405", response::<MethodNotAllowed>());
            add("413", response::<errors::PayloadTooLarge>());
            add("414", response::<UrlTooLong>());
            add("431", response::<HeadersTooLarge>());
            add("500", response::<errors::InternalError>());
            if authenticated {
                add("401", response::<errors::Unauthorized>());
                if token {
                    add("403", response::<errors::Forbidden>());
                }
                // Every authenticated request reads the state store.
                add("503", response::<Unavailable>());
            }
        }
    }
}
