//! `GET /metrics`: Prometheus text that moves when traffic flows: requests and latency per
//! route, logins, refreshes, reuse detections, lockouts, token checks, store errors (Redis
//! stopped, a database failing) and live sockets. (nextest runs every test in its own process,
//! so the process-wide recorder sees this test's traffic only.)

use std::time::Duration;

use crate::helpers::eventually::eventually_every;
use crate::helpers::metrics::on_database;
use crate::helpers::{PASSWORD, TestApp, s};
use crate::on_all_setups;

async fn scrape(app: &TestApp) -> String {
    let r = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    r.text().await.unwrap()
}

/// The value of the sample whose name and labels start with `series` (0 when absent).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(series))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn metrics_count_requests_logins_refreshes_reuse_and_token_checks(app: TestApp) {
    let before = scrape(&app).await;
    app.signup("ann@example.com").await;
    let ok = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(ok.status(), 200);
    let grant: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(
        app.login("ann@example.com", "not the password at all")
            .await
            .status(),
        401
    );
    assert_eq!(app.me(&s(&grant, "access_token")).await.status(), 200);
    assert_eq!(app.me("not-a-token").await.status(), 401);
    let rt = s(&grant, "refresh_token");
    assert_eq!(app.refresh(&rt).await.status(), 200);
    app.advance(Duration::from_secs(60));
    assert_eq!(
        app.refresh(&rt).await.status(),
        401,
        "reuse after the grace"
    );
    let after = scrape(&app).await;

    for (series, delta) in [
        (r#"latchkey_logins_total{result="ok"}"#, 1.0),
        (
            r#"latchkey_logins_total{result="invalid_credentials"}"#,
            1.0,
        ),
        (r#"latchkey_refreshes_total{result="ok"}"#, 1.0),
        (r#"latchkey_refreshes_total{result="invalid_token"}"#, 1.0),
        ("latchkey_refresh_reuse_detected_total", 1.0),
        (r#"latchkey_token_checks_total{result="ok"}"#, 1.0),
        (
            r#"latchkey_token_checks_total{result="invalid_token"}"#,
            1.0,
        ),
    ] {
        assert_eq!(
            value(&after, series) - value(&before, series),
            delta,
            "{series}\n{after}"
        );
    }
    let logins =
        r#"latchkey_http_requests_total{method="POST",route="/api/v1/auth/login",status="200"}"#;
    assert_eq!(
        value(&after, logins) - value(&before, logins),
        1.0,
        "{after}"
    );
    assert!(
        after.contains(
            r#"latchkey_http_request_duration_seconds_bucket{method="GET",route="/api/v1/me""#
        ),
        "latency per route: {after}"
    );
    // Unknown paths share one label: junk URLs cannot grow the series.
    app.client
        .get(app.url("/no/such/path/123"))
        .send()
        .await
        .unwrap();
    let last = scrape(&app).await;
    assert!(!last.contains("/no/such/path"), "{last}");
    assert!(last.contains(r#"route="unmatched""#), "{last}");
}
on_all_setups!(metrics_count_requests_logins_refreshes_reuse_and_token_checks);

/// Polls `/metrics` until `series` reads `want` (the server counts a socket's end when its task
/// finishes, just after the client sees the close).
async fn wait_for_value(app: &TestApp, series: &str, want: f64) {
    eventually_every(
        Duration::from_millis(50),
        Duration::from_secs(10),
        || async {
            let text = scrape(app).await;
            let got = value(&text, series);
            if got == want {
                Ok(())
            } else {
                Err(format!("{series} is {got}, not {want}:\n{text}"))
            }
        },
    )
    .await
}

const WS: &str = r#"latchkey_live_sockets{transport="websocket"}"#;
const SIO: &str = r#"latchkey_live_sockets{transport="socketio"}"#;

type RawSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A Socket.IO connection spoken by hand (Engine.IO v4 over WebSocket: open packet `0…`,
/// connect `40{auth}`, events `42[…]`), left once the server sent `ready`.
async fn socket_io_open(app: &TestApp, token: &str) -> RawSocket {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        app.base.replacen("http://", "ws://", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("Socket.IO handshake");
    let mut sent_connect = false;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a Socket.IO packet within 10 s")
            .expect("socket open")
            .expect("no socket error");
        let Message::Text(text) = message else {
            continue;
        };
        let text = text.as_str();
        if text.starts_with('0') && !sent_connect {
            let connect = format!("40{}", serde_json::json!({ "token": token }));
            socket.send(Message::text(connect)).await.unwrap();
            sent_connect = true;
        } else if text.starts_with(r#"42["ready""#) {
            return socket;
        } else {
            assert!(!text.starts_with("44"), "connect refused: {text}");
        }
    }
}

async fn live_sockets_are_counted_per_transport_until_they_close(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let token = s(&grant, "access_token");
    wait_for_value(&app, WS, 0.0).await;
    wait_for_value(&app, SIO, 0.0).await;

    // Closed by the client: a close frame, and a connection simply dropped.
    let mut ws = crate::helpers::websocket::open(&app, &token).await;
    let sio = socket_io_open(&app, &token).await;
    wait_for_value(&app, WS, 1.0).await;
    wait_for_value(&app, SIO, 1.0).await;
    ws.close(None).await.unwrap();
    drop(sio);
    wait_for_value(&app, WS, 0.0).await;
    wait_for_value(&app, SIO, 0.0).await;

    // Closed by the server: the session is revoked (logout).
    let _ws = crate::helpers::websocket::open(&app, &token).await;
    let _sio = socket_io_open(&app, &token).await;
    let _ws2 = crate::helpers::websocket::open(&app, &token).await;
    wait_for_value(&app, WS, 2.0).await;
    wait_for_value(&app, SIO, 1.0).await;
    assert_eq!(
        app.post_auth("/api/v1/auth/logout", &token).await.status(),
        204
    );
    wait_for_value(&app, WS, 0.0).await;
    wait_for_value(&app, SIO, 0.0).await;
}
on_all_setups!(live_sockets_are_counted_per_transport_until_they_close);

const DB_ERRORS: &str = r#"latchkey_store_errors_total{store="database"}"#;
const REDIS_ERRORS: &str = r#"latchkey_store_errors_total{store="redis"}"#;

/// A database that fails a request (here its `users` table vanishes) moves the database error
/// counter, and only that one.
async fn database_errors_are_counted(app: TestApp) {
    app.signup("ann@example.com").await;
    let before = scrape(&app).await;
    assert_eq!(value(&before, DB_ERRORS), 0.0, "{before}");
    on_database(&app, "ALTER TABLE users RENAME TO users_gone").await;
    let r = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(r.status(), 500);
    crate::helpers::error_code(r).await;
    on_database(&app, "ALTER TABLE users_gone RENAME TO users").await;
    let after = scrape(&app).await;
    assert!(value(&after, DB_ERRORS) >= 1.0, "{after}");
    assert_eq!(value(&after, REDIS_ERRORS), 0.0, "{after}");
    assert_eq!(app.login("ann@example.com", PASSWORD).await.status(), 200);
}
on_all_setups!(database_errors_are_counted);

/// Redis stopped: requests answer 503 and the Redis error counter moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_errors_are_counted() {
    let Some(mut redis) = crate::helpers::OwnedRedis::start() else {
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
    let token = s(&grant, "access_token");
    let before = scrape(&app).await;
    assert_eq!(value(&before, REDIS_ERRORS), 0.0, "{before}");
    redis.stop();
    let r = app.me(&token).await;
    assert_eq!(r.status(), 503);
    crate::helpers::error_code(r).await;
    let after = scrape(&app).await;
    assert!(value(&after, REDIS_ERRORS) >= 1.0, "{after}");
    assert_eq!(value(&after, DB_ERRORS), 0.0, "{after}");
}

/// Too many failed logins lock the account out: `latchkey_lockouts_total` and the errors by
/// code move with each refused attempt.
async fn lockouts_are_counted(app: TestApp) {
    app.signup("ann@example.com").await;
    let before = scrape(&app).await;
    for _ in 0..2 {
        let r = app
            .login("ann@example.com", "not the password at all")
            .await;
        assert_eq!(r.status(), 401);
    }
    let r = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(r.status(), 429, "locked out");
    let after = scrape(&app).await;
    for series in [
        "latchkey_lockouts_total",
        r#"latchkey_errors_total{code="rate_limited"}"#,
        r#"latchkey_logins_total{result="rate_limited"}"#,
    ] {
        assert_eq!(
            value(&after, series) - value(&before, series),
            1.0,
            "{series}\n{after}"
        );
    }
}
on_all_setups!(lockouts_are_counted, |c| c.login_limit_per_account = 2);

/// A refused sign-in code, second factor or provider hand-off is a failed login too.
async fn refused_code_and_second_factor_logins_are_counted(app: TestApp) {
    let before = scrape(&app).await;
    let r = app
        .post(
            "/api/v1/auth/code/verify",
            &serde_json::json!({"login_id": uuid::Uuid::new_v4().to_string(), "session_code": "123456"}),
        )
        .await;
    assert_eq!(r.status(), 401);
    let r = app
        .post(
            "/api/v1/auth/mfa/verify",
            &serde_json::json!({"mfa_token": "lkm_not-a-real-token", "mfa_code": "123456"}),
        )
        .await;
    assert_eq!(r.status(), 401);
    let r = app
        .post(
            "/api/v1/auth/exchange",
            &serde_json::json!({"code": "not-a-handoff-code"}),
        )
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    let after = scrape(&app).await;
    let all = "latchkey_logins_total{";
    assert_eq!(value(&after, all) - value(&before, all), 3.0, "{after}");
    assert_eq!(
        value(&after, r#"latchkey_logins_total{result="ok"}"#),
        value(&before, r#"latchkey_logins_total{result="ok"}"#)
    );
}
on_all_setups!(refused_code_and_second_factor_logins_are_counted);

/// The number of distinct series (name + label set) in a scrape.
fn series_count(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .collect::<std::collections::HashSet<_>>()
        .len()
}

/// Requests with made-up methods on made-up paths, known routes and their parameters.
async fn junk_requests(app: &TestApp, round: &str) {
    for i in 0..40 {
        let method = reqwest::Method::from_bytes(format!("X{round}Q{i}").as_bytes()).unwrap();
        for path in [
            format!("/junk/{round}/{i}"),
            format!("/api/v1/sessions/{round}{i}"),
            "/api/v1/auth/login".to_owned(),
            "/healthz".to_owned(),
        ] {
            let r = app
                .client
                .request(method.clone(), app.url(&path))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_client_error(), "{path}: {}", r.status());
        }
    }
}

/// Nobody can grow the recorder from outside: a first round of junk requests (random method
/// tokens, random paths) adds its few series (`other`, `unmatched`, the error codes), and a
/// second round with different tokens and paths adds none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_methods_and_paths_add_no_series() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    junk_requests(&app, "A").await;
    scrape(&app).await;
    // This scrape includes the first one's own series.
    let settled = scrape(&app).await;
    assert!(
        settled.contains(r#"method="other",route="unmatched""#),
        "{settled}"
    );
    junk_requests(&app, "B").await;
    let after = scrape(&app).await;
    assert!(
        !after.contains("XBQ") && !after.contains("/junk/"),
        "{after}"
    );
    assert_eq!(
        series_count(&after),
        series_count(&settled),
        "new series from junk requests:\n{after}"
    );
}
