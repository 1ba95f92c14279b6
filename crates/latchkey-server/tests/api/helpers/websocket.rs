//! Helpers shared by the tests (moved out of `websocket`).

use crate::helpers::TestApp;
use futures::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Opens a socket with the token in the query and reads its `ready` message.
pub async fn open(app: &TestApp, token: &str) -> Socket {
    let (mut socket, _) =
        tokio_tungstenite::connect_async(ws_url(app, &format!("?access_token={token}")))
            .await
            .expect("WebSocket handshake");
    let ready = next_json(&mut socket).await;
    assert_eq!(ready["type"], "ready", "{ready}");
    socket
}

/// The next JSON message (pings skipped), within a deadline.
pub async fn next_json(socket: &mut Socket) -> Value {
    loop {
        match next(socket).await {
            Message::Text(text) => {
                return serde_json::from_str(text.as_str()).expect("JSON message");
            }
            Message::Close(frame) => panic!("closed while a message was expected: {frame:?}"),
            _ => {}
        }
    }
}

pub fn ws_url(app: &TestApp, query: &str) -> String {
    format!(
        "{}/api/v1/ws{query}",
        app.base.replacen("http://", "ws://", 1)
    )
}

pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn next(socket: &mut Socket) -> Message {
    tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("a message within 10 s")
        .expect("socket still open")
        .expect("no socket error")
}
