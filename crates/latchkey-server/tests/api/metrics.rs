//! `GET /metrics`: Prometheus text that moves when traffic flows. (nextest runs every test in
//! its own process, so the process-wide recorder sees this test's traffic only.)

use std::time::Duration;

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
