//! What the operator reads: an access line per request on standard error, failed logins with a
//! client address and an account reference, and never a token, a query string or an email.

use serde_json::json;

use crate::process::Proc;

#[tokio::test]
async fn logs_have_access_lines_and_failed_logins_without_secrets_or_colour() {
    let server = Proc::start(&[("LATCHKEY_LOG_LEVEL", "info")]).await;
    let client = reqwest::Client::new();

    let r = client
        .get(server.url("/api/v1/sessions?access_token=SECRET-QUERY-TOKEN-7f3a"))
        .header("x-request-id", "req-logs-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["x-request-id"], "req-logs-0001");

    let email = "mallory.logcheck@example.com";
    let r = client
        .post(server.url("/api/v1/auth/login"))
        .header("x-request-id", "req-logs-0002")
        .json(&json!({"email": email, "password": "Not-The-Password-9d1c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A request id that would forge fields in the line is replaced, not logged.
    let r = client
        .get(server.url("/healthz"))
        .header("x-request-id", "x status=200 client_ip=6.6.6.6")
        .send()
        .await
        .unwrap();
    let replaced = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(!replaced.contains("6.6.6.6"), "{replaced}");
    assert!(server.stderr_shows(&replaced).await, "{}", server.stderr());

    assert!(
        server.stderr_shows("req-logs-0002").await,
        "{}",
        server.stderr()
    );
    assert!(server.stderr_shows("login failed").await);
    let log = server.stderr();

    let access = log
        .lines()
        .find(|l| l.contains("req-logs-0001") && l.contains("status="))
        .unwrap_or_else(|| panic!("no access line for the request:\n{log}"));
    for part in [
        "method=GET",
        "route=/api/v1/sessions",
        "status=401",
        "latency_ms=",
        "client_ip=127.0.0.1",
    ] {
        assert!(access.contains(part), "{part} missing in: {access}");
    }
    let login = log.lines().find(|l| l.contains("login failed")).unwrap();
    assert!(login.contains("client_ip=127.0.0.1"), "{login}");
    let account = login
        .split("account=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no account reference: {login}"));
    assert_eq!(account.len(), 12, "{login}");
    assert!(account.bytes().all(|b| b.is_ascii_hexdigit()), "{login}");
    assert!(log.contains("route=/api/v1/auth/login") && log.contains("req-logs-0002"));

    for secret in [
        "SECRET-QUERY-TOKEN",
        "access_token=",
        "mallory",
        "Not-The-Password",
        "6.6.6.6",
    ] {
        assert!(
            !log.contains(secret),
            "{secret} leaked into the log:\n{log}"
        );
    }
    assert!(!log.contains("\x1b["), "colour codes in a log file:\n{log}");
    assert_eq!(server.stdout(), "", "logs belong on standard error");
}
