//! Helpers shared by the tests (moved out of `api_keys`).

use crate::helpers::{PASSWORD, TestApp, assert_error_shape, s};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub fn access(grant: &Value) -> String {
    s(grant, "access_token")
}

pub async fn assert_access_refused(app: &TestApp, access_token: &str, what: &str) {
    expect_error(app.me(access_token).await, 401, "invalid_token", what).await;
}

pub async fn assert_access_works(app: &TestApp, access_token: &str, what: &str) {
    expect_status(app.me(access_token).await, 200, what).await;
}

/// `/api/v1/me` with `x-authorization: Agent <token>` is refused with 401 `invalid_token`.
pub async fn assert_agent_refused(app: &TestApp, token: &str, what: &str) {
    let r = app.get_agent("/api/v1/me", token).await;
    expect_error(r, 401, "invalid_token", what).await;
}

/// `/api/v1/me` with `x-authorization: Agent <token>` answers 200; returns the profile.
pub async fn assert_agent_works(app: &TestApp, token: &str, what: &str) -> Value {
    expect_json(app.get_agent("/api/v1/me", token).await, 200, what).await
}

/// `POST /get-token` that must be refused as `invalid_api_key`, in the documented error shape.
pub async fn assert_key_refused(app: &TestApp, api_key: &str, what: &str) {
    let (status, body) = app.get_token(api_key).await;
    assert_eq!(
        status, 401,
        "{what}: get-token should refuse the key: {body}"
    );
    assert_eq!(
        assert_error_shape(status, &body, what),
        "invalid_api_key",
        "{what}: {body}"
    );
}

/// `POST /get-token` that must succeed: the auth token.
pub async fn auth_token(app: &TestApp, api_key: &str) -> String {
    let (status, body) = app.get_token(api_key).await;
    assert_eq!(status, 200, "get-token: {body}");
    let token = body["data"]["auth_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no auth_token in {body}"))
        .to_owned();
    assert!(token.starts_with("lkt_"), "{token}");
    token
}

/// `POST /api/v1/api-keys` that must succeed (201); the created key.
pub async fn create_key(app: &TestApp, access_token: &str, body: Value) -> Value {
    let r = app
        .post_json_auth("/api/v1/api-keys", access_token, &body)
        .await;
    expect_json(r, 201, "create api key").await
}

pub async fn delete_key(app: &TestApp, access_token: &str, id: &str) -> Response {
    app.send_json_auth(
        Method::DELETE,
        &format!("/api/v1/api-keys/{id}"),
        access_token,
        None,
    )
    .await
}

/// Asserts an error response: its status, machine code and the documented shape.
pub async fn expect_error(r: Response, status: u16, code: &str, what: &str) {
    let got = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert_eq!(
        (got, body["error"].as_str()),
        (status, Some(code)),
        "{what}: got {got} {text}"
    );
    assert_error_shape(status, &body, what);
}

/// Asserts a 2xx JSON response with this status and returns its body.
pub async fn expect_json(r: Response, status: u16, what: &str) -> Value {
    let got = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(got, status, "{what}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"))
}

pub async fn expect_status(r: Response, status: u16, what: &str) {
    let got = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(got, status, "{what}: {text}");
}

/// A JSON array of strings as a set.
pub fn json_set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|x| x.as_str().expect("string").to_owned())
        .collect()
}

pub async fn list_keys(app: &TestApp, access_token: &str) -> Vec<Value> {
    let r = app.get_auth("/api/v1/api-keys", access_token).await;
    let body = expect_json(r, 200, "list api keys").await;
    body["api_keys"].as_array().expect("api_keys array").clone()
}

/// An organization: its founder (admin) and a member who joined with the referral code.
pub async fn org_with_member(
    app: &TestApp,
    admin_email: &str,
    member_email: &str,
) -> (Value, Value) {
    let admin = app.signup(admin_email).await;
    assert_eq!(admin["user"]["role"], "admin", "{admin}");
    let org = expect_json(
        app.get_auth("/api/v1/org", &access(&admin)).await,
        200,
        "GET /org",
    )
    .await;
    let member = app
        .signup_with(json!({
            "email": member_email,
            "password": PASSWORD,
            "referral_code": s(&org, "referral_code"),
        }))
        .await;
    assert_eq!(member["user"]["role"], "member", "{member}");
    (admin, member)
}

pub async fn patch_key(app: &TestApp, access_token: &str, id: &str, body: Value) -> Response {
    app.send_json_auth(
        Method::PATCH,
        &format!("/api/v1/api-keys/{id}"),
        access_token,
        Some(&body),
    )
    .await
}

pub fn refresh_token(grant: &Value) -> String {
    s(grant, "refresh_token")
}

pub async fn rotate_key(app: &TestApp, access_token: &str, id: &str, body: Value) -> Response {
    app.post_json_auth(
        &format!("/api/v1/api-keys/{id}/rotate"),
        access_token,
        &body,
    )
    .await
}

pub fn set_of<S: AsRef<str>>(items: &[S]) -> BTreeSet<String> {
    items.iter().map(|x| x.as_ref().to_owned()).collect()
}

/// `PUT /api/v1/admin/users/{id}/scopes` that must succeed.
pub async fn set_scopes(app: &TestApp, admin_access: &str, uid: &str, scopes: &[&str]) {
    let r = app
        .send_json_auth(
            Method::PUT,
            &format!("/api/v1/admin/users/{uid}/scopes"),
            admin_access,
            Some(&json!({ "scopes": scopes })),
        )
        .await;
    let body = expect_json(r, 200, "set scopes").await;
    assert_eq!(json_set(&body["scopes"]), set_of(scopes), "{body}");
}

/// The key handed out in the sign-up response.
pub fn signup_key(grant: &Value) -> String {
    s(&grant["api_key"], "key")
}

pub fn signup_key_id(grant: &Value) -> String {
    s(&grant["api_key"], "id")
}

pub fn user_id(grant: &Value) -> String {
    s(&grant["user"], "user_id")
}
