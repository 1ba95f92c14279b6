//! The Rust client's WebSocket helper (feature `ws`) against a real server's `/api/v1/ws` with
//! 10-second access tokens.

use std::time::Duration;

use latchkey_client::{Client, LiveSocket, SocketEvent, SocketOptions};
use serde_json::{Value, json};

use crate::helpers::PASSWORD;
use crate::helpers::process::Proc;

async fn start_with_signup(email: &str) -> Proc {
    let server = Proc::start(&[("LATCHKEY_ACCESS_TOKEN_TTL", "10s")]).await;
    let r = reqwest::Client::new()
        .post(server.url("/api/v1/auth/signup"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    server
}

fn client(server: &Proc) -> Client {
    Client::builder(&server.base)
        .refresh_margin(Duration::from_secs(1))
        .build()
        .unwrap()
}

/// The next event, failing the test rather than hanging when none comes.
async fn next(socket: &mut LiveSocket) -> SocketEvent {
    tokio::time::timeout(Duration::from_secs(30), socket.next())
        .await
        .expect("no socket event within 30 s")
        .expect("the event stream ended without Ended")
}

/// Messages up to and including the first of type `kind`; panics on anything but messages.
async fn until(socket: &mut LiveSocket, kind: &str) -> Value {
    loop {
        match next(socket).await {
            SocketEvent::Message(m) if m["type"] == kind => return m,
            SocketEvent::Message(_) => {}
            other => panic!("expected {kind}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn rust_client_websocket_waits_for_a_session_then_renews_in_band_past_expiry() {
    let email = "rust-ws-renew@example.com";
    let server = start_with_signup(email).await;
    let client = client(&server);
    // Opened before sign-in: it waits for the session instead of failing.
    let mut socket = client.keep_websocket("/api/v1/ws");
    let latchkey_client::SignIn::SignedIn(login) = client.login(email, PASSWORD).await.unwrap()
    else {
        panic!("no second factor here");
    };

    let ready = until(&mut socket, "ready").await;
    assert_eq!(ready["session_id"], login.session_id.as_str());
    let first = until(&mut socket, "auth_ok").await;
    assert!(first["expires_at"].as_str() > ready["expires_at"].as_str());
    // A second renewal comes after the first token's expiry: the same socket outlived it.
    let second = until(&mut socket, "auth_ok").await;
    assert!(second["expires_at"].as_str() > first["expires_at"].as_str());
    // Sockets allow no leeway past expiry: the sign-in token opens none any more.
    let url = format!(
        "{}?access_token={}",
        server.url("/api/v1/ws").replacen("http", "ws", 1),
        login.access_token
    );
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 401),
        other => panic!(
            "the sign-in token should have expired: {:?}",
            other.map(|_| ())
        ),
    }
}

#[tokio::test]
async fn rust_client_websocket_reconnects_with_a_fresh_token_after_4001_and_ends_at_logout() {
    let email = "rust-ws-reconnect@example.com";
    let server = start_with_signup(email).await;
    let client = client(&server);
    let latchkey_client::SignIn::SignedIn(login) = client.login(email, PASSWORD).await.unwrap()
    else {
        panic!("no second factor here");
    };
    let mut socket = client.keep_websocket_with("/api/v1/ws", SocketOptions { renew: false });

    let ready = until(&mut socket, "ready").await;
    assert_eq!(ready["session_id"], login.session_id.as_str());
    until(&mut socket, "token_expired").await;
    assert_eq!(next(&mut socket).await, SocketEvent::Reconnected);
    let again = until(&mut socket, "ready").await;
    assert_eq!(
        again["session_id"],
        login.session_id.as_str(),
        "same session"
    );
    assert!(
        again["expires_at"].as_str() > ready["expires_at"].as_str(),
        "a new token"
    );

    client.logout().await.unwrap();
    until(&mut socket, "session_revoked").await;
    assert_eq!(
        next(&mut socket).await,
        SocketEvent::Ended { code: Some(4003) }
    );
    let after = tokio::time::timeout(Duration::from_secs(30), socket.next()).await;
    assert_eq!(after.unwrap(), None, "no reconnection after logout");
}
