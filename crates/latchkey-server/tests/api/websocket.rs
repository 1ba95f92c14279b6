//! `GET /api/v1/ws` with a real WebSocket client (tokio-tungstenite): refused before the upgrade
//! without a valid token, the token accepted from every documented place, session events,
//! in-band renewal, close 4001 at expiry and 4003 on logout (on every instance).

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::helpers::api_keys::{org_with_member, set_scopes, signup_key, user_id};
use crate::helpers::eventually::eventually;
use crate::helpers::tokens::{login_ok, refresh_ok};
use crate::helpers::websocket::{Socket, next, next_json, open, ws_url};
use crate::helpers::{TestApp, assert_error_shape, s};
use crate::on_all_setups;

/// Reads until the close frame: the JSON messages before it, and its code.
async fn until_close(socket: &mut Socket) -> (Vec<Value>, u16, String) {
    let mut messages = Vec::new();
    loop {
        match next(socket).await {
            Message::Text(text) => messages.push(serde_json::from_str(text.as_str()).unwrap()),
            Message::Close(Some(frame)) => {
                return (messages, u16::from(frame.code), frame.reason.to_string());
            }
            Message::Close(None) => panic!("closed without a code after {messages:?}"),
            _ => {}
        }
    }
}

/// A handshake the server must refuse: its status and JSON body.
async fn refused(request: impl IntoClientRequest + Unpin) -> (u16, Value) {
    match tokio_tungstenite::connect_async(request).await {
        Err(WsError::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            let body = serde_json::from_slice(&body)
                .unwrap_or_else(|_| panic!("not a JSON body: {}", String::from_utf8_lossy(&body)));
            (response.status().as_u16(), body)
        }
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("the handshake was accepted"),
    }
}

async fn ws_refuses_missing_invalid_and_expired_tokens_before_the_upgrade(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let access = s(&grant, "access_token");

    let (status, body) = refused(ws_url(&app, "")).await;
    assert_eq!(
        assert_error_shape(status, &body, "no token"),
        "missing_token"
    );
    assert_eq!(status, 401);

    let (status, body) = refused(ws_url(&app, "?access_token=garbage")).await;
    assert_eq!(
        assert_error_shape(status, &body, "garbage"),
        "invalid_token"
    );
    assert!(
        body["message"].as_str().unwrap().contains("malformed"),
        "{body}"
    );

    let (status, body) = refused(ws_url(&app, &format!("?{}", s(&grant, "refresh_token")))).await;
    assert_eq!(
        assert_error_shape(status, &body, "refresh token"),
        "invalid_token"
    );

    // An API auth token has no session to watch: refused with a reason.
    let api_token = crate::helpers::api_keys::auth_token(&app, &signup_key(&grant)).await;
    let (status, body) = refused(ws_url(&app, &format!("?access_token={api_token}"))).await;
    assert_eq!(assert_error_shape(status, &body, "API token"), "forbidden");

    // The token in two places is ambiguous, not merged.
    let mut request = ws_url(&app, &format!("?access_token={access}"))
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {access}").parse().unwrap());
    let (status, body) = refused(request).await;
    assert_eq!(
        assert_error_shape(status, &body, "two places"),
        "invalid_request"
    );

    // A plain GET with a valid token is not an upgrade.
    let r = app.get_auth("/api/v1/ws", &access).await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        assert_error_shape(status, &body, "plain GET"),
        "invalid_request"
    );

    app.advance(Duration::from_secs(16 * 60));
    let (status, body) = refused(ws_url(&app, &format!("?access_token={access}"))).await;
    assert_eq!(
        assert_error_shape(status, &body, "expired"),
        "invalid_token"
    );
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}
on_all_setups!(ws_refuses_missing_invalid_and_expired_tokens_before_the_upgrade);

