//! The client address behind reverse proxies: only what a trusted proxy appended counts, so a
//! client cannot pick its own rate-limit bucket or the address recorded on its session.

use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, error_code, s};

const LOGIN: &str = "/api/v1/auth/login";

/// The test client connects from 127.0.0.1: that is the proxy here.
fn behind_loopback_proxy(c: &mut latchkey_server::Config) {
    c.trusted_proxies = vec!["127.0.0.1/32".into()];
    c.login_limit_per_ip = 5;
}

async fn login_via(app: &TestApp, header: (&str, &str), password: &str) -> reqwest::Response {
    app.client
        .post(app.url(LOGIN))
        .header(header.0, header.1)
        .json(&json!({"email": "ann@example.com", "password": password}))
        .send()
        .await
        .unwrap()
}

/// The IP recorded on the session `grant` opened, as `GET /api/v1/sessions` shows it.
async fn session_ip(app: &TestApp, grant: &Value) -> Value {
    let r = app
        .get_auth("/api/v1/sessions", &s(grant, "access_token"))
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let sessions = body["sessions"].as_array().unwrap();
    let this = sessions
        .iter()
        .find(|x| x["id"] == grant["session_id"])
        .expect("the session is listed");
    this["ip"].clone()
}

/// Six wrong passwords, each with a different forged left-hand `X-Forwarded-For` hop but the
/// same real address appended by the proxy: the per-IP limit (5) stops the sixth, and a login
/// from that address records it, not the forged one.
async fn forged_forwarded_hops_do_not_escape_the_per_ip_limit(app: TestApp) {
    app.signup("ann@example.com").await;
    for i in 1..=6 {
        let xff = format!("198.51.100.{i}, 203.0.113.9");
        let r = login_via(&app, ("x-forwarded-for", &xff), "wrong password here").await;
        let want = if i <= 5 { 401 } else { 429 };
        assert_eq!(r.status(), want, "attempt {i}");
        let code = error_code(r).await;
        assert_eq!(
            code,
            if i <= 5 {
                "invalid_credentials"
            } else {
                "rate_limited"
            }
        );
    }
    // The right password from the same real client is still held back by the per-IP limit...
    let r = login_via(
        &app,
        ("x-forwarded-for", "198.51.100.99, 203.0.113.9"),
        PASSWORD,
    )
    .await;
    assert_eq!(r.status(), 429);
    // ...while another client behind the same proxy gets in, and its session names it.
    let r = login_via(
        &app,
        ("x-forwarded-for", "198.51.100.7, 203.0.113.10"),
        PASSWORD,
    )
    .await;
    assert_eq!(r.status(), 200);
    let grant: Value = r.json().await.unwrap();
    assert_eq!(session_ip(&app, &grant).await, "203.0.113.10");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_forwarded_hops_do_not_escape_the_per_ip_limit_embedded() {
    let app = TestApp::spawn_with(Backend::Sqlite, behind_loopback_proxy)
        .await
        .unwrap();
    forged_forwarded_hops_do_not_escape_the_per_ip_limit(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_forwarded_hops_do_not_escape_the_per_ip_limit_postgres_redis() {
    if let Some(app) = TestApp::spawn_redis_with(behind_loopback_proxy).await {
        forged_forwarded_hops_do_not_escape_the_per_ip_limit(app).await;
    }
}

#[tokio::test]
async fn the_rfc_7239_forwarded_header_names_the_client() {
    let app = TestApp::spawn_with(Backend::Sqlite, behind_loopback_proxy)
        .await
        .unwrap();
    app.signup("ann@example.com").await;
    let forwarded = r#"for=198.51.100.1, for="[2001:db8:cafe::17]:4711";proto=https"#;
    let r = login_via(&app, ("forwarded", forwarded), PASSWORD).await;
    assert_eq!(r.status(), 200);
    let grant: Value = r.json().await.unwrap();
    assert_eq!(session_ip(&app, &grant).await, "2001:db8:cafe::17");
}

#[tokio::test]
async fn without_trusted_proxies_forwarding_headers_are_ignored() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.login_limit_per_ip = 5)
        .await
        .unwrap();
    app.signup("ann@example.com").await;
    for i in 1..=5 {
        let xff = format!("198.51.100.{i}");
        let r = login_via(&app, ("x-forwarded-for", &xff), "wrong password here").await;
        assert_eq!(r.status(), 401, "attempt {i}");
    }
    // Five failures from 127.0.0.1, whatever the header said: the limit is reached.
    let r = login_via(&app, ("x-forwarded-for", "203.0.113.50"), PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert_eq!(error_code(r).await, "rate_limited");

    let other = TestApp::spawn(Backend::Sqlite).await.unwrap();
    other.signup("ann@example.com").await;
    let r = login_via(&other, ("forwarded", "for=203.0.113.50"), PASSWORD).await;
    assert_eq!(r.status(), 200);
    let grant: Value = r.json().await.unwrap();
    assert_eq!(session_ip(&other, &grant).await, "127.0.0.1");
}

async fn login_with_headers(
    app: &TestApp,
    headers: &[(&str, &str)],
    password: &str,
) -> reqwest::Response {
    let mut r = app.client.post(app.url(LOGIN));
    for (name, value) in headers {
        r = r.header(*name, *value);
    }
    r.json(&json!({"email": "ann@example.com", "password": password}))
        .send()
        .await
        .unwrap()
}

/// The proxy appends the client's address to `X-Forwarded-For` and passes a client's
/// `Forwarded` through. A client that has spent its per-IP budget cannot add `Forwarded:
/// for=unknown` (or any other address) to be counted elsewhere, in particular not under the
/// proxy's own address: contradicting headers are refused, and the proxy's bucket stays whole.
async fn a_client_cannot_move_into_the_proxys_bucket(app: TestApp) {
    app.signup("ann@example.com").await;
    let real = ("x-forwarded-for", "198.51.100.7, 203.0.113.9");
    for i in 1..=5 {
        let r = login_with_headers(&app, &[real], "wrong password here").await;
        assert_eq!(r.status(), 401, "attempt {i}");
    }
    let r = login_with_headers(&app, &[real], "wrong password here").await;
    assert_eq!(r.status(), 429);
    for forwarded in [
        "for=unknown",
        r#"for="_hidden""#,
        "for=198.51.100.1",
        "proto=https",
    ] {
        for _ in 0..3 {
            let r = login_with_headers(
                &app,
                &[real, ("forwarded", forwarded)],
                "wrong password here",
            )
            .await;
            assert_eq!(r.status(), 400, "{forwarded}: no extra guess");
            assert_eq!(error_code(r).await, "invalid_request");
        }
    }
    // Headers that agree name the same client, whose budget is spent.
    let r = login_with_headers(&app, &[real, ("forwarded", "for=203.0.113.9")], PASSWORD).await;
    assert_eq!(r.status(), 429);
    // The proxy's own address (a request with no forwarding header) was never charged.
    let r = login_with_headers(&app, &[], PASSWORD).await;
    assert_eq!(r.status(), 200);
    let grant: Value = r.json().await.unwrap();
    assert_eq!(session_ip(&app, &grant).await, "127.0.0.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cannot_move_into_the_proxys_bucket_embedded() {
    let app = TestApp::spawn_with(Backend::Sqlite, behind_loopback_proxy)
        .await
        .unwrap();
    a_client_cannot_move_into_the_proxys_bucket(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cannot_move_into_the_proxys_bucket_postgres_redis() {
    if let Some(app) = TestApp::spawn_redis_with(behind_loopback_proxy).await {
        a_client_cannot_move_into_the_proxys_bucket(app).await;
    }
}
