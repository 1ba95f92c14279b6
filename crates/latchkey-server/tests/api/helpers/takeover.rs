//! Helpers shared by the tests (moved out of `takeover`).

use crate::helpers::api_keys::{
    assert_agent_refused, assert_agent_works, assert_key_refused, auth_token,
};
use crate::helpers::mfa::totp_code;
use crate::helpers::{PASSWORD, TestApp, error_code, s};
use serde_json::{Value, json};
use std::time::Duration;

/// Nothing the squatter set up works any more.
pub async fn assert_squatter_out(app: &TestApp, sq: &Squatter, email: &str) {
    let r = app.login(email, PASSWORD).await;
    assert_eq!(r.status(), 401, "the squatter's password");
    assert_eq!(error_code(r).await, "invalid_credentials");
    let r = app.me(&sq.access).await;
    assert_eq!(r.status(), 401, "the squatter's access token");
    let r = app.refresh(&sq.refresh).await;
    assert_eq!(r.status(), 401, "the squatter's refresh token");
    assert_key_refused(app, &sq.api_key, "the squatter's API key").await;
    assert_agent_refused(app, &sq.api_token, "the squatter's API token").await;
}

/// Signs up `email` with the test password (unverified), mints an API token and turns TOTP
/// on. With `require_verified` the sign-up answers 403 and holds nothing but the password.
pub async fn squat(app: &TestApp, email: &str) -> Squatter {
    let user = app.signup(email).await;
    let access = s(&user, "access_token");
    let api_key = s(&user["api_key"], "key");
    let api_token = auth_token(app, &api_key).await;
    assert_agent_works(app, &api_token, "the squatter's API token").await;
    let org: Value = app
        .get_auth("/api/v1/org", &access)
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .post_json_auth("/api/v1/mfa/totp/enroll", &access, &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let secret = s(&r.json::<Value>().await.unwrap(), "secret");
    let r = app
        .post_json_auth(
            "/api/v1/mfa/totp/confirm",
            &access,
            &json!({"code": totp_code(app, &secret)}),
        )
        .await;
    assert_eq!(r.status(), 200);
    app.advance(Duration::from_secs(30));
    Squatter {
        user_id: s(&user["user"], "user_id"),
        access,
        refresh: s(&user, "refresh_token"),
        api_key,
        api_token,
        referral_code: s(&org, "referral_code"),
    }
}

/// What the squatter holds after signing up as Zoe: a session (access and refresh token), the
/// default API key and a live API token from it, TOTP, and the organization's referral code.
pub struct Squatter {
    pub user_id: String,
    pub access: String,
    pub refresh: String,
    pub api_key: String,
    pub api_token: String,
    pub referral_code: String,
}
