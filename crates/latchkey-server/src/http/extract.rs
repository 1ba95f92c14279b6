//! Extractors: JSON bodies with errors in the documented shape, the bearer token, the caller.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use latchkey_api::ErrorCode;
use latchkey_core::ClientInfo;
use latchkey_core::auth::Principal;
use latchkey_core::secret::Secret;
use serde::de::DeserializeOwned;

pub use super::cookies::cookie;
use super::error::ApiError;
use crate::state::AppState;

/// A JSON body. Malformed JSON, missing fields and wrong types are `invalid_request` (400), an
/// oversized body `payload_too_large` (413), a body not declared as JSON
/// `unsupported_media_type` (415) — never axum's plain-text defaults.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T>
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let declared = declared_json(req.headers());
        let bytes = read_body(req, state).await?;
        // No body at all says what is missing (`a JSON body is required`); a body must be JSON.
        if !bytes.iter().all(u8::is_ascii_whitespace) {
            declared?;
        }
        parse_json(&bytes).map(ApiJson)
    }
}

/// A JSON body that may be absent (empty or only whitespace). A body that is there must be
/// declared as JSON, as for [`ApiJson`]; an absent one needs no type.
pub struct MaybeJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for MaybeJson<T>
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let declared = declared_json(req.headers());
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(MaybeJson(None));
        }
        declared?;
        parse_json(&bytes).map(|v| MaybeJson(Some(v)))
    }
}

/// Refuses a body not declared as JSON: `application/json` or `application/<name>+json`, with
/// no charset or UTF-8 (the only one JSON has, RFC 8259 §8.1). Login CSRF: a cross-site form or
/// a `no-cors` fetch sends `text/plain`, a form type or no type at all without a preflight, and
/// the body parser alone would take the JSON inside; a page can send `application/json` to
/// another origin only after CORS allowed it.
fn declared_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let refused = || {
        ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the body must be sent as Content-Type: application/json",
        )
    };
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(refused());
    };
    let value = value.to_str().map_err(|_| refused())?;
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let json = essence == "application/json"
        || essence
            .strip_prefix("application/")
            .and_then(|sub| sub.strip_suffix("+json"))
            .is_some_and(|name| !name.is_empty() && !name.contains('/'));
    let utf8 = parts.all(|param| match param.split_once('=') {
        Some((name, charset)) if name.trim().eq_ignore_ascii_case("charset") => {
            let charset = charset.trim().trim_matches('"');
            charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    });
    if json && utf8 { Ok(()) } else { Err(refused()) }
}

/// The whole body, which must arrive within `body_read_timeout`: a client trickling bytes would
/// otherwise hold a connection and a task for as long as it likes.
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError>
where
    AppState: FromRef<S>,
{
    let limit = AppState::from_ref(state).config.body_read_timeout;
    let read = tokio::time::timeout(limit, Bytes::from_request(req, state));
    let Ok(read) = read.await else {
        return Err(ApiError::new(
            ErrorCode::RequestTimeout,
            "the request body did not arrive in time",
        ));
    };
    read.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                "the request body is larger than 1 MiB",
            )
        } else {
            ApiError::invalid_request("the request body could not be read")
        }
    })
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Request bodies are objects; serde would also fill a struct from an array by position.
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(ApiError::invalid_request("a JSON body is required")),
        Some(b'{') => {}
        Some(_) => return Err(ApiError::invalid_request("the body must be a JSON object")),
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::invalid_request(describe(&e)))
}

/// serde's message without the rejected value: it may be a secret sent in the wrong type.
fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let text = e.to_string();
    let text = text.split(" at line ").next().unwrap_or_default();
    let what = match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => "malformed JSON".to_owned(),
        Category::Data
            if text.starts_with("missing field") || text.starts_with("unknown field") =>
        {
            // Names the field only (and the allowed ones), never a value.
            format!("invalid field: {text}")
        }
        Category::Data => match text.split_once(", expected ") {
            Some((_, expected)) => {
                format!("invalid field: wrong type or value, expected {expected}")
            }
            None => "invalid field: wrong type or value".to_owned(),
        },
    };
    format!("{what} (line {}, column {})", e.line(), e.column())
}

/// The token of `Authorization: Bearer <token>`, if any. Another scheme is an error, not absence.
pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidToken,
            "the Authorization header is not valid text",
        )
    })?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::new(
            ErrorCode::InvalidToken,
            "the Authorization header must use the Bearer scheme",
        ));
    }
    let token = token.trim();
    if token.is_empty() {
        return Ok(None);
    }
    Ok(Some(token))
}

