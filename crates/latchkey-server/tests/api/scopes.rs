//! Scopes are not frozen into a token. A change to a user's or a
//! key's scopes applies to every live token on its very next check — on every instance — with
//! no new `/get-token` and no new login.

use serde_json::json;

use crate::helpers::api_keys::{
    access, auth_token, create_key, expect_json, json_set, list_keys, org_with_member, patch_key,
    set_of, set_scopes, signup_key, user_id,
};
use crate::helpers::forward_auth::{allowed, authorize, decide, refused};
use crate::helpers::{TestApp, s};
use crate::on_all_setups;

/// The instances to check on: the app itself, plus (with Redis) a second instance that has
/// already served the token, so a per-instance cache would show.
async fn instances(app: TestApp) -> Vec<TestApp> {
    if app.config.redis_url.is_some() {
        let sibling = app.sibling().await;
        vec![app, sibling]
    } else {
        vec![app]
    }
}

const READ: &[&str] = &["orders:read"];
const READ_WRITE: &[&str] = &["orders:read", "orders:write"];

async fn a_members_new_scopes_apply_to_their_live_auth_token_on_the_next_check(app: TestApp) {
    let apps = instances(app).await;
    let a = &apps[0];
    let (admin, member) = org_with_member(a, "ann@example.com", "bob@example.com").await;
    let admin_at = access(&admin);
    let bob = user_id(&member);
    set_scopes(a, &admin_at, &bob, READ).await;
    let token = auth_token(a, &signup_key(&member)).await;
    for app in &apps {
        assert_eq!(
            decide(app, &token, "GET", "/orders/42").await,
            allowed(READ)
        );
        assert_eq!(
            decide(app, &token, "POST", "/orders/42").await,
            refused(403, "insufficient_scope")
        );
    }

    set_scopes(a, &admin_at, &bob, READ_WRITE).await;
    for (i, app) in apps.iter().enumerate() {
        assert_eq!(
            decide(app, &token, "POST", "/orders/42").await,
            allowed(READ_WRITE),
            "instance {i}: the same token, right after the grant"
        );
    }

    set_scopes(a, &admin_at, &bob, &[]).await;
    for (i, app) in apps.iter().enumerate() {
        assert_eq!(
            decide(app, &token, "GET", "/orders/42").await,
            refused(403, "insufficient_scope"),
            "instance {i}: the same token, right after the scopes were taken away"
        );
        assert_eq!(
            decide(app, &token, "POST", "/orders/42").await,
            refused(403, "insufficient_scope"),
            "instance {i}"
        );
        assert_eq!(
            decide(app, &token, "GET", "/public/x").await,
            allowed(&[]),
            "instance {i}: still a valid token"
        );
    }
    assert_eq!(
        auth_token(a, &signup_key(&member)).await,
        token,
        "the token was never re-minted"
    );
}
on_all_setups!(
    a_members_new_scopes_apply_to_their_live_auth_token_on_the_next_check,
    |c| c.policy_file = Some(crate::helpers::forward_auth::orders_policy_file())
);

async fn a_keys_own_scopes_are_cut_to_what_its_owner_holds_now(app: TestApp) {
    let apps = instances(app).await;
    let a = &apps[0];
    let (admin, member) = org_with_member(a, "ann@example.com", "bob@example.com").await;
    let admin_at = access(&admin);
    let bob_at = access(&member);
    let bob = user_id(&member);
    set_scopes(a, &admin_at, &bob, READ_WRITE).await;
    let key = create_key(a, &bob_at, json!({"name": "ci", "scopes": READ_WRITE})).await;
    let kid = s(&key, "id");
    let token = auth_token(a, &s(&key, "key")).await;
    for app in &apps {
        assert_eq!(
            decide(app, &token, "POST", "/orders/42").await,
            allowed(READ_WRITE)
        );
    }

    // The owner loses orders:write: the key keeps it on paper, but cannot grant it.
    set_scopes(a, &admin_at, &bob, READ).await;
    for (i, app) in apps.iter().enumerate() {
        assert_eq!(
            decide(app, &token, "POST", "/orders/42").await,
            refused(403, "insufficient_scope"),
            "instance {i}: the owner no longer holds orders:write"
        );
        assert_eq!(
            decide(app, &token, "GET", "/orders/42").await,
            allowed(READ),
            "instance {i}"
        );
    }
    let keys = list_keys(a, &bob_at).await;
    let view = keys.iter().find(|k| k["id"] == kid.as_str()).unwrap();
    assert_eq!(json_set(&view["scopes"]), set_of(READ_WRITE), "{view}");
    assert_eq!(json_set(&view["effective_scopes"]), set_of(READ), "{view}");

    // The owner gains more than the key asks for: the key gets back only its own.
    set_scopes(
        a,
        &admin_at,
        &bob,
        &["orders:read", "orders:write", "billing:read"],
    )
    .await;
    for (i, app) in apps.iter().enumerate() {
        assert_eq!(
            decide(app, &token, "POST", "/orders/42").await,
            allowed(READ_WRITE),
            "instance {i}: the key's own scopes bound it"
        );
    }

    // The owner narrows the key itself.
    let r = patch_key(a, &bob_at, &kid, json!({"scopes": READ})).await;
    expect_json(r, 200, "narrow the key").await;
    for (i, app) in apps.iter().enumerate() {
        assert_eq!(
            decide(app, &token, "POST", "/orders/42").await,
            refused(403, "insufficient_scope"),
            "instance {i}: right after the key was narrowed"
        );
        assert_eq!(
            decide(app, &token, "GET", "/orders/42").await,
            allowed(READ),
            "instance {i}"
        );
    }

    // …and lets it follow its owner again.
    let r = patch_key(a, &bob_at, &kid, json!({"scopes": null})).await;
    expect_json(r, 200, "follow the owner").await;
    for (i, app) in apps.iter().enumerate() {
        assert_eq!(
            decide(app, &token, "POST", "/orders/42").await,
            allowed(&["orders:read", "orders:write", "billing:read"]),
            "instance {i}: the key follows its owner"
        );
    }
    assert_eq!(
        auth_token(a, &s(&key, "key")).await,
        token,
        "never re-minted"
    );
}
on_all_setups!(a_keys_own_scopes_are_cut_to_what_its_owner_holds_now, |c| {
    c.policy_file = Some(crate::helpers::forward_auth::orders_policy_file())
});

