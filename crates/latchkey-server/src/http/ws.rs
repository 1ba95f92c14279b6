//! `GET /api/v1/ws`: a WebSocket of session events, authorized before the upgrade.
//!
//! Browsers cannot set `Authorization` on a WebSocket, so the token is also taken from the
//! query (`?access_token=…`, or the bare `?<token>`) or from `Sec-WebSocket-Protocol:
//! access_token, <token>`. A refused token is answered with 401 in the error shape and no
//! upgrade. Once open, the socket is checked every `socket_check_interval` against the shared
//! store, and at once when a revocation of its session is announced (Redis pub/sub across
//! instances), warned before its token expires, renewed
//! in-band with `{"type":"auth","access_token":…}` (same user only), and closed with 4001 at
//! expiry without renewal or 4003 when the session ends.

use super::openapi::{errors, responses};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use latchkey_api::ErrorCode;
use latchkey_core::auth::{LiveEvent, LiveSession};
use latchkey_core::clock::rfc3339_ms;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::extract::bearer;
use crate::state::AppState;

/// Close codes: the token expired without renewal; the session was revoked.
pub const CLOSE_EXPIRED: u16 = 4001;
pub const CLOSE_REVOKED: u16 = 4003;
/// The standard "try again later": the store cannot confirm the session now.
const CLOSE_TRY_LATER: u16 = 1013;
/// The standard "going away": the server is shutting down.
const CLOSE_GOING_AWAY: u16 = 1001;
/// The subprotocol that carries the token as the next offered protocol.
pub const TOKEN_PROTOCOL: &str = "access_token";
/// Client messages are small JSON objects.
const MAX_MESSAGE: usize = 64 * 1024;
const SOCKET_BUFFER: usize = 4 * 1024;

#[utoipa::path(
    get,
    path = "/ws",
    tag = "account",
    operation_id = "sessionEvents",
    summary = "WebSocket of session events",
    description = "Authorized before the upgrade: a missing, invalid or expired token is refused with 401 in the error shape and no WebSocket is opened; an API auth token is refused with 403. A request without `Upgrade: websocket` is 400.",
    security(("bearerAuth" = []), ("accessTokenQuery" = [])),
    params(
        ("access_token" = Option<String>, Query, description = "The user's access token. The bare form `?<token>` is accepted too, and so are `Sec-WebSocket-Protocol: access_token, <token>` (the server then selects `access_token`) and `Authorization: Bearer`. Exactly one of these places.")
    ),
    responses(
        responses::UserRoute,
        (status = 101, description = r#"Switched to the WebSocket protocol. The server sends JSON text messages: `ready` {user_id, session_id, scopes, expires_at} first; `token_expiring` {expires_at, expires_in} shortly before the token expires (a minute, or a quarter of the token's lifetime when shorter); `scopes_changed` {scopes}; `token_expired` then close code 4001 at expiry without renewal; `session_revoked` then close code 4003 when the session ends (logout on any instance, disabled account). The client may send `{"type":"auth","access_token":…}` with a valid token of the same user to renew (answered `auth_ok` {session_id, scopes, expires_at} or `auth_error` {error, message}, keeping the current token) and `{"type":"ping"}` (answered `pong`). Close code 1013 means the session could not be checked (storage unavailable): reconnect; 1001 means the server is shutting down."#),
        (status = 400, response = inline(errors::InvalidRequest)),
        (status = 403, response = inline(errors::SessionRequired))
    )
)]
pub async fn connect(
    State(app): State<AppState>,
    WsToken(token): WsToken,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let token = token.ok_or_else(|| {
        ApiError::new(
            ErrorCode::MissingToken,
            "an access token is required: ?access_token=…, Sec-WebSocket-Protocol or Authorization",
        )
    })?;
    let live = app.auth.open_live(&token).await?;
    let mut upgrade = upgrade.map_err(|_| {
        ApiError::invalid_request(
            "this route takes a WebSocket upgrade (GET with Upgrade: websocket)",
        )
    })?;
    if upgrade
        .requested_protocols()
        .any(|p| p.as_bytes() == TOKEN_PROTOCOL.as_bytes())
    {
        upgrade.set_selected_protocol(HeaderValue::from_static(TOKEN_PROTOCOL));
    }
    Ok(upgrade
        // The library's 128 KiB default read buffer, allocated per socket, was most of a
        // socket's memory; these messages are small.
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| serve_socket(app, socket, live)))
}

/// The token of a WebSocket request, from exactly one place.
pub struct WsToken(Option<String>);

impl FromRequestParts<AppState> for WsToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let mut found: Vec<String> = Vec::new();
        if let Some(t) = bearer(&parts.headers)? {
            found.push(t.to_owned());
        }
        if let Some(t) = from_protocols(&parts.headers) {
            found.push(t);
        }
        if let Some(t) = from_query(parts.uri.query())? {
            found.push(t);
        }
        if found.len() > 1 {
            return Err(ApiError::invalid_request(
                "send the token in one place only: the query, Sec-WebSocket-Protocol or Authorization",
            ));
        }
        Ok(WsToken(found.pop()))
    }
}

/// `Sec-WebSocket-Protocol: access_token, <token>`: the protocol after `access_token`.
fn from_protocols(headers: &axum::http::HeaderMap) -> Option<String> {
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let at = offered.iter().position(|p| *p == TOKEN_PROTOCOL)?;
    offered
        .get(at + 1)
        .filter(|t| !t.is_empty())
        .map(|t| (*t).to_owned())
}