/// The credential of a request: `Authorization: Bearer <token>` or, for auth tokens from
/// `/get-token`, `x-authorization: Agent <token>`, plus the optional `x-api-key`. A scheme in
/// the wrong header is refused, not ignored, so a mix-up gets a clear message.
pub fn credential(parts: &Parts) -> Result<Option<(&str, Option<&str>)>, ApiError> {
    let text = |name: &str| -> Result<Option<&str>, ApiError> {
        parts
            .headers
            .get(name)
            .map(|v| {
                v.to_str().map_err(|_| {
                    ApiError::new(
                        ErrorCode::InvalidToken,
                        format!("the {name} header is not valid text"),
                    )
                })
            })
            .transpose()
    };
    let api_key = text("x-api-key")?.map(str::trim).filter(|k| !k.is_empty());
    if let Some(value) = text("x-authorization")? {
        let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("agent") {
            return Err(ApiError::new(
                ErrorCode::InvalidToken,
                "x-authorization takes the Agent scheme: `x-authorization: Agent <auth_token>`",
            ));
        }
        let token = token.trim();
        return Ok((!token.is_empty()).then_some((token, api_key)));
    }
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or("");
        if value
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("agent ")
        {
            return Err(ApiError::new(
                ErrorCode::InvalidToken,
                "the Agent scheme goes in x-authorization; Authorization takes Bearer",
            ));
        }
    }
    Ok(bearer(&parts.headers)?.map(|t| (t, api_key)))
}

/// The caller of a protected route: a user's access token of a live session, or an API auth
/// token of a live key — with the scopes they hold now.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let (token, api_key) = credential(parts)?
            .ok_or_else(|| ApiError::new(ErrorCode::MissingToken, "an access token is required"))?;
        let mut principal = authenticate(app, token, api_key).await?;
        // Where the caller is, for the audit log of what they change.
        principal.client = Client::from_request_parts(parts, app).await?.0;
        Ok(Caller(principal))
    }
}

/// Checks a credential (a token, and the API key sent beside it) and counts the check in
/// `latchkey_token_checks_total`: `ok` or the error code. Protected routes and forward-auth alike.
pub async fn authenticate(
    app: &AppState,
    token: &str,
    api_key: Option<&str>,
) -> Result<Principal, ApiError> {
    let checked = app
        .auth
        .authenticate(token, api_key)
        .await
        .map_err(ApiError::from);
    super::metrics::outcome(
        "latchkey_token_checks_total",
        checked.as_ref().map(|_| ()).map_err(|e| e.code),
    );
    checked
}

/// Where the request came from: the socket peer, or, when the peer is a trusted proxy, the
/// address the proxies forwarded (see `client_ip`).
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let ip = client_ip(&parts.headers, &parts.extensions, app).map_err(|_| {
            // Every per-address limit reads this: no address, no request.
            ApiError::invalid_request(
                "the Forwarded and X-Forwarded-For headers name different clients",
            )
        })?;
        Ok(Client(ClientInfo {
            ip: ip.map(|ip| ip.to_string()),
            user_agent,
            device: super::device_cookie::read(&parts.headers).map(Secret::new),
        }))
    }
}

/// The client address of a request, `None` only when the server was not told its peer; an
/// error when the forwarding headers contradict each other.
pub fn client_ip(
    headers: &HeaderMap,
    extensions: &Extensions,
    app: &AppState,
) -> Result<Option<IpAddr>, super::client_ip::Conflict> {
    let Some(ConnectInfo(peer)) = extensions.get::<ConnectInfo<SocketAddr>>() else {
        return Ok(None);
    };
    super::client_ip::resolve(headers, peer.ip(), &app.trusted_proxies).map(Some)
}

/// A path parameter whose rejection (an escape that is not UTF-8, a value of the wrong type)
/// is `invalid_request` in the error shape, not axum's plain text.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) if rejection.status().is_server_error() => {
                tracing::error!(error = %rejection.body_text(), "path parameters do not fit the route");
                Err(ApiError::new(ErrorCode::InternalError, "internal error"))
            }
            Err(_) => Err(ApiError::invalid_request(
                "the path is not valid: a parameter is not valid percent-encoded UTF-8 or has the wrong form",
            )),
        }
    }
}
