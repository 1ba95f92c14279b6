//! Socket.IO at `/socket.io/`: the same session rules as the WebSocket (`ws.rs`), in Socket.IO's
//! terms. The access token comes in the connect packet (`auth: {token}`); a refusal is a
//! `connect_error` whose message starts with `expired`, `invalid` or `unauthorized`, so a client
//! can tell "refresh and reconnect" from "log in again". A live socket renews with the `auth`
//! event, joins rooms of its own organization with `join_room` (at most `MAX_ROOMS` at once;
//! `leave_room` leaves one), and is sent `token_expired` or
//! `session_revoked` and disconnected when its token or session ends.

use std::sync::Arc;

use latchkey_core::auth::{LiveEvent, LiveSession};
use latchkey_core::clock::rfc3339_ms;
use latchkey_core::{AuthError, TokenProblem};
use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use tokio::sync::{Mutex, Notify};

use crate::state::AppState;

/// The socket's session, shared by its event handlers and its watch task.
type Live = Arc<Mutex<LiveSession>>;

/// Longest room id a client may ask for.
const MAX_ROOM_ID: usize = 128;

/// Rooms one socket may be in at once. Each room costs the server memory for as long as the
/// socket lives; a client could otherwise join rooms by the hundred thousand.
pub const MAX_ROOMS: usize = 100;

/// The Socket.IO layer for the router, and a task that disconnects every socket at shutdown.
pub fn layer(app: &AppState) -> SocketIoLayer {
    let (layer, io) = SocketIo::builder().with_state(app.clone()).build_layer();
    io.ns("/", on_connect.with(authorize));
    let mut closing = app.closing.subscribe();
    tokio::spawn(async move {
        crate::serve::stopped(&mut closing).await;
        io.close().await;
    });
    layer
}

#[derive(Deserialize)]
struct AuthPayload {
    token: String,
}

