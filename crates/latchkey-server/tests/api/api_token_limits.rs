//! An API token is not the user: it carries its key's scopes, never the owner's role, and
//! cannot read or act on the account (organization, sessions, keys, admin routes).

use reqwest::Method;
use serde_json::json;

use crate::helpers::api_keys::{access, auth_token, create_key, expect_error, expect_json};
use crate::helpers::{TestApp, s};
use crate::on_all_setups;

async fn a_token_from_a_key_without_scopes_gets_neither_the_account_nor_the_admin_role(
    app: TestApp,
) {
    let admin = app.signup("ann@example.com").await;
    assert_eq!(admin["user"]["role"], "admin");
    let ann = access(&admin);
    let created = create_key(&app, &ann, json!({"name": "bare", "scopes": []})).await;
    let key_id = s(&created, "id");
    let token = auth_token(&app, &s(&created, "key")).await;

    for (method, path) in [
        (Method::GET, "/api/v1/org".to_owned()),
        (Method::GET, "/api/v1/sessions".to_owned()),
        (
            Method::DELETE,
            format!("/api/v1/sessions/{}", s(&admin, "session_id")),
        ),
        (Method::GET, "/api/v1/admin/users".to_owned()),
        (Method::GET, "/api/v1/api-keys".to_owned()),
        (Method::POST, "/api/v1/auth/logout".to_owned()),
    ] {
        let r = app
            .send_json_auth(method.clone(), &path, &token, None)
            .await;
        expect_error(
            r,
            403,
            "forbidden",
            &format!("{method} {path} with an API token"),
        )
        .await;
    }
    // The session is untouched and still sees the organization's referral code.
    let org = expect_json(app.get_auth("/api/v1/org", &ann).await, 200, "org").await;
    assert!(org["referral_code"].is_string(), "{org}");

    let me = expect_json(app.get_auth("/api/v1/me", &token).await, 200, "me").await;
    assert_eq!(me["user_id"], admin["user"]["user_id"], "{me}");
    assert_eq!(me["scopes"], json!([]), "the key's grants only: {me}");
    assert_eq!(me["key_id"], key_id, "{me}");
    assert!(me.get("role").is_none(), "no role for an API token: {me}");
    let me = expect_json(app.get_auth("/api/v1/me", &ann).await, 200, "me").await;
    assert_eq!(me["role"], "admin", "{me}");

    // Forward-auth lets the token through a rule without scopes, but never as an admin.
    let r = app
        .client
        .get(app.url("/api/v1/authorize"))
        .header("x-authorization", format!("Agent {token}"))
        .header("x-forwarded-method", "GET")
        .header("x-forwarded-uri", "/public/page")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let role = r
        .headers()
        .get("x-latchkey-role")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_ne!(role.as_deref(), Some("admin"));
}
on_all_setups!(
    a_token_from_a_key_without_scopes_gets_neither_the_account_nor_the_admin_role,
    |c| c.policy_file = Some(crate::helpers::forward_auth::orders_policy_file())
);
