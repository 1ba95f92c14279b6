//! Organization administration: an admin manages the members of their own organization, and
//! what they do to a member applies to that member's live tokens at once, on every instance.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::api_keys::{
    access, assert_access_refused, assert_access_works, assert_agent_refused, assert_agent_works,
    assert_key_refused, auth_token, create_key, expect_error, expect_json, expect_status, json_set,
    org_with_member, refresh_token, set_of, set_scopes, signup_key, signup_key_id, user_id,
};
use crate::helpers::{PASSWORD, TestApp, s};
use crate::on_all_setups;

/// The app, plus (with Redis) a second instance over the same stores.
async fn instances(app: TestApp) -> Vec<TestApp> {
    if app.config.redis_url.is_some() {
        let sibling = app.sibling().await;
        vec![app, sibling]
    } else {
        vec![app]
    }
}

async fn admin_call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Response {
    app.send_json_auth(
        method,
        &format!("/api/v1/admin{path}"),
        token,
        body.as_ref(),
    )
    .await
}

async fn members(app: &TestApp, admin_access: &str) -> Vec<Value> {
    let r = admin_call(app, Method::GET, "/users", admin_access, None).await;
    let body = expect_json(r, 200, "GET /admin/users").await;
    body["members"].as_array().expect("members array").clone()
}

/// Every admin route, aimed at `target` (and its key `key_id`).
fn admin_routes(target: &str, key_id: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/users".into(), None),
        (
            Method::PUT,
            format!("/users/{target}/scopes"),
            Some(json!({"scopes": ["orders:read"]})),
        ),
        (
            Method::PUT,
            format!("/users/{target}/role"),
            Some(json!({"role": "member"})),
        ),
        (
            Method::PUT,
            format!("/users/{target}/disabled"),
            Some(json!({"disabled": true})),
        ),
        (Method::GET, format!("/users/{target}/api-keys"), None),
        (
            Method::DELETE,
            format!("/users/{target}/api-keys/{key_id}"),
            None,
        ),
        (Method::DELETE, format!("/users/{target}/sessions"), None),
        (Method::DELETE, format!("/users/{target}"), None),
    ]
}