async fn ws_takes_the_token_from_the_query_the_bare_query_the_protocol_or_authorization(
    app: TestApp,
) {
    let grant = app.signup("ann@example.com").await;
    let access = s(&grant, "access_token");
    let uid = user_id(&grant);

    let mut requests = vec![
        (
            "?access_token=",
            ws_url(&app, &format!("?access_token={access}")).into_client_request(),
        ),
        (
            "bare ?<token>",
            ws_url(&app, &format!("?{access}")).into_client_request(),
        ),
    ];
    let mut by_header = ws_url(&app, "").into_client_request().unwrap();
    by_header
        .headers_mut()
        .insert("authorization", format!("Bearer {access}").parse().unwrap());
    requests.push(("Authorization", Ok(by_header)));
    let mut by_protocol = ws_url(&app, "").into_client_request().unwrap();
    by_protocol.headers_mut().insert(
        "sec-websocket-protocol",
        format!("access_token, {access}").parse().unwrap(),
    );
    requests.push(("Sec-WebSocket-Protocol", Ok(by_protocol)));

    for (what, request) in requests {
        let (mut socket, response) = tokio_tungstenite::connect_async(request.unwrap())
            .await
            .unwrap_or_else(|e| panic!("{what}: handshake refused: {e}"));
        if what == "Sec-WebSocket-Protocol" {
            // Browsers drop a socket whose server selects none of the offered protocols.
            assert_eq!(response.headers()["sec-websocket-protocol"], "access_token");
        }
        let ready = next_json(&mut socket).await;
        assert_eq!(ready["type"], "ready", "{what}: {ready}");
        assert_eq!(ready["user_id"], uid.as_str(), "{what}: {ready}");
        assert_eq!(ready["session_id"], grant["session_id"], "{what}: {ready}");
        assert_eq!(ready["expires_at"], grant["expires_at"], "{what}: {ready}");
        socket
            .send(Message::text(json!({"type": "ping"}).to_string()))
            .await
            .unwrap();
        assert_eq!(next_json(&mut socket).await["type"], "pong", "{what}");
    }
}
on_all_setups!(ws_takes_the_token_from_the_query_the_bare_query_the_protocol_or_authorization);

async fn logout_closes_the_sessions_live_sockets_with_4003_and_spares_others(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let other = login_ok(&app, "ann@example.com").await;
    let mut doomed = open(&app, &s(&grant, "access_token")).await;
    let mut spared = open(&app, &s(&other, "access_token")).await;

    let r = app
        .post_auth("/api/v1/auth/logout", &s(&grant, "access_token"))
        .await;
    assert_eq!(r.status(), 204);
    let logged_out = Instant::now();
    let (messages, code, reason) = until_close(&mut doomed).await;
    let took = logged_out.elapsed();
    eprintln!("logout reached the socket in {took:?}");
    assert_eq!(code, 4003, "{reason}");
    assert_eq!(reason, "session revoked");
    assert_eq!(
        messages.last().unwrap()["type"],
        "session_revoked",
        "{messages:?}"
    );
    // Checked every 500 ms: a second is the promise, three leave room for a loaded machine.
    assert!(
        took < Duration::from_secs(3),
        "logout took {took:?} to reach the socket"
    );

    // The user's other session keeps its socket.
    spared
        .send(Message::text(json!({"type": "ping"}).to_string()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut spared).await["type"], "pong");
}
on_all_setups!(logout_closes_the_sessions_live_sockets_with_4003_and_spares_others);

/// Revocations are announced to the instance's sockets at once: with the periodic check at a
/// minute, logout still closes the socket well within `next`'s 10 s deadline.
async fn a_revocation_is_pushed_to_the_socket_without_waiting_for_the_check(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let mut socket = open(&app, &s(&grant, "access_token")).await;
    let r = app
        .post_auth("/api/v1/auth/logout", &s(&grant, "access_token"))
        .await;
    assert_eq!(r.status(), 204);
    let (messages, code, _) = until_close(&mut socket).await;
    assert_eq!(code, 4003, "{messages:?}");
}
on_all_setups!(
    a_revocation_is_pushed_to_the_socket_without_waiting_for_the_check,
    |c| c.socket_check_interval = std::time::Duration::from_secs(60)
);

/// The periodic check is set to a minute here, so a close within `next`'s 10 s deadline comes
/// from the announcement (Redis pub/sub), not from the poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_on_one_instance_closes_the_socket_held_by_another() {
    let Some(a) =
        TestApp::spawn_redis_with(|c| c.socket_check_interval = Duration::from_secs(60)).await
    else {
        return;
    };
    let b = a.sibling().await;
    let grant = a.signup("ann@example.com").await;
    let mut socket = open(&a, &s(&grant, "access_token")).await;

    let r = b
        .post_auth("/api/v1/auth/logout", &s(&grant, "access_token"))
        .await;
    assert_eq!(r.status(), 204);
    let (messages, code, _) = until_close(&mut socket).await;
    assert_eq!(code, 4003, "{messages:?}");
    assert_eq!(messages.last().unwrap()["type"], "session_revoked");
}

