//! What the operator reads: an access line per request on standard error, failed logins with a
//! client address and an account reference, and never a token, a query string or an email.

use serde_json::json;

use crate::helpers::process::Proc;

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

/// A value taken from the request (here the provider name of a callback path) cannot end the
/// line and forge the next one, nor carry a terminal escape: the text format escapes control
/// characters in every field.
#[tokio::test]
async fn request_values_cannot_forge_log_lines_or_carry_escapes() {
    let server = Proc::start(&[
        ("LATCHKEY_LOG_LEVEL", "info"),
        ("LATCHKEY_LOG_FORMAT", "text"),
    ])
    .await;
    let forged = "2026-12-07T00:00:00.000000Z  INFO request: method=GET status=200 forged-line";
    let path = format!(
        "/api/v1/oauth/x%0A{}%1B%5B31m%0D%E2%80%AE/callback?code=c&state=s",
        forged.replace(' ', "%20").replace(':', "%3A")
    );
    let r = reqwest::Client::new()
        .get(server.url(&path))
        .header("x-request-id", "req-logs-forge")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(
        server.stderr_shows("provider sign-in refused").await,
        "{}",
        server.stderr()
    );
    assert!(server.stderr_shows("req-logs-forge").await);
    let log = server.stderr();
    // The provider name is in the log, escaped, on the line of its own event.
    let refused = log
        .lines()
        .find(|l| l.contains("provider sign-in refused"))
        .unwrap();
    assert!(refused.contains(r"x\n2026-12-07"), "{refused}");
    assert!(refused.contains(r"\u{1b}[31m\r\u{202e}"), "{refused}");
    assert!(
        !log.lines().any(|l| l.starts_with("2026-12-07T00:00:00")),
        "a forged line:\n{log}"
    );
    for raw in ['\x1b', '\r', '\u{202e}'] {
        assert!(!log.contains(raw), "raw {raw:?} in the log:\n{log}");
    }
}