async fn an_admin_lists_the_members_and_their_keys_without_secrets(app: TestApp) {
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let admin_at = access(&admin);
    let bob = user_id(&member);
    set_scopes(&app, &admin_at, &bob, &["orders:read"]).await;
    let extra = create_key(&app, &access(&member), json!({"name": "ci"})).await;

    let list = members(&app, &admin_at).await;
    assert_eq!(list.len(), 2, "{list:?}");
    let ann_view = list
        .iter()
        .find(|m| m["user_id"] == user_id(&admin))
        .unwrap();
    assert_eq!(ann_view["email"], "ann@example.com");
    assert_eq!(ann_view["role"], "admin");
    assert_eq!(ann_view["disabled"], false);
    let bob_view = list.iter().find(|m| m["user_id"] == bob.as_str()).unwrap();
    assert_eq!(bob_view["email"], "bob@example.com");
    assert_eq!(bob_view["role"], "member");
    assert_eq!(bob_view["scopes"], json!(["orders:read"]));
    assert_eq!(bob_view["disabled"], false);
    assert!(bob_view.get("name").is_some(), "{bob_view}");

    let r = admin_call(
        &app,
        Method::GET,
        &format!("/users/{bob}/api-keys"),
        &admin_at,
        None,
    )
    .await;
    let text = r.text().await.unwrap();
    for key in [signup_key(&member), s(&extra, "key")] {
        let secret = &key["lk_".len() + 16 + 1..];
        assert!(!text.contains(secret), "a secret is listed: {text}");
    }
    let body: Value = serde_json::from_str(&text).unwrap();
    let keys = body["api_keys"].as_array().unwrap();
    let ids: std::collections::BTreeSet<&str> =
        keys.iter().map(|k| k["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [signup_key_id(&member), s(&extra, "id")]
            .iter()
            .map(String::as_str)
            .collect()
    );
    for k in keys {
        assert!(k.get("key").is_none(), "{k}");
        assert_eq!(
            json_set(&k["effective_scopes"]),
            set_of(&["orders:read"]),
            "{k}"
        );
    }
}
on_all_setups!(an_admin_lists_the_members_and_their_keys_without_secrets);

async fn disabling_a_member_stops_their_auth_access_and_refresh_tokens_at_once(app: TestApp) {
    let apps = instances(app).await;
    let a = &apps[0];
    let (admin, member) = org_with_member(a, "ann@example.com", "bob@example.com").await;
    let bob = user_id(&member);
    let key = signup_key(&member);
    let token = auth_token(a, &key).await;
    for app in &apps {
        assert_agent_works(app, &token, "before").await;
        assert_access_works(app, &access(&member), "before").await;
    }

    let r = admin_call(
        a,
        Method::PUT,
        &format!("/users/{bob}/disabled"),
        &access(&admin),
        Some(json!({"disabled": true})),
    )
    .await;
    expect_status(r, 204, "disable").await;
    for (i, app) in apps.iter().enumerate() {
        let what = format!("instance {i}, right after the disable");
        assert_agent_refused(app, &token, &what).await;
        assert_access_refused(app, &access(&member), &what).await;
        assert_key_refused(app, &key, &what).await;
    }
    let r = apps[apps.len() - 1].refresh(&refresh_token(&member)).await;
    expect_error(r, 401, "invalid_token", "refresh of a disabled member").await;
    let r = a.login("bob@example.com", PASSWORD).await;
    expect_error(r, 403, "account_disabled", "login of a disabled member").await;
    let list = members(a, &access(&admin)).await;
    let view = list.iter().find(|m| m["user_id"] == bob.as_str()).unwrap();
    assert_eq!(view["disabled"], true, "{view}");
    assert_access_works(a, &access(&admin), "the admin is unaffected").await;

    let r = admin_call(
        a,
        Method::PUT,
        &format!("/users/{bob}/disabled"),
        &access(&admin),
        Some(json!({"disabled": false})),
    )
    .await;
    expect_status(r, 204, "enable").await;
    let r = a.login("bob@example.com", PASSWORD).await;
    expect_status(r, 200, "login after re-enabling").await;
    let fresh = auth_token(a, &key).await;
    assert_agent_works(&apps[apps.len() - 1], &fresh, "the key after re-enabling").await;
    let r = apps[apps.len() - 1].refresh(&refresh_token(&member)).await;
    expect_error(r, 401, "invalid_token", "the old session stays ended").await;
}
on_all_setups!(disabling_a_member_stops_their_auth_access_and_refresh_tokens_at_once);

async fn removing_a_member_stops_all_their_tokens_at_once(app: TestApp) {
    let apps = instances(app).await;
    let a = &apps[0];
    let (admin, member) = org_with_member(a, "ann@example.com", "bob@example.com").await;
    let admin_at = access(&admin);
    let bob = user_id(&member);
    let key = signup_key(&member);
    let second = create_key(a, &access(&member), json!({"name": "ci"})).await;
    let token = auth_token(a, &key).await;
    let second_token = auth_token(a, &s(&second, "key")).await;
    for app in &apps {
        assert_agent_works(app, &token, "before").await;
        assert_agent_works(app, &second_token, "before").await;
    }

    let r = admin_call(a, Method::DELETE, &format!("/users/{bob}"), &admin_at, None).await;
    expect_status(r, 204, "remove").await;
    for (i, app) in apps.iter().enumerate() {
        let what = format!("instance {i}, right after the removal");
        assert_agent_refused(app, &token, &what).await;
        assert_agent_refused(app, &second_token, &what).await;
        assert_access_refused(app, &access(&member), &what).await;
        assert_key_refused(app, &key, &what).await;
        assert_key_refused(app, &s(&second, "key"), &what).await;
    }
    let r = apps[apps.len() - 1].refresh(&refresh_token(&member)).await;
    expect_error(r, 401, "invalid_token", "refresh of a removed member").await;
    let r = a.login("bob@example.com", PASSWORD).await;
    expect_error(r, 401, "invalid_credentials", "login of a removed member").await;

    let list = members(a, &admin_at).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let r = admin_call(
        a,
        Method::GET,
        &format!("/users/{bob}/api-keys"),
        &admin_at,
        None,
    )
    .await;
    expect_error(r, 404, "not_found", "a removed member's keys").await;
    let r = admin_call(a, Method::DELETE, &format!("/users/{bob}"), &admin_at, None).await;
    expect_error(r, 404, "not_found", "removed twice").await;
}
on_all_setups!(removing_a_member_stops_all_their_tokens_at_once);

async fn a_member_cannot_use_the_admin_routes(app: TestApp) {
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let ann = user_id(&admin);
    let ann_token = auth_token(&app, &signup_key(&admin)).await;
    let bob_at = access(&member);

    for target in [ann.clone(), user_id(&member)] {
        for (method, path, body) in admin_routes(&target, &signup_key_id(&admin)) {
            let r = admin_call(&app, method.clone(), &path, &bob_at, body).await;
            expect_error(r, 403, "forbidden", &format!("member: {method} {path}")).await;
        }
    }
    // An admin's API auth token is not the admin's session either.
    for (method, path, body) in admin_routes(&user_id(&member), &signup_key_id(&member)) {
        let r = admin_call(&app, method.clone(), &path, &ann_token, body).await;
        expect_error(r, 403, "forbidden", &format!("auth token: {method} {path}")).await;
    }

    // Nothing happened.
    let list = members(&app, &access(&admin)).await;
    assert_eq!(list.len(), 2);
    for m in &list {
        assert_eq!(m["disabled"], false, "{m}");
        assert_eq!(m["scopes"], json!([]), "{m}");
    }
    assert_agent_works(&app, &ann_token, "ann's token").await;
    assert_access_works(&app, &bob_at, "bob's own session").await;
    let me = expect_json(app.me(&access(&admin)).await, 200, "ann").await;
    assert_eq!(me["role"], "admin");
}
on_all_setups!(a_member_cannot_use_the_admin_routes);

async fn an_admin_cannot_reach_the_users_of_another_organization(app: TestApp) {
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let carol = app.signup("carol@example.com").await;
    let carol_id = user_id(&carol);
    let carol_token = auth_token(&app, &signup_key(&carol)).await;
    let admin_at = access(&admin);

    for (method, path, body) in admin_routes(&carol_id, &signup_key_id(&carol)) {
        if path == "/users" {
            continue;
        }
        let r = admin_call(&app, method.clone(), &path, &admin_at, body).await;
        expect_error(r, 404, "not_found", &format!("{method} {path}")).await;
    }
    // Nor another organization's key through one of their own members.
    let path = format!(
        "/users/{}/api-keys/{}",
        user_id(&member),
        signup_key_id(&carol)
    );
    let r = admin_call(&app, Method::DELETE, &path, &admin_at, None).await;
    expect_error(r, 404, "not_found", "carol's key under bob").await;

    let list = members(&app, &admin_at).await;
    assert!(
        list.iter().all(|m| m["user_id"] != carol_id.as_str()),
        "{list:?}"
    );
    assert_agent_works(&app, &carol_token, "carol's token").await;
    assert_access_works(&app, &access(&carol), "carol's session").await;
    assert_eq!(auth_token(&app, &signup_key(&carol)).await, carol_token);
    let me = expect_json(app.me(&access(&carol)).await, 200, "carol").await;
    assert_eq!(me["role"], "admin", "{me}");
    assert_eq!(me["scopes"], json!([]), "{me}");
}
on_all_setups!(an_admin_cannot_reach_the_users_of_another_organization);

async fn an_admin_cannot_demote_disable_or_remove_themselves(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let at = access(&grant);
    let me = user_id(&grant);
    for (method, path, body) in [
        (
            Method::PUT,
            format!("/users/{me}/role"),
            Some(json!({"role": "member"})),
        ),
        (
            Method::PUT,
            format!("/users/{me}/disabled"),
            Some(json!({"disabled": true})),
        ),
        (Method::DELETE, format!("/users/{me}"), None),
    ] {
        let r = admin_call(&app, method.clone(), &path, &at, body).await;
        expect_error(r, 403, "forbidden", &format!("{method} {path}")).await;
    }
    assert_access_works(&app, &at, "still in").await;
    let list = members(&app, &at).await;
    assert_eq!(list[0]["role"], "admin");
    assert_eq!(list[0]["disabled"], false);
    // Their own scopes they may set.
    set_scopes(&app, &at, &me, &["orders:read"]).await;
}
on_all_setups!(an_admin_cannot_demote_disable_or_remove_themselves);

async fn an_unknown_role_is_an_invalid_request(app: TestApp) {
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let r = admin_call(
        &app,
        Method::PUT,
        &format!("/users/{}/role", user_id(&member)),
        &access(&admin),
        Some(json!({"role": "owner"})),
    )
    .await;
    expect_error(r, 400, "invalid_request", "role owner").await;
    let r = admin_call(
        &app,
        Method::PUT,
        &format!("/users/{}/scopes", user_id(&member)),
        &access(&admin),
        Some(json!({"scopes": ["has space"]})),
    )
    .await;
    expect_error(r, 400, "invalid_request", "a bad scope name").await;
    let me = expect_json(app.me(&access(&member)).await, 200, "bob").await;
    assert_eq!(me["role"], "member");
    assert_eq!(me["scopes"], json!([]));
}
on_all_setups!(an_unknown_role_is_an_invalid_request);

async fn an_admin_revoking_a_members_key_kills_its_token_at_once(app: TestApp) {
    let apps = instances(app).await;
    let a = &apps[0];
    let (admin, member) = org_with_member(a, "ann@example.com", "bob@example.com").await;
    let bob = user_id(&member);
    let doomed = signup_key(&member);
    let kept = create_key(a, &access(&member), json!({"name": "kept"})).await;
    let doomed_token = auth_token(a, &doomed).await;
    let kept_token = auth_token(a, &s(&kept, "key")).await;
    for app in &apps {
        assert_agent_works(app, &doomed_token, "before").await;
    }

    let path = format!("/users/{bob}/api-keys/{}", signup_key_id(&member));
    let r = admin_call(a, Method::DELETE, &path, &access(&admin), None).await;
    expect_status(r, 204, "revoke bob's key").await;
    for (i, app) in apps.iter().enumerate() {
        let what = format!("instance {i}, right after the revocation");
        assert_agent_refused(app, &doomed_token, &what).await;
        assert_key_refused(app, &doomed, &what).await;
        assert_agent_works(app, &kept_token, &what).await;
    }
    let r = admin_call(a, Method::DELETE, &path, &access(&admin), None).await;
    expect_error(r, 404, "not_found", "revoked twice").await;
    // A key is revoked under its owner only.
    let path = format!("/users/{bob}/api-keys/{}", signup_key_id(&admin));
    let r = admin_call(a, Method::DELETE, &path, &access(&admin), None).await;
    expect_error(r, 404, "not_found", "ann's key under bob").await;
    let ann_token = auth_token(a, &signup_key(&admin)).await;
    assert_agent_works(a, &ann_token, "ann's key was not touched").await;
}
on_all_setups!(an_admin_revoking_a_members_key_kills_its_token_at_once);

async fn an_admin_revoking_a_members_sessions_kills_their_access_tokens_at_once(app: TestApp) {
    let apps = instances(app).await;
    let a = &apps[0];
    let (admin, member) = org_with_member(a, "ann@example.com", "bob@example.com").await;
    let bob = user_id(&member);
    let second = expect_json(a.login("bob@example.com", PASSWORD).await, 200, "login").await;
    for app in &apps {
        assert_access_works(app, &access(&member), "before").await;
        assert_access_works(app, &access(&second), "before").await;
    }

    let r = admin_call(
        a,
        Method::DELETE,
        &format!("/users/{bob}/sessions"),
        &access(&admin),
        None,
    )
    .await;
    let body = expect_json(r, 200, "revoke bob's sessions").await;
    assert_eq!(body["sessions_revoked"], 2, "{body}");
    for (i, app) in apps.iter().enumerate() {
        let what = format!("instance {i}, right after the revocation");
        assert_access_refused(app, &access(&member), &what).await;
        assert_access_refused(app, &access(&second), &what).await;
    }
    for grant in [&member, &second] {
        let r = apps[apps.len() - 1].refresh(&refresh_token(grant)).await;
        expect_error(r, 401, "invalid_token", "refresh of a revoked session").await;
    }
    assert_access_works(a, &access(&admin), "the admin's own session").await;
    let r = a.login("bob@example.com", PASSWORD).await;
    expect_status(r, 200, "bob may log in again").await;
}
on_all_setups!(an_admin_revoking_a_members_sessions_kills_their_access_tokens_at_once);
