//! Who can get which scope: only scopes of the operator's catalogue can be granted or count,
//! and a policy rule can demand an organization or a role as well, since anyone may found an
//! organization and grant its own members any catalogue scope.

use latchkey_core::Clock;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::api_keys::{
    access, auth_token, create_key, expect_error, expect_json, org_with_member, patch_key,
    set_scopes, signup_key, user_id,
};
use crate::helpers::forward_auth::{
    allowed, decide, decides_eventually, orders_policy_file, refused, replace_policy,
};
use crate::helpers::{Backend, TestApp, s, test_config};
use crate::on_all_setups;

async fn put_scopes(app: &TestApp, admin: &str, uid: &str, scopes: Value) -> reqwest::Response {
    app.send_json_auth(
        Method::PUT,
        &format!("/api/v1/admin/users/{uid}/scopes"),
        admin,
        Some(&json!({ "scopes": scopes })),
    )
    .await
}

async fn error_message(r: reqwest::Response, status: u16, code: &str) -> String {
    let text = r.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (body["code"].as_u64(), body["error"].as_str()),
        (Some(u64::from(status)), Some(code)),
        "{text}"
    );
    s(&body, "message")
}

async fn a_founder_cannot_grant_scopes_outside_the_catalogue(app: TestApp) {
    // No referral code: Eve founds an organization and is its admin.
    let eve = app.signup("eve@example.com").await;
    let at = access(&eve);
    let me = user_id(&eve);
    let r = put_scopes(&app, &at, &me, json!(["orders:write", "admin"])).await;
    let message = error_message(r, 422, "unknown_scope").await;
    assert!(
        message.contains("admin"),
        "names the unknown scope: {message}"
    );
    let r = put_scopes(&app, &at, &me, json!(["superuser"])).await;
    expect_error(r, 422, "unknown_scope", "a scope nobody listed").await;
    let r = put_scopes(&app, &at, &me, json!(["has space"])).await;
    expect_error(r, 400, "invalid_request", "a malformed name stays a 400").await;
    let profile = expect_json(app.me(&at).await, 200, "me").await;
    assert_eq!(
        profile["scopes"],
        json!([]),
        "nothing was granted: {profile}"
    );

    // API keys: only catalogue scopes, and only the owner's.
    let r = app
        .post_json_auth(
            "/api/v1/api-keys",
            &at,
            &json!({"name": "k", "scopes": ["admin"]}),
        )
        .await;
    expect_error(r, 422, "unknown_scope", "a key with an unknown scope").await;
    set_scopes(&app, &at, &me, &["orders:read"]).await;
    let key = create_key(&app, &at, json!({"name": "k", "scopes": ["orders:read"]})).await;
    let r = patch_key(&app, &at, &s(&key, "id"), json!({"scopes": ["admin"]})).await;
    expect_error(
        r,
        422,
        "unknown_scope",
        "rescoping a key to an unknown scope",
    )
    .await;

    // Forward-auth sees only the catalogue scope.
    let token = auth_token(&app, &signup_key(&eve)).await;
    assert_eq!(
        decide(&app, &token, "GET", "/orders/1").await,
        allowed(&["orders:read"])
    );
    assert_eq!(
        decide(&app, &token, "DELETE", "/orders/1").await,
        refused(403, "insufficient_scope")
    );
}
mod founder {
    use crate::helpers::forward_auth::orders_policy_file;
    use crate::helpers::{Backend, TestApp};
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn embedded() {
        let policy = orders_policy_file();
        let app = TestApp::spawn_with(Backend::Sqlite, |c| c.policy_file = Some(policy))
            .await
            .unwrap();
        super::a_founder_cannot_grant_scopes_outside_the_catalogue(app).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_redis() {
        let policy = orders_policy_file();
        if let Some(app) = TestApp::spawn_redis_with(|c| c.policy_file = Some(policy)).await {
            super::a_founder_cannot_grant_scopes_outside_the_catalogue(app).await;
        }
    }
}

async fn without_a_catalogue_no_scope_can_be_granted(app: TestApp) {
    let ann = app.signup("ann@example.com").await;
    let r = put_scopes(&app, &access(&ann), &user_id(&ann), json!(["orders:read"])).await;
    expect_error(r, 422, "unknown_scope", "empty catalogue").await;
    let r = put_scopes(&app, &access(&ann), &user_id(&ann), json!([])).await;
    expect_json(r, 200, "clearing scopes is always possible").await;
}
mod empty_catalogue {
    use crate::helpers::{Backend, TestApp};
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn embedded() {
        let app = TestApp::spawn_with(Backend::Sqlite, |c| {
            c.scopes.clear();
            c.admin_grantable_scopes.clear();
        })
        .await
        .unwrap();
        super::without_a_catalogue_no_scope_can_be_granted(app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_scopes_outside_the_catalogue_stop_the_server_from_starting() {
    let mut config = test_config(Backend::Sqlite, None);
    config.default_scopes = vec!["orders:read".into(), "everything".into()];
    let e = match latchkey_server::start(config, Clock::manual()).await {
        Ok(running) => {
            running.stop().await.unwrap();
            panic!("started with a default scope outside the catalogue");
        }
        Err(e) => format!("{e:#}"),
    };
    assert!(e.contains("everything"), "{e}");

    let mut config = test_config(Backend::Sqlite, None);
    config.default_scopes = vec!["orders:read".into()];
    let running = latchkey_server::start(config, Clock::manual())
        .await
        .expect("catalogue default scopes start");
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_removed_from_the_catalogue_stops_counting_at_once() {
    let policy = orders_policy_file();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.policy_file = Some(policy))
        .await
        .unwrap();
    let ann = app.signup("ann@example.com").await;
    set_scopes(
        &app,
        &access(&ann),
        &user_id(&ann),
        &["orders:read", "orders:write"],
    )
    .await;
    let token = auth_token(&app, &signup_key(&ann)).await;
    assert_eq!(
        decide(&app, &token, "DELETE", "/orders/1").await,
        allowed(&["orders:read", "orders:write"])
    );
    let mut app = app;
    app.config.scopes.retain(|s| s != "orders:write");
    app.config
        .admin_grantable_scopes
        .retain(|s| s != "orders:write");
    let app = app.restart().await;
    let token = auth_token(&app, &signup_key(&ann)).await;
    assert_eq!(
        decide(&app, &token, "DELETE", "/orders/1").await,
        refused(403, "insufficient_scope")
    );
    assert_eq!(
        decide(&app, &access(&ann), "GET", "/orders/1").await,
        allowed(&["orders:read"])
    );
}

async fn policy_rules_can_require_an_organization_and_a_role(app: TestApp) {
    let (ann, bob) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let org = s(&ann["user"], "org_id");
    set_scopes(&app, &access(&ann), &user_id(&bob), &["orders:write"]).await;
    // Eve founds her own organization and grants herself the very same scope.
    let eve = app.signup("eve@example.com").await;
    set_scopes(&app, &access(&eve), &user_id(&eve), &["orders:write"]).await;
    let path = app.config.policy_file.clone().unwrap();
    replace_policy(
        &path,
        &format!(
            r#"
[[rule]]
methods = ["DELETE"]
path = "/orders/**"
scopes = ["orders:write"]
org = "{org}"

[[rule]]
path = "/admin/**"
scopes = []
org = ["{org}", "another-org"]
role = "admin"

[[rule]]
path = "/profile/**"
scopes = []
role = "member"
"#
        ),
    );
    let bob_at = access(&bob);
    // The old policy has no /profile rule: once this passes, the new one is in force.
    decides_eventually(
        &app,
        &bob_at,
        "GET",
        "/profile/x",
        &allowed(&["orders:write"]),
    )
    .await;
    let forbidden = refused(403, "forbidden");
    let ann_key = auth_token(&app, &signup_key(&ann)).await;
    let bob_key = auth_token(&app, &signup_key(&bob)).await;
    let eve_at = access(&eve);
    let eve_key = auth_token(&app, &signup_key(&eve)).await;
    let ann_at = access(&ann);
    let table = [
        (
            &eve_at,
            "DELETE",
            "/orders/1",
            forbidden.clone(),
            "eve: another organization",
        ),
        (
            &eve_key,
            "DELETE",
            "/orders/1",
            forbidden.clone(),
            "eve's key",
        ),
        (
            &bob_key,
            "DELETE",
            "/orders/1",
            allowed(&["orders:write"]),
            "bob's key",
        ),
        (
            &ann_at,
            "DELETE",
            "/orders/1",
            refused(403, "insufficient_scope"),
            "ann",
        ),
        (
            &ann_at,
            "GET",
            "/admin/users",
            allowed(&[]),
            "the org's admin",
        ),
        (
            &ann_key,
            "GET",
            "/admin/users",
            forbidden.clone(),
            "an admin's key is not the admin",
        ),
        (
            &bob_at,
            "GET",
            "/admin/users",
            forbidden.clone(),
            "a member",
        ),
        (
            &eve_at,
            "GET",
            "/admin/users",
            forbidden.clone(),
            "another org's admin",
        ),
        (
            &bob_at,
            "GET",
            "/profile/x",
            allowed(&["orders:write"]),
            "a user's session",
        ),
        (
            &eve_at,
            "GET",
            "/profile/x",
            allowed(&["orders:write"]),
            "any org",
        ),
        (
            &bob_key,
            "GET",
            "/profile/x",
            forbidden.clone(),
            "a key holds no role",
        ),
    ];
    for (token, method, uri, want, what) in table {
        assert_eq!(
            decide(&app, token, method, uri).await,
            want,
            "{what}: {method} {uri}"
        );
    }
    let r = crate::helpers::forward_auth::authorize(&app, &bob_key, "DELETE", "/orders/1").await;
    assert_eq!(
        r.headers()["x-latchkey-org"],
        org.as_str(),
        "the organization travels along"
    );
}
on_all_setups!(policy_rules_can_require_an_organization_and_a_role, |c| c
    .policy_file =
    Some(crate::helpers::forward_auth::orders_policy_file()));