async fn a_users_access_token_carries_the_scopes_they_hold_now_not_those_it_was_issued_with(
    app: TestApp,
) {
    let apps = instances(app).await;
    let a = &apps[0];
    let (admin, member) = org_with_member(a, "ann@example.com", "bob@example.com").await;
    let admin_at = access(&admin);
    let bob = user_id(&member);
    // Issued at sign-up, when bob held no scopes.
    let jwt = access(&member);
    for app in &apps {
        assert_eq!(
            decide(app, &jwt, "GET", "/orders/42").await,
            refused(403, "insufficient_scope")
        );
    }

    set_scopes(a, &admin_at, &bob, READ).await;
    for (i, app) in apps.iter().enumerate() {
        assert_eq!(
            decide(app, &jwt, "GET", "/orders/42").await,
            allowed(READ),
            "instance {i}: the access token issued before the grant"
        );
    }
    set_scopes(a, &admin_at, &bob, READ_WRITE).await;
    for (i, app) in apps.iter().enumerate() {
        assert_eq!(
            decide(app, &jwt, "DELETE", "/orders/42").await,
            allowed(READ_WRITE),
            "instance {i}"
        );
    }
    set_scopes(a, &admin_at, &bob, &[]).await;
    for (i, app) in apps.iter().enumerate() {
        assert_eq!(
            decide(app, &jwt, "GET", "/orders/42").await,
            refused(403, "insufficient_scope"),
            "instance {i}: right after the scopes were taken away"
        );
        let me = expect_json(app.me(&jwt).await, 200, "/me").await;
        assert_eq!(me["scopes"], json!([]), "instance {i}: /me shows them too");
    }
}
on_all_setups!(
    a_users_access_token_carries_the_scopes_they_hold_now_not_those_it_was_issued_with,
    |c| c.policy_file = Some(crate::helpers::forward_auth::orders_policy_file())
);

async fn a_role_change_shows_on_the_members_live_tokens(app: TestApp) {
    let apps = instances(app).await;
    let a = &apps[0];
    let (admin, member) = org_with_member(a, "ann@example.com", "bob@example.com").await;
    let bob_jwt = access(&member);
    let token = auth_token(a, &signup_key(&member)).await;
    let role_of = |r: reqwest::Response| {
        r.headers()
            .get("x-latchkey-role")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    for app in &apps {
        let r = authorize(app, &token, "GET", "/public/x").await;
        assert_eq!(
            role_of(r).as_deref(),
            Some(""),
            "an API token is not the user: no role"
        );
        let r = authorize(app, &bob_jwt, "GET", "/public/x").await;
        assert_eq!(role_of(r).as_deref(), Some("member"));
        let r = app.get_auth("/api/v1/admin/users", &bob_jwt).await;
        assert_eq!(r.status(), 403, "a member");
    }

    let path = format!("/api/v1/admin/users/{}/role", user_id(&member));
    let r = a
        .send_json_auth(
            reqwest::Method::PUT,
            &path,
            &access(&admin),
            Some(&json!({"role": "admin"})),
        )
        .await;
    let view = expect_json(r, 200, "promote").await;
    assert_eq!(view["role"], "admin");
    for (i, app) in apps.iter().enumerate() {
        // The auth token is not the user: it never carries the owner's admin role.
        let r = authorize(app, &token, "GET", "/public/x").await;
        assert_eq!(
            role_of(r).as_deref(),
            Some(""),
            "instance {i}: the key of a promoted member still claims no role"
        );
        let r = authorize(app, &bob_jwt, "GET", "/public/x").await;
        assert_eq!(
            role_of(r).as_deref(),
            Some("admin"),
            "instance {i}: access token"
        );
        let r = app.get_auth("/api/v1/admin/users", &bob_jwt).await;
        assert_eq!(
            r.status(),
            200,
            "instance {i}: the promoted member's old access token"
        );
    }

    let r = a
        .send_json_auth(
            reqwest::Method::PUT,
            &path,
            &access(&admin),
            Some(&json!({"role": "member"})),
        )
        .await;
    expect_json(r, 200, "demote").await;
    for (i, app) in apps.iter().enumerate() {
        let r = authorize(app, &token, "GET", "/public/x").await;
        assert_eq!(role_of(r).as_deref(), Some(""), "instance {i}");
        let r = authorize(app, &bob_jwt, "GET", "/public/x").await;
        assert_eq!(role_of(r).as_deref(), Some("member"), "instance {i}");
        let r = app.get_auth("/api/v1/admin/users", &bob_jwt).await;
        assert_eq!(r.status(), 403, "instance {i}: demoted again");
    }
}
on_all_setups!(a_role_change_shows_on_the_members_live_tokens, |c| c
    .policy_file =
    Some(crate::helpers::forward_auth::orders_policy_file()));
