//! A WebSocket to Latchkey's `/api/v1/ws` that lives as long as the session (feature `ws`).
//!
//! The token goes in `Sec-WebSocket-Protocol: access_token, <token>`, so it never appears in a
//! URL (and so in no proxy's access log). Latchkey warns with `token_expiring` before the token
//! expires; the helper answers with a fresh token in-band (`{"type":"auth",…}`). A socket closed
//! with 4001 (expired) is opened again with a fresh token; any other close, or a refresh the
//! server refuses, ends it. It never loops.
//!
//! ```no_run
//! # async fn run(client: latchkey_client::Client) {
//! use latchkey_client::SocketEvent;
//!
//! let mut socket = client.keep_websocket("/api/v1/ws");
//! while let Some(event) = socket.next().await {
//!     match event {
//!         SocketEvent::Message(m) => println!("{m}"),
//!         SocketEvent::Reconnected => println!("reconnected with a fresh token"),
//!         SocketEvent::Ended { code } => println!("ended: {code:?}"),
//!     }
//! }
//! # }
//! ```

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::SEC_WEBSOCKET_PROTOCOL;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::Client;

/// The close code of a token that expired without renewal: reconnect with a fresh one.
pub const CLOSE_EXPIRED: u16 = 4001;

/// What the helper reports, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum SocketEvent {
    /// A JSON message from the server (`ready`, `token_expiring`, `auth_ok`, `scopes_changed`…).
    Message(Value),
    /// The socket was opened again with a fresh token after the server closed it with 4001.
    Reconnected,
    /// The last event: the close code that ended it (4003 when the session was revoked or
    /// logged out), or `None` when the connection failed or the session could not be renewed.
    Ended { code: Option<u16> },
}

/// How the helper behaves.
#[derive(Debug, Clone)]
pub struct SocketOptions {
    /// Answer `token_expiring` with a fresh token in-band (true). When false the server closes
    /// the socket with 4001 at expiry and the helper reconnects.
    pub renew: bool,
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self { renew: true }
    }
}

/// A kept WebSocket: read its events with [`LiveSocket::next`]; dropping it closes the socket.
pub struct LiveSocket {
    events: mpsc::Receiver<SocketEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl LiveSocket {
    /// The next event; `None` after [`SocketEvent::Ended`].
    pub async fn next(&mut self) -> Option<SocketEvent> {
        self.events.recv().await
    }
}

impl Drop for LiveSocket {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Client {
    /// Opens `path` (Latchkey's `/api/v1/ws`) once there is a session and keeps it open across
    /// token renewals. Needs a Tokio runtime.
    pub fn keep_websocket(&self, path: &str) -> LiveSocket {
        self.keep_websocket_with(path, SocketOptions::default())
    }

    /// [`Client::keep_websocket`] with options.
    pub fn keep_websocket_with(&self, path: &str, options: SocketOptions) -> LiveSocket {
        let (tx, events) = mpsc::channel(64);
        let url = ws_url(&self.url(path));
        let task = tokio::spawn(run(self.clone(), url, options, tx));
        LiveSocket { events, task }
    }
}

/// `http(s)://…` as `ws(s)://…`.
fn ws_url(http: &str) -> String {
    match http.strip_prefix("http") {
        Some(rest) => format!("ws{rest}"),
        None => http.to_owned(),
    }
}

async fn run(client: Client, url: String, options: SocketOptions, tx: mpsc::Sender<SocketEvent>) {
    let code = keep(&client, &url, &options, &tx).await;
    let _ = tx.send(SocketEvent::Ended { code }).await;
}

/// Runs sockets until one ends for good; its close code.
async fn keep(
    client: &Client,
    url: &str,
    options: &SocketOptions,
    tx: &mpsc::Sender<SocketEvent>,
) -> Option<u16> {
    let mut token = client.when_signed_in().await.ok()?;
    let mut opened_before = false;
    let mut refused_before = false;
    loop {
        let code = match open(url, &token).await {
            Ok(socket) => {
                refused_before = false;
                if opened_before && tx.send(SocketEvent::Reconnected).await.is_err() {
                    return None;
                }
                opened_before = true;
                serve(client, socket, &mut token, options, tx).await
            }
            // Refused at the upgrade (401): the token went stale between refresh and connect.
            // Twice in a row is not staleness: give up rather than loop.
            Err(WsError::Http(res)) if res.status() == 401 && !refused_before => {
                refused_before = true;
                Some(CLOSE_EXPIRED)
            }
            Err(_) => return None,
        };
        if code != Some(CLOSE_EXPIRED) {
            return code;
        }
        // Expired: one refresh, then open again; a refused refresh ends it here.
        token = client.refresh(Some(token)).await.ok()?;
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(url: &str, token: &str) -> Result<Socket, WsError> {
    let mut request = url.into_client_request()?;
    let protocols = HeaderValue::from_str(&format!("access_token, {token}"))
        .map_err(|e| WsError::HttpFormat(e.into()))?;
    request
        .headers_mut()
        .insert(SEC_WEBSOCKET_PROTOCOL, protocols);
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

/// Reads one socket until it closes; its close code.
async fn serve(
    client: &Client,
    mut socket: Socket,
    token: &mut String,
    options: &SocketOptions,
    tx: &mpsc::Sender<SocketEvent>,
) -> Option<u16> {
    while let Some(message) = socket.next().await {
        let text = match message {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
            Ok(_) => continue,
            Err(_) => return None,
        };
        let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        if options.renew && value["type"] == "token_expiring" {
            // A failed renewal ends in the server's 4001, answered by the caller.
            if let Ok(fresh) = client.refresh(Some(token.clone())).await {
                *token = fresh;
                let auth = json!({"type": "auth", "access_token": token.as_str()});
                if socket.send(Message::text(auth.to_string())).await.is_err() {
                    return None;
                }
            }
        }
        if tx.send(SocketEvent::Message(value)).await.is_err() {
            // Nobody listens any more.
            let _ = socket.close(None).await;
            return None;
        }
    }
    None
}
