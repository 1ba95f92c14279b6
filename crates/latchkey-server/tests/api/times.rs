//! Every time in a response has one shape: RFC 3339, UTC, milliseconds
//! (`2026-12-01T03:17:00.000Z`), whatever the value's own precision.

use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::helpers::{TestApp, s};
use crate::on_all_setups;

/// Parses `v[key]` as RFC 3339 and checks the documented shape; returns epoch milliseconds.
fn api_time(v: &Value, key: &str) -> i64 {
    let text = s(v, key);
    let t = OffsetDateTime::parse(&text, &Rfc3339)
        .unwrap_or_else(|e| panic!("{key} = {text:?} is not RFC 3339: {e}"));
    assert!(t.offset().is_utc(), "{key} = {text:?} is not UTC");
    let shape: String = text
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(
        shape, "dddd-dd-ddTdd:dd:dd.dddZ",
        "{key} = {text:?} is not in the one API time format"
    );
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

async fn every_time_in_a_response_has_the_same_rfc3339_millisecond_format(app: TestApp) {
    // An instant with a fraction, so second- and millisecond-precision values differ.
    app.advance(Duration::from_millis(437));
    let now = app.clock.now_ms();
    let grant = app.signup("ann@example.com").await;
    let access_expires = api_time(&grant, "expires_at");
    let refresh_expires = api_time(&grant, "refresh_expires_at");
    assert_eq!(access_expires, (now / 1000 + 15 * 60) * 1000, "{grant}");
    assert_eq!(refresh_expires, now + 7 * 24 * 3600 * 1000, "{grant}");
    assert_eq!(grant["expires_in"], 15 * 60, "{grant}");

    app.advance(Duration::from_millis(1_250));
    let refreshed = crate::helpers::tokens::refresh_ok(&app, &s(&grant, "refresh_token")).await;
    api_time(&refreshed, "expires_at");
    api_time(&refreshed, "refresh_expires_at");

    let access = s(&refreshed, "access_token");
    let r = app.get_auth("/api/v1/sessions", &access).await;
    assert_eq!(r.status(), 200);
    let sessions: Value = r.json().await.unwrap();
    let session = &sessions["sessions"][0];
    assert_eq!(api_time(session, "created_at"), now, "{session}");
    api_time(session, "last_used_at");

    let key_expires = now + 3_600_123;
    let r = app
        .post_json_auth(
            "/api/v1/api-keys",
            &access,
            &json!({"name": "ci", "expires_at": "2099-01-02T03:04:05.678+01:00"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = app
        .post_json_auth(
            "/api/v1/api-keys",
            &access,
            &json!({"name": "ops", "expires_at": latchkey_core::clock::rfc3339_ms(key_expires)}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let (status, body) = app.get_token(&s(&grant["api_key"], "key")).await;
    assert_eq!(status, 200, "{body}");

    let r = app.get_auth("/api/v1/api-keys", &access).await;
    let keys: Value = r.json().await.unwrap();
    let keys = keys["api_keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 3, "{keys:?}");
    for key in &keys {
        api_time(key, "created_at");
        match key["name"].as_str().unwrap() {
            "ci" => assert_eq!(s(key, "expires_at"), "2099-01-02T02:04:05.678Z"),
            "ops" => assert_eq!(api_time(key, "expires_at"), key_expires),
            _ => {
                api_time(key, "last_used_at");
            }
        }
    }
}
on_all_setups!(every_time_in_a_response_has_the_same_rfc3339_millisecond_format);