async fn an_unrenewed_socket_closes_with_4001_at_expiry_a_renewed_one_stays(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let mut renewed = open(&app, &s(&grant, "access_token")).await;
    let mut unrenewed = open(&app, &s(&grant, "access_token")).await;

    // A minute before expiry (15 min tokens) both are warned.
    app.advance(Duration::from_secs(14 * 60 + 30));
    for socket in [&mut renewed, &mut unrenewed] {
        let warning = next_json(socket).await;
        assert_eq!(warning["type"], "token_expiring", "{warning}");
        assert_eq!(warning["expires_at"], grant["expires_at"], "{warning}");
        // `exp` is whole seconds, the clock milliseconds.
        let left = warning["expires_in"].as_i64().unwrap();
        assert!((29..=30).contains(&left), "{warning}");
    }

    let fresh = refresh_ok(&app, &s(&grant, "refresh_token")).await;
    renewed
        .send(Message::text(
            json!({"type": "auth", "access_token": s(&fresh, "access_token")}).to_string(),
        ))
        .await
        .unwrap();
    let ok = next_json(&mut renewed).await;
    assert_eq!(ok["type"], "auth_ok", "{ok}");
    assert_eq!(ok["expires_at"], fresh["expires_at"], "{ok}");

    app.advance(Duration::from_secs(31));
    let (messages, code, reason) = until_close(&mut unrenewed).await;
    assert_eq!(code, 4001, "{reason}");
    assert_eq!(reason, "token expired");
    assert_eq!(
        messages.last().unwrap()["type"],
        "token_expired",
        "{messages:?}"
    );

    // Past the first token's expiry, the renewed socket still answers.
    renewed
        .send(Message::text(json!({"type": "ping"}).to_string()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut renewed).await["type"], "pong");
    // And it, too, ends when its new token expires.
    app.advance(Duration::from_secs(15 * 60));
    let (_, code, _) = until_close(&mut renewed).await;
    assert_eq!(code, 4001);
}
on_all_setups!(an_unrenewed_socket_closes_with_4001_at_expiry_a_renewed_one_stays);

async fn renewal_with_another_users_or_a_bad_token_is_refused_and_changes_nothing(app: TestApp) {
    let ann = app.signup("ann@example.com").await;
    let bob = app.signup("bob@example.com").await;
    let mut socket = open(&app, &s(&ann, "access_token")).await;

    for (token, error) in [
        (s(&bob, "access_token"), "forbidden"),
        ("garbage".to_owned(), "invalid_token"),
        (s(&ann, "refresh_token"), "invalid_token"),
    ] {
        socket
            .send(Message::text(
                json!({"type": "auth", "access_token": token}).to_string(),
            ))
            .await
            .unwrap();
        let reply = next_json(&mut socket).await;
        assert_eq!(reply["type"], "auth_error", "{reply}");
        assert_eq!(reply["error"], error, "{reply}");
    }
    socket.send(Message::text("not json")).await.unwrap();
    let reply = next_json(&mut socket).await;
    assert_eq!(reply["error"], "invalid_request", "{reply}");

    // Still Ann's socket: Bob's logout does not touch it, Ann's token expiry does.
    let r = app
        .post_auth("/api/v1/auth/logout", &s(&bob, "access_token"))
        .await;
    assert_eq!(r.status(), 204);
    app.advance(Duration::from_secs(15 * 60));
    let (messages, code, _) = until_close(&mut socket).await;
    assert_eq!(code, 4001, "{messages:?}");
}
on_all_setups!(renewal_with_another_users_or_a_bad_token_is_refused_and_changes_nothing);

