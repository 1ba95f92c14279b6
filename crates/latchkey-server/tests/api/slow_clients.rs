//! Slow and stalled clients cannot hold connections, tasks or the process: the request head and
//! body have deadlines, idle connections close, and shutdown is bounded.

use std::time::Duration;

use latchkey_core::Clock;
use tokio::io::AsyncWriteExt;

use crate::helpers::eventually::eventually_every;
use crate::helpers::process::Proc;
use crate::helpers::raw_http::{PATIENCE, closed_by_server, connect, read_response};
use crate::helpers::{Backend, TestApp, test_config};

const HALF_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ";

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.header_read_timeout = Duration::from_secs(1);
    })
    .await
    .unwrap();
    let mut stream = connect(&app.base).await;
    stream.write_all(HALF_HEAD).await.unwrap();
    assert!(
        closed_by_server(&mut stream).await,
        "the connection is still open after {PATIENCE:?}"
    );
    // The server itself is fine.
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.header_read_timeout = Duration::from_secs(1);
    })
    .await
    .unwrap();
    let mut stream = connect(&app.base).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_response(&mut stream).await.status, 200);
    assert!(closed_by_server(&mut stream).await, "idle connection kept");
}

#[tokio::test]
async fn a_body_that_trickles_in_too_slowly_is_request_timeout() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.body_read_timeout = Duration::from_secs(1);
    })
    .await
    .unwrap();
    let mut stream = connect(&app.base).await;
    stream
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
              content-length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();
    let r = read_response(&mut stream).await;
    assert_eq!(r.status, 408);
    assert_eq!(r.error_code(), "request_timeout");
}

#[tokio::test]
async fn stop_is_bounded_by_the_shutdown_timeout() {
    let mut config = test_config(Backend::Sqlite, None);
    config.header_read_timeout = Duration::from_secs(600);
    config.shutdown_timeout = Duration::from_secs(1);
    let running = latchkey_server::start(config, Clock::manual())
        .await
        .unwrap();
    let mut stream = connect(&running.addr.to_string()).await;
    stream.write_all(HALF_HEAD).await.unwrap();
    // Make sure the server holds the connection before it is told to stop.
    let mut probe = connect(&running.addr.to_string()).await;
    probe
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_response(&mut probe).await.status, 200);

    let stopped = tokio::time::timeout(PATIENCE, running.stop()).await;
    assert!(stopped.is_ok(), "stop still waiting after {PATIENCE:?}");
    stopped.unwrap().unwrap();
    assert!(closed_by_server(&mut stream).await);
}

#[tokio::test]
async fn sigterm_with_a_half_sent_request_exits_within_the_shutdown_timeout() {
    let mut server = Proc::start(&[
        ("LATCHKEY_HEADER_READ_TIMEOUT", "10m"),
        ("LATCHKEY_SHUTDOWN_TIMEOUT", "1s"),
    ])
    .await;
    let mut stream = connect(&server.base).await;
    stream.write_all(HALF_HEAD).await.unwrap();
    server.sigterm();
    let status = server.exit_status().await;
    assert!(
        status.is_some(),
        "still running {PATIENCE:?} after SIGTERM:\n{}",
        server.stderr()
    );
    assert!(status.unwrap().success(), "{}", server.stderr());
    assert!(closed_by_server(&mut stream).await);
}

#[tokio::test]
async fn a_request_in_flight_at_sigterm_still_completes() {
    let mut server = Proc::start(&[("LATCHKEY_LOG_LEVEL", "info")]).await;
    let mut stream = connect(&server.base).await;
    let body = br#"{"email":"nobody@example.com","password":"not the password"}"#;
    stream
        .write_all(
            format!(
                "POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                 expect: 100-continue\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // `100 Continue` comes when the handler starts reading the body: the request is in flight.
    let interim = read_response(&mut stream).await;
    assert_eq!(interim.status, 100);

    server.sigterm();
    assert!(
        server.stderr_shows("shutting down").await,
        "{}",
        server.stderr()
    );
    // New connections are no longer accepted...
    eventually_every(Duration::from_millis(50), PATIENCE, || async {
        match tokio::net::TcpStream::connect(server.base.trim_start_matches("http://")).await {
            Ok(_) => Err("still accepting".to_owned()),
            Err(_) => Ok(()),
        }
    })
    .await;
    // ...but the request in flight gets its answer.
    stream.write_all(body).await.unwrap();
    let r = read_response(&mut stream).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error_code(), "invalid_credentials");
    let status = server.exit_status().await;
    assert!(status.is_some_and(|s| s.success()), "{}", server.stderr());
}