/// `?access_token=<token>` or the bare `?<token>`.
fn from_query(query: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    let uri: axum::http::Uri = format!("/?{query}")
        .parse()
        .map_err(|_| ApiError::invalid_request("the query string is not valid"))?;
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map_err(|_| ApiError::invalid_request("the query string is not valid"))?;
    if let Some((_, token)) = pairs.iter().find(|(k, _)| k == "access_token") {
        return Ok((!token.is_empty()).then(|| token.clone()));
    }
    // The bare form: the whole query is the token (a JWT has no `=` or `&`).
    match pairs.as_slice() {
        [(token, value)] if value.is_empty() && !query.contains('=') => Ok(Some(token.clone())),
        _ => Ok(None),
    }
}

/// A message from the client.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Auth { access_token: String },
    Ping,
}

async fn serve_socket(app: AppState, mut socket: WebSocket, mut live: LiveSession) {
    let _counted = super::metrics::LiveSocket::open(super::metrics::WEBSOCKET);
    let mut closing = app.closing.subscribe();
    let mut revoked = app.auth.revocation_events();
    let ready = json!({
        "type": "ready",
        "user_id": live.principal.user_id,
        "session_id": live.principal.session_id(),
        "scopes": live.principal.scopes,
        "expires_at": rfc3339_ms(live.expires_at_ms),
    });
    if send(&mut socket, &ready).await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(app.config.socket_check_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end: Option<(u16, &'static str)> = loop {
        tokio::select! {
            () = crate::serve::stopped(&mut closing) => break Some((CLOSE_GOING_AWAY, "server shutting down")),
            _ = tick.tick() => match check(&app, &mut socket, &mut live).await {
                Ok(None) => {}
                Ok(Some(end)) => break Some(end),
                Err(()) => break None,
            },
            // A revocation announced on any instance: check at once instead of at the tick.
            event = revoked.recv() => {
                let ours = match &event {
                    Ok(sid) => live.principal.session_id() == Some(sid.as_str()),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        break Some((CLOSE_GOING_AWAY, "server shutting down"));
                    }
                };
                if ours {
                    match check(&app, &mut socket, &mut live).await {
                        Ok(None) => {}
                        Ok(Some(end)) => break Some(end),
                        Err(()) => break None,
                    }
                }
            }
            received = socket.recv() => match received {
                Some(Ok(Message::Text(text))) => {
                    let reply = on_message(&app, &mut live, text.as_str()).await;
                    if send(&mut socket, &reply).await.is_err() {
                        break None;
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let reply = error_message("invalid_request", "messages are JSON text");
                    if send(&mut socket, &reply).await.is_err() {
                        break None;
                    }
                }
                // Pings are answered by the library; a close or an error ends the socket.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => break None,
            },
        }
    };
    if let Some((code, reason)) = end {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = socket.send(Message::Close(Some(frame))).await;
    }
}

/// One periodic check: events to send, and the close code when the socket must end.
async fn check(
    app: &AppState,
    socket: &mut WebSocket,
    live: &mut LiveSession,
) -> Result<Option<(u16, &'static str)>, ()> {
    let events = match app.auth.check_live(live).await {
        Ok(events) => events,
        // Unsure is not live: the client reconnects and is checked afresh.
        Err(e) => {
            super::metrics::store_error(&e);
            tracing::warn!(error = %e, "a WebSocket's session could not be checked; closing it");
            return Ok(Some((
                CLOSE_TRY_LATER,
                "session check unavailable, reconnect",
            )));
        }
    };
    for event in events {
        let (message, end) = match event {
            LiveEvent::Expiring { expires_at_ms } => {
                let now = app.auth.clock().now_ms();
                let message = json!({
                    "type": "token_expiring",
                    "expires_at": rfc3339_ms(expires_at_ms),
                    "expires_in": (expires_at_ms - now).max(0) / 1000,
                });
                (message, None)
            }
            LiveEvent::ScopesChanged { scopes } => {
                (json!({"type": "scopes_changed", "scopes": scopes}), None)
            }
            LiveEvent::Expired => (
                json!({"type": "token_expired"}),
                Some((CLOSE_EXPIRED, "token expired")),
            ),
            LiveEvent::Revoked => (
                json!({"type": "session_revoked"}),
                Some((CLOSE_REVOKED, "session revoked")),
            ),
        };
        send(socket, &message).await?;
        if end.is_some() {
            return Ok(end);
        }
    }
    Ok(None)
}

async fn on_message(app: &AppState, live: &mut LiveSession, text: &str) -> Value {
    let message: ClientMessage = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(_) => {
            return error_message(
                "invalid_request",
                "expected {\"type\":\"auth\",\"access_token\":…} or {\"type\":\"ping\"}",
            );
        }
    };
    match message {
        ClientMessage::Ping => json!({"type": "pong"}),
        ClientMessage::Auth { access_token } => {
            match app.auth.renew_live(live, &access_token).await {
                Ok(()) => json!({
                    "type": "auth_ok",
                    "session_id": live.principal.session_id(),
                    "scopes": live.principal.scopes,
                    "expires_at": rfc3339_ms(live.expires_at_ms),
                }),
                Err(e) => {
                    let e = ApiError::from(e);
                    e.count();
                    let mut reply = error_message(e.code.as_str(), &e.message);
                    reply["type"] = json!("auth_error");
                    reply
                }
            }
        }
    }
}

fn error_message(code: &str, message: &str) -> Value {
    json!({"type": "error", "error": code, "message": message})
}

async fn send(socket: &mut WebSocket, message: &Value) -> Result<(), ()> {
    socket
        .send(Message::text(message.to_string()))
        .await
        .map_err(|_| ())
}
