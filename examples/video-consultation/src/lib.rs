//! A product team's own service, protected by Latchkey: `GET /api/video/sessions/{id}` for
//! callers with the `video:read` scope, and a Socket.IO room per consultation whose sockets
//! are authorized with the same access tokens (`auth: {token}`), limited to the caller's
//! organization, and disconnected when the token expires.

use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, Path};
use axum::routing::get;
use latchkey_guard::{Authorized, Guard, GuardError, Identity};
use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{Extension, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;

#[derive(Clone)]
pub struct AppState {
    pub guard: Guard,
}

impl FromRef<AppState> for Guard {
    fn from_ref(s: &AppState) -> Guard {
        s.guard.clone()
    }
}

/// The whole service: REST routes plus Socket.IO at `/socket.io/`.
pub fn app(guard: Guard) -> Router {
    let state = AppState { guard };
    let (layer, io) = SocketIo::builder().with_state(state.clone()).build_layer();
    io.ns("/", on_connect.with(authorize));
    Router::new()
        .route("/api/video/sessions/{id}", get(session))
        .with_state(state)
        .layer(layer)
}

async fn session(
    Authorized(caller): Authorized,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, GuardError> {
    caller.require_scopes(&["video:read"])?;
    // A real service would load the consultation and check it belongs to `caller.org_id`.
    Ok(axum::Json(json!({
        "id": id,
        "org_id": caller.org_id,
        "room": room(&caller, &id),
        "participant": caller.user_id,
    })))
}

fn room(caller: &Identity, id: &str) -> String {
    format!("{}/consultation/{id}", caller.org_id)
}

#[derive(Deserialize)]
struct AuthPayload {
    token: String,
}

/// `connect_error` messages say `expired` (refresh, then reconnect) or `invalid`/`unauthorized`.
async fn authorize(
    s: SocketRef,
    State(state): State<AppState>,
    TryData(auth): TryData<AuthPayload>,
) -> Result<(), String> {
    let token = auth
        .map_err(|_| "unauthorized: send auth: {token}".to_owned())?
        .token;
    let caller = state.guard.verify(&token).await.map_err(|e| match e {
        GuardError::Expired => "expired: the access token has expired".to_owned(),
        e => format!("invalid: {e}"),
    })?;
    s.extensions.insert(caller);
    Ok(())
}

async fn on_connect(s: SocketRef, Extension(caller): Extension<Identity>) {
    s.on("join_room", on_join_room);
    // Disconnect when the token expires; a client renews by reconnecting with a fresh token.
    let socket = s.clone();
    tokio::spawn(async move {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64;
        tokio::time::sleep(Duration::from_secs((caller.expires_at - now).max(0) as u64)).await;
        if socket.connected() {
            let _ = socket.emit("token_expired", &json!({}));
            let _ = socket.disconnect();
        }
    });
}

/// Consultations one socket may be in at once.
const MAX_ROOMS: usize = 8;

#[derive(Deserialize)]
struct JoinRoom {
    room_id: String,
}

async fn on_join_room(
    s: SocketRef,
    Extension(caller): Extension<Identity>,
    TryData(join): TryData<JoinRoom>,
) {
    let Ok(JoinRoom { room_id }) = join else {
        let _ = s.emit("room_error", &json!({"error": "expected {room_id}"}));
        return;
    };
    // Every room costs memory for as long as the socket lives: ids are short and plain, and a
    // socket is in a few rooms at most.
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@');
    if room_id.is_empty() || room_id.len() > 128 || !room_id.chars().all(plain) {
        let _ = s.emit("room_error", &json!({"error": "invalid_request"}));
        return;
    }
    if !caller.has_scope("video:join") {
        let _ = s.emit(
            "room_error",
            &json!({"room_id": room_id, "error": "insufficient_scope"}),
        );
        return;
    }
    let room = room(&caller, &room_id);
    let rooms = s.rooms();
    if !rooms.iter().any(|r| *r == room) && rooms.len() >= MAX_ROOMS {
        let _ = s.emit(
            "room_error",
            &json!({"room_id": room_id, "error": "too_many_rooms", "max_rooms": MAX_ROOMS}),
        );
        return;
    }
    s.join(room);
    let _ = s.emit("joined_room", &json!({"room_id": room_id}));
}
