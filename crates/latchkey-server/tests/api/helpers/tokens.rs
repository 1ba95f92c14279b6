//! Helpers shared by the tests (moved out of `tokens`).

use crate::helpers::{PASSWORD, TestApp, error_code};
use serde_json::Value;

/// Asserts a 401 `invalid_token` in the documented shape, with a Bearer challenge.
pub async fn assert_invalid_token(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), 401, "{what}: status");
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer "),
        "{what}: WWW-Authenticate is {challenge:?}"
    );
    assert_eq!(error_code(r).await, "invalid_token", "{what}: error code");
}

/// `/me` answers 200 with this access token.
pub async fn assert_me_works(app: &TestApp, access_token: &str, what: &str) {
    let r = app.me(access_token).await;
    assert_eq!(
        r.status(),
        200,
        "{what}: /me refused a token it should accept"
    );
}

pub async fn login_ok(app: &TestApp, email: &str) -> Value {
    grant_of(app.login(email, PASSWORD).await, "login").await
}

pub async fn refresh_ok(app: &TestApp, refresh_token: &str) -> Value {
    grant_of(app.refresh(refresh_token).await, "refresh").await
}

/// The body of a 200 token response.
pub async fn grant_of(r: reqwest::Response, what: &str) -> Value {
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{what}: {body}");
    body
}