/// Why a connection was refused: the text is the client's `connect_error` message.
struct Refusal(String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn refusal(e: AuthError) -> Refusal {
    Refusal(match e {
        AuthError::InvalidToken(TokenProblem::Expired) => {
            "expired: the access token has expired; refresh it and reconnect".to_owned()
        }
        AuthError::InvalidToken(problem) => format!("invalid: {}", problem.message()),
        AuthError::Forbidden(why) => format!("unauthorized: {why}"),
        AuthError::Unavailable(_) | AuthError::Busy => {
            "unavailable: the session cannot be checked now; retry shortly".to_owned()
        }
        other => format!("unauthorized: {other}"),
    })
}

async fn authorize(
    s: SocketRef,
    State(app): State<AppState>,
    TryData(auth): TryData<AuthPayload>,
) -> Result<(), Refusal> {
    let Ok(AuthPayload { token }) = auth else {
        return Err(Refusal(
            "unauthorized: an access token is required as auth: {token}".to_owned(),
        ));
    };
    let live = app.auth.open_live(&token).await.map_err(refusal)?;
    s.extensions.insert::<Live>(Arc::new(Mutex::new(live)));
    // The handlers are registered here, before the connect packet goes out, and not in
    // `on_connect`: socketioxide runs that on a task of its own after sending the packet, so a
    // client that emits as soon as it is connected could be heard before they exist, and its
    // event would be dropped without an answer.
    s.on("auth", on_auth);
    s.on("join_room", on_join_room);
    s.on("leave_room", on_leave_room);
    let gone = Arc::new(Notify::new());
    let wake = gone.clone();
    // `notify_one` keeps its permit, so a disconnect before the watch task waits still ends it.
    s.on_disconnect(move || {
        let wake = wake.clone();
        async move { wake.notify_one() }
    });
    s.extensions.insert::<Gone>(Gone(gone));
    Ok(())
}

/// Woken when the socket disconnects.
#[derive(Clone)]
struct Gone(Arc<Notify>);

async fn on_connect(
    s: SocketRef,
    State(app): State<AppState>,
    Extension(live): Extension<Live>,
    Extension(Gone(gone)): Extension<Gone>,
) {
    // Counted from here until the watch task ends; the disconnect wakes it at once, so the
    // gauge (and the socket's memory) does not wait for the next check.
    let counted = super::metrics::LiveSocket::open(super::metrics::SOCKET_IO);
    {
        let live = live.lock().await;
        let _ = s.emit("ready", &ready(&live));
    }
    tokio::spawn(async move {
        let _counted = counted;
        watch(s, app, live, gone).await;
    });
}

fn ready(live: &LiveSession) -> Value {
    json!({
        "user_id": live.principal.user_id,
        "session_id": live.principal.session_id(),
        "scopes": live.principal.scopes,
        "expires_at": rfc3339_ms(live.expires_at_ms),
    })
}

async fn on_auth(
    s: SocketRef,
    State(app): State<AppState>,
    Extension(live): Extension<Live>,
    TryData(payload): TryData<AuthPayload>,
    ack: AckSender,
) {
    let (event, reply) = match payload {
        Err(_) => (
            "auth_error",
            json!({"error": "invalid_request", "message": "expected {token}"}),
        ),
        Ok(AuthPayload { token }) => {
            let mut live = live.lock().await;
            match app.auth.renew_live(&mut live, &token).await {
                Ok(()) => ("auth_ok", ready(&live)),
                Err(e) => {
                    let e = super::error::ApiError::from(e);
                    e.count();
                    (
                        "auth_error",
                        json!({"error": e.code.as_str(), "message": e.message}),
                    )
                }
            }
        }
    };
    let _ = s.emit(event, &reply);
    // Also answer a client that asked for an acknowledgement.
    let _ = ack.send(&json!({"type": event, "data": reply}));
}

#[derive(Deserialize)]
struct JoinRoom {
    room_id: Value,
}

/// The room id of a `join_room` / `leave_room` payload: a string (or a number) of 1 to 128
/// letters, digits and `-_.:@`, or the `room_error` to send.
fn room_id<E>(payload: Result<JoinRoom, E>) -> Result<String, Value> {
    let room_id = match payload.map(|p| p.room_id) {
        Ok(Value::String(id)) => id,
        Ok(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(json!({"error": "invalid_request", "message": "expected {room_id}"}));
        }
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@');
    if room_id.is_empty() || room_id.len() > MAX_ROOM_ID || !room_id.chars().all(plain) {
        // The id is echoed only when it is plain: the client's own bytes stay out of the answer.
        let echo = if room_id.len() <= MAX_ROOM_ID && room_id.chars().all(plain) {
            Value::String(room_id)
        } else {
            Value::Null
        };
        return Err(json!({"room_id": echo, "error": "invalid_request",
            "message": "a room id is 1 to 128 letters, digits and - _ . : @"}));
    }
    Ok(room_id)
}

/// Rooms belong to an organization: a room id names a room of the caller's own organization, so
/// two organizations using the same id never meet. A socket is in at most `MAX_ROOMS` rooms.
async fn on_join_room(
    s: SocketRef,
    Extension(live): Extension<Live>,
    TryData(payload): TryData<JoinRoom>,
) {
    let room_id = match room_id(payload) {
        Ok(id) => id,
        Err(refusal) => {
            let _ = s.emit("room_error", &refusal);
            return;
        }
    };
    // Held until the join: the events of one socket are handled concurrently, and the count
    // and the join must not interleave with another join of the same socket.
    let live = live.lock().await;
    let room = org_room(&live.principal.org_id, &room_id);
    let rooms = s.rooms();
    if !rooms.iter().any(|r| *r == room) && rooms.len() >= MAX_ROOMS {
        let _ = s.emit(
            "room_error",
            &json!({"room_id": room_id, "error": "too_many_rooms", "max_rooms": MAX_ROOMS,
                    "message": format!("a socket is in at most {MAX_ROOMS} rooms; leave one first")}),
        );
        return;
    }
    s.join(room);
    drop(live);
    let _ = s.emit("joined_room", &json!({"room_id": room_id}));
}

/// `leave_room {room_id}`: answered `left_room {room_id}`, also for a room it was not in.
async fn on_leave_room(
    s: SocketRef,
    Extension(live): Extension<Live>,
    TryData(payload): TryData<JoinRoom>,
) {
    let room_id = match room_id(payload) {
        Ok(id) => id,
        Err(refusal) => {
            let _ = s.emit("room_error", &refusal);
            return;
        }
    };
    let live = live.lock().await;
    s.leave(org_room(&live.principal.org_id, &room_id));
    drop(live);
    let _ = s.emit("left_room", &json!({"room_id": room_id}));
}

/// The Socket.IO room of `room_id` in organization `org`.
pub fn org_room(org: &str, room_id: &str) -> String {
    format!("{org}/{room_id}")
}

/// Checks the socket's session every `socket_check_interval`, and at once on an announced
/// revocation of it, until it disconnects (`gone`).
async fn watch(s: SocketRef, app: AppState, live: Live, gone: Arc<Notify>) {
    let mut tick = tokio::time::interval(app.config.socket_check_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut revoked = app.auth.revocation_events();
    loop {
        // The tick, or a revocation of this socket's session announced on any instance.
        tokio::select! {
            () = gone.notified() => return,
            _ = tick.tick() => {}
            event = revoked.recv() => {
                let sid = live.lock().await.principal.session_id().map(str::to_owned);
                match event {
                    Ok(revoked_sid) if sid.as_deref() == Some(revoked_sid.as_str()) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    Ok(_) => continue,
                }
            }
        }
        if !s.connected() {
            return;
        }
        let events = {
            let mut live = live.lock().await;
            app.auth.check_live(&mut live).await
        };
        let events = match events {
            Ok(events) => events,
            Err(e) => {
                // Unsure is not live: the client reconnects and is checked afresh.
                super::metrics::store_error(&e);
                tracing::warn!(error = %e, "a Socket.IO session could not be checked; disconnecting it");
                let _ = s.disconnect();
                return;
            }
        };
        for event in events {
            match event {
                LiveEvent::Expiring { expires_at_ms } => {
                    let now = app.auth.clock().now_ms();
                    let _ = s.emit(
                        "token_expiring",
                        &json!({"expires_at": rfc3339_ms(expires_at_ms),
                                "expires_in": (expires_at_ms - now).max(0) / 1000}),
                    );
                }
                LiveEvent::ScopesChanged { scopes } => {
                    let _ = s.emit("scopes_changed", &json!({"scopes": scopes}));
                }
                LiveEvent::Expired => {
                    let _ = s.emit("token_expired", &json!({"message": "token expired"}));
                    let _ = s.disconnect();
                    return;
                }
                LiveEvent::Revoked => {
                    let _ = s.emit("session_revoked", &json!({"message": "session revoked"}));
                    let _ = s.disconnect();
                    return;
                }
            }
        }
    }
}