async fn scope_changes_and_disabling_reach_the_members_socket(app: TestApp) {
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let admin_at = s(&admin, "access_token");
    let uid = user_id(&member);
    let mut socket = open(&app, &s(&member, "access_token")).await;

    set_scopes(&app, &admin_at, &uid, &["orders:read"]).await;
    let event = next_json(&mut socket).await;
    assert_eq!(event["type"], "scopes_changed", "{event}");
    assert_eq!(event["scopes"], json!(["orders:read"]), "{event}");

    let r = app
        .send_json_auth(
            reqwest::Method::PUT,
            &format!("/api/v1/admin/users/{uid}/disabled"),
            &admin_at,
            Some(&json!({"disabled": true})),
        )
        .await;
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    let (messages, code, _) = until_close(&mut socket).await;
    assert_eq!(code, 4003, "{messages:?}");
}
on_all_setups!(scope_changes_and_disabling_reach_the_members_socket);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_server_closes_open_sockets_as_going_away() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let grant = app.signup("ann@example.com").await;
    let mut socket = open(&app, &s(&grant, "access_token")).await;
    let stopping = tokio::spawn(app.stop());
    let (_, code, _) = until_close(&mut socket).await;
    assert_eq!(code, u16::from(CloseCode::Away));
    stopping.await.unwrap();
}

/// Resident memory of a process, in KiB (Linux).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sockets_stay_open_and_all_close_on_logout_with_no_token_in_the_log() {
    const SOCKETS: usize = 1000;
    let server = crate::helpers::process::Proc::start(&[("LATCHKEY_LOG_LEVEL", "info")]).await;
    let client = reqwest::Client::new();
    let grant: Value = client
        .post(server.url("/api/v1/auth/signup"))
        .json(&json!({"email": "ann@example.com", "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = s(&grant, "access_token");
    let url = format!(
        "{}?access_token={access}",
        server.url("/api/v1/ws").replacen("http://", "ws://", 1)
    );

    let before = rss_kib(server.pid());
    let mut sockets: Vec<Socket> = futures::stream::iter(0..SOCKETS)
        .map(|_| {
            let url = url.clone();
            async move {
                let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("open");
                assert_eq!(next_json(&mut socket).await["type"], "ready");
                socket
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    assert_eq!(sockets.len(), SOCKETS);
    // Two check rounds with every socket open, so the figure includes their steady state.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(server.pid());
    let per_socket = after.saturating_sub(before) as f64 / SOCKETS as f64;
    eprintln!(
        "{SOCKETS} sockets: server RSS {before} KiB -> {after} KiB, {per_socket:.1} KiB per socket"
    );

    let r = client
        .post(server.url("/api/v1/auth/logout"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let closed: Vec<u16> = futures::stream::iter(sockets.iter_mut())
        .map(|socket| async move { until_close(socket).await.1 })
        .buffer_unordered(SOCKETS)
        .collect()
        .await;
    assert!(closed.iter().all(|c| *c == 4003), "{closed:?}");

    let log = server.stderr();
    assert!(log.contains("route=/api/v1/ws"), "{log}");
    assert!(!log.contains(&access), "the token leaked into the log");
    assert!(
        !log.contains("access_token="),
        "a query string leaked into the log"
    );
}

/// Fail closed: while Redis cannot answer, a socket's session cannot be confirmed, so the socket
/// is closed with 1013 ("try again later") rather than kept open on a guess; once Redis is back
/// the client reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_whose_session_cannot_be_checked_is_closed_with_1013_and_can_reconnect_later() {
    let Some(redis) = crate::helpers::OwnedRedis::start() else {
        return;
    };
    let url = redis.url();
    let Some(app) = TestApp::spawn_with(crate::helpers::Backend::Postgres, |c| {
        c.redis_url = Some(url);
        c.redis_prefix = crate::helpers::unique_prefix();
        c.redis_timeout = Duration::from_millis(500);
    })
    .await
    else {
        return;
    };
    let grant = app.signup("ann@example.com").await;
    let access = s(&grant, "access_token");
    let mut socket = open(&app, &access).await;

    redis.pause();
    let (_, code, reason) = until_close(&mut socket).await;
    redis.resume();
    assert_eq!(code, 1013, "{reason}");

    // Back to normal: the same token opens a socket again (retrying while Redis reconnects).
    let mut socket = eventually(Duration::from_secs(20), || async {
        let url = ws_url(&app, &format!("?access_token={access}"));
        match tokio_tungstenite::connect_async(url).await {
            Ok((socket, _)) => Ok(socket),
            Err(e) => Err(format!("no reconnect after Redis resumed: {e}")),
        }
    })
    .await;
    assert_eq!(next_json(&mut socket).await["type"], "ready");
}
