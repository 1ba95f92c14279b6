//! WebSockets guarded like Latchkey's own `/api/v1/ws`: the token is read before the upgrade
//! from `?access_token=`, the bare `?<token>`, `Sec-WebSocket-Protocol: access_token, <token>`
//! or `Authorization: Bearer` (one place only) and a refusal is a 401 with no upgrade; the
//! socket is closed with 4001 when its token expires unless the client renewed in-band with
//! `{"type":"auth","access_token":…}` (a valid token of the same user).

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use serde_json::{Value, json};

use crate::{Guard, GuardError, Identity};

/// Close code: the token expired without renewal.
pub const CLOSE_EXPIRED: u16 = 4001;
/// Close code: the session was revoked (for handlers that learn it, e.g. from Latchkey).
pub const CLOSE_REVOKED: u16 = 4003;
/// The subprotocol after which a browser sends the token; select it in the upgrade.
pub const TOKEN_PROTOCOL: &str = "access_token";

/// The caller of a WebSocket route, verified before the upgrade, and its token (kept for
/// session checks; never log it).
pub struct WsAuthorized {
    pub identity: Identity,
    token: String,
}

impl<S: Send + Sync> FromRequestParts<S> for WsAuthorized
where
    Guard: FromRef<S>,
{
    type Rejection = GuardError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, GuardError> {
        let token = token_of(parts)?.ok_or(GuardError::MissingToken)?;
        let identity = Guard::from_ref(state).verify(&token).await?;
        Ok(WsAuthorized { identity, token })
    }
}

/// The token of a WebSocket request; two places at once are refused as ambiguous.
pub fn token_of(parts: &Parts) -> Result<Option<String>, GuardError> {
    let mut found: Vec<String> = Vec::new();
    if let Some(t) = crate::extract::bearer(&parts.headers) {
        found.push(t.to_owned());
    }
    let offered: Vec<&str> = parts
        .headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if let Some(at) = offered.iter().position(|p| *p == TOKEN_PROTOCOL)
        && let Some(t) = offered.get(at + 1).filter(|t| !t.is_empty())
    {
        found.push((*t).to_owned());
    }
    if let Some(query) = parts.uri.query().filter(|q| !q.is_empty()) {
        let named = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("access_token="));
        match named {
            Some(t) if !t.is_empty() => found.push(t.to_owned()),
            Some(_) => {}
            // The bare `?<token>`: a JWT has no `=` or `&`.
            None if !query.contains(['=', '&']) => found.push(query.to_owned()),
            None => {}
        }
    }
    if found.len() > 1 {
        return Err(GuardError::InvalidToken("sent in more than one place"));
    }
    Ok(found.pop())
}

/// Serves a guarded socket until the client leaves, the token expires unrenewed (4001), or,
/// with `session_check_interval` set, Latchkey says the session ended (4003). `handler` gets
/// every text message that is not a renewal, with the current identity, and may answer.
pub async fn serve_guarded<F, Fut>(
    guard: Guard,
    mut socket: WebSocket,
    authorized: WsAuthorized,
    mut handler: F,
) where
    F: FnMut(Identity, String) -> Fut,
    Fut: Future<Output = Option<String>>,
{
    let WsAuthorized {
        mut identity,
        mut token,
    } = authorized;
    let every = guard.config().session_check_interval;
    let mut check = tokio::time::interval(every.unwrap_or(Duration::from_secs(3600)));
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let expiry = tokio::time::sleep(until(identity.expires_at));
        tokio::select! {
            () = expiry => {
                close(&mut socket, CLOSE_EXPIRED, "token expired").await;
                return;
            }
            _ = check.tick(), if every.is_some() => match guard.check_session(&token).await {
                Ok(()) => {}
                Err(GuardError::Revoked) => {
                    close(&mut socket, CLOSE_REVOKED, "session revoked").await;
                    return;
                }
                // Unsure is not live.
                Err(_) => {
                    close(&mut socket, 1013, "session check unavailable, reconnect").await;
                    return;
                }
            },
            received = socket.recv() => {
                let text = match received {
                    Some(Ok(Message::Text(text))) => text.to_string(),
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                    Some(Ok(_)) => continue,
                };
                let reply = match renewal(&text) {
                    Some(new) => Some(renew(&guard, &mut identity, &mut token, new).await.to_string()),
                    None => handler(identity.clone(), text).await,
                };
                if let Some(reply) = reply
                    && socket.send(Message::text(reply)).await.is_err()
                {
                    return;
                }
            }
        }
    }
}

fn renewal(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    (v["type"] == "auth").then(|| v["access_token"].as_str().unwrap_or("").to_owned())
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn renew(guard: &Guard, identity: &mut Identity, token: &mut String, new: String) -> Value {
    match guard.verify(&new).await {
        Ok(renewed) if renewed.user_id == identity.user_id => {
            *identity = renewed;
            *token = new;
            json!({"type": "auth_ok", "expires_at": identity.expires_at})
        }
        Ok(_) => json!({"type": "auth_error", "error": "forbidden",
                        "message": "the new token belongs to another user"}),
        Err(e) => json!({"type": "auth_error", "error": "invalid_token", "message": e.to_string()}),
    }
}

fn until(expires_at: i64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    Duration::from_secs_f64((expires_at as f64 - now).max(0.0))
}
