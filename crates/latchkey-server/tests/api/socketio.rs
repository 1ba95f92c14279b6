//! Socket.IO at `/socket.io/` with the real npm `socket.io-client`, driven through node.

use std::time::Duration;

use crate::helpers::TestApp;

/// Runs `node --test <file>` in `tests/socketio` with `SIO_BASE` set to a server started with
/// `config`; `false` when `socket.io-client` is not installed outside CI (skipped).
async fn node_test(file: &'static str, config: latchkey_server::Config) -> bool {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/socketio");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !dir.join("node_modules/socket.io-client").exists() {
        assert!(!ci, "run `npm ci` in {} (scripts/test does)", dir.display());
        eprintln!("skipping: socket.io-client not installed (scripts/test runs npm ci)");
        return false;
    }
    let app = TestApp::start(
        config,
        crate::helpers::Backend::Sqlite,
        latchkey_core::Clock::system(),
    )
    .await;
    let base = app.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .args(["--test", "--test-reporter=spec", file])
            .current_dir(&dir)
            .env("SIO_BASE", base)
            .output()
            .expect("run node")
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "node --test failed:\n{text}");
    true
}

/// The Socket.IO scenarios in `tests/socketio/socketio.test.mjs`, run with node and the real
/// `socket.io-client` (installed by `scripts/test` with `npm ci`) against a server with 10 s
/// access tokens on the system clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_io_client_connects_renews_joins_rooms_and_is_disconnected_at_expiry_and_logout() {
    let mut config = crate::helpers::test_config(crate::helpers::Backend::Sqlite, None);
    config.access_token_ttl = Duration::from_secs(10);
    node_test("socketio.test.mjs", config).await;
}

/// `tests/socketio/same-tick.test.mjs`: 1,000 sockets each emit `join_room` without waiting
/// for `ready` (right after `io()`, or on `connect`), and every one is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_room_emitted_in_the_same_tick_as_the_connection_is_always_answered() {
    let config = crate::helpers::test_config(crate::helpers::Backend::Sqlite, None);
    node_test("same-tick.test.mjs", config).await;
}
