//! Helpers shared by the tests (moved out of `oauth`).

use crate::helpers::TestApp;
use base64::Engine;
use serde_json::Value;

/// How a request authenticates its client.
pub enum ClientAuth<'a> {
    None,
    /// `Authorization: Basic base64(id:secret)`.
    Basic(&'a str, &'a str),
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
}

pub const INTROSPECT: &str = "/oauth2/introspect";

pub const TOKEN: &str = "/oauth2/token";

/// The claims of a JWT, unverified (the server's own tests check what it signed).
pub fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

/// A resource server's account in the organization of `admin` (its founder's sign-up answer):
/// a member to whom an operator gave the reserved `latchkey:introspect`, which introspection
/// needs. Its sign-up key `(id, key)` follows its scopes.
pub async fn introspector(app: &TestApp, admin: &Value) -> (String, String) {
    use crate::helpers::api_keys::{signup_key, signup_key_id};
    let (rs, _) = introspector_account(app, admin).await;
    (signup_key_id(&rs), signup_key(&rs))
}

/// As `introspector`: the account's sign-up answer, and the operator's access token.
pub async fn introspector_account(app: &TestApp, admin: &Value) -> (Value, String) {
    use crate::helpers::api_keys::{access, expect_json, user_id};
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let ops_email = format!("ops-{}@operators.test", &tag[..12]);
    app.signup(&ops_email).await;
    crate::helpers::operator::make_operator(app, &ops_email);
    let ops = crate::helpers::operator::login_token(app, &ops_email).await;
    let org = expect_json(
        app.get_auth("/api/v1/org", &access(admin)).await,
        200,
        "GET /org",
    )
    .await;
    let rs = app
        .signup_with(
            serde_json::json!({"email": format!("rs-{}@example.com", &tag[..12]),
            "password": crate::helpers::PASSWORD,
            "referral_code": crate::helpers::s(&org, "referral_code")}),
        )
        .await;
    let r = app
        .send_json_auth(
            reqwest::Method::PUT,
            &format!("/api/v1/admin/users/{}/scopes", user_id(&rs)),
            &ops,
            Some(&serde_json::json!({"scopes": ["latchkey:introspect"]})),
        )
        .await;
    expect_json(r, 200, "an operator grants latchkey:introspect").await;
    (rs, ops)
}

/// Password grant for a signed-up user.
pub async fn password_grant(app: &TestApp, email: &str, extra: &[(&str, &str)]) -> Value {
    let mut params = vec![
        ("grant_type", "password"),
        ("username", email),
        ("password", crate::helpers::PASSWORD),
    ];
    params.extend_from_slice(extra);
    token_ok(
        post_form(app, TOKEN, ClientAuth::None, &params).await,
        "password grant",
    )
    .await
}

/// A form-encoded POST, as an OAuth client sends it.
pub async fn post_form(
    app: &TestApp,
    path: &str,
    auth: ClientAuth<'_>,
    params: &[(&str, &str)],
) -> reqwest::Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    match auth {
        ClientAuth::None => {}
        ClientAuth::Basic(id, secret) => {
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", enc(id), enc(secret));
            let b64 = base64::engine::general_purpose::STANDARD.encode(pair);
            req = req.header("authorization", format!("Basic {b64}"));
        }
        ClientAuth::Bearer(token) => req = req.bearer_auth(token),
    }
    req.send().await.unwrap()
}

/// A successful token-endpoint answer (RFC 6749 §5.1): 200, JSON, never cached.
pub async fn token_ok(r: reqwest::Response, what: &str) -> Value {
    let status = r.status();
    assert_no_store(&r, what);
    let ct = header(&r, "content-type");
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{what}: {body}");
    assert!(
        ct.starts_with("application/json"),
        "{what}: content type {ct}"
    );
    assert_eq!(body["token_type"], "Bearer", "{what}: {body}");
    assert!(body["access_token"].is_string(), "{what}: {body}");
    assert!(body["expires_in"].as_i64().unwrap() > 0, "{what}: {body}");
    body
}

pub fn assert_no_store(r: &reqwest::Response, what: &str) {
    assert_eq!(
        header(r, "cache-control"),
        "no-store",
        "{what}: Cache-Control"
    );
}

pub fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}
