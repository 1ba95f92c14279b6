//! The trust model: who can get which scope, and what a credential narrower than its user may
//! do. A narrowed OAuth grant acts only through its scopes (no key management, no admin or
//! account routes); organization admins grant only what the operator marked grantable, and
//! operators grant the rest; introspection needs the reserved `latchkey:introspect`, which only
//! operators grant; a single-organization deployment puts every sign-up in one organization.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::api_keys::{
    access, auth_token, expect_error, expect_json, org_with_member, set_scopes, signup_key,
    signup_key_id, user_id,
};
use crate::helpers::forward_auth::{
    ORDERS_POLICY, allowed, decide, orders_policy_file, policy_file, refused,
};
use crate::helpers::oauth::{
    ClientAuth, INTROSPECT, introspector, introspector_account, password_grant, post_form,
};
use crate::helpers::operator::{login_token, make_operator};
use crate::helpers::process::Proc;
use crate::helpers::{PASSWORD, TestApp, s};
use crate::on_all_setups;

async fn put_scopes(app: &TestApp, by: &str, uid: &str, scopes: &[&str]) -> reqwest::Response {
    app.send_json_auth(
        Method::PUT,
        &format!("/api/v1/admin/users/{uid}/scopes"),
        by,
        Some(&json!({ "scopes": scopes })),
    )
    .await
}

/// An operator of the deployment (in an organization of their own), with a fresh session.
async fn operator(app: &TestApp) -> String {
    app.signup("ops@operators.test").await;
    make_operator(app, "ops@operators.test");
    login_token(app, "ops@operators.test").await
}

async fn forbidden(r: reqwest::Response, what: &str) {
    expect_error(r, 403, "forbidden", what).await
}

async fn introspect(app: &TestApp, auth: ClientAuth<'_>, token: &str) -> reqwest::Response {
    post_form(app, INTROSPECT, auth, &[("token", token)]).await
}

const CONSOLE_POLICY: &str = r#"
[[rule]]
path = "/console/**"
scopes = []
role = "admin"
"#;

// Item 4: a grant narrowed to `orders:read` is no admin, manages no keys and reads no account
// data; it passes forward-auth only within its scope.
async fn a_narrowed_grant_acts_only_through_its_scopes(app: TestApp) {
    let (ann, bob) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let (me, full) = (user_id(&ann), access(&ann));
    set_scopes(&app, &full, &me, &["orders:read", "orders:write"]).await;
    let grant = password_grant(&app, "ann@example.com", &[("scope", "orders:read")]).await;
    let narrow = s(&grant, "access_token");
    assert_eq!(grant["scope"], "orders:read", "{grant}");

    // The full sign-in may do all of this (so each refusal below is the cap's doing).
    let r = app
        .post_json_auth(
            "/api/v1/api-keys",
            &full,
            &json!({"name": "w", "scopes": ["orders:write"]}),
        )
        .await;
    expect_json(r, 201, "the full session creates a write key").await;

    for body in [
        json!({"name": "w", "scopes": ["orders:write"]}),
        json!({"name": "r", "scopes": ["orders:read"]}),
        json!({"name": "follows the owner"}),
    ] {
        let r = app.post_json_auth("/api/v1/api-keys", &narrow, &body).await;
        forbidden(r, "a narrowed token creates a key").await;
    }
    forbidden(
        app.get_auth("/api/v1/api-keys", &narrow).await,
        "lists keys",
    )
    .await;
    forbidden(
        app.get_auth("/api/v1/org", &narrow).await,
        "reads the referral code",
    )
    .await;
    forbidden(
        app.get_auth("/api/v1/sessions", &narrow).await,
        "lists sessions",
    )
    .await;
    forbidden(
        app.get_auth("/api/v1/admin/users", &narrow).await,
        "lists members",
    )
    .await;
    let r = put_scopes(&app, &narrow, &me, &["orders:read", "orders:write"]).await;
    forbidden(r, "sets its own scopes as admin").await;
    let r = put_scopes(&app, &narrow, &user_id(&bob), &["orders:write"]).await;
    forbidden(r, "sets a member's scopes").await;
    let r = app
        .send_json_auth(
            Method::PUT,
            &format!("/api/v1/admin/users/{}/role", user_id(&bob)),
            &narrow,
            Some(&json!({"role": "admin"})),
        )
        .await;
    forbidden(r, "sets a member's role").await;
    forbidden(
        app.post_auth("/api/v1/auth/logout-all", &narrow).await,
        "logs out everywhere",
    )
    .await;
    let r = app
        .post_json_auth(
            "/api/v1/auth/password/change",
            &narrow,
            &json!({"current_password": PASSWORD, "new_password": "another long passphrase 42"}),
        )
        .await;
    forbidden(r, "changes the password").await;
    forbidden(
        app.post_auth("/api/v1/mfa/totp/enroll", &narrow).await,
        "enrols a second factor",
    )
    .await;

    // What it may do: say who it is (no admin), and pass forward-auth within its cap.
    let me_body = expect_json(app.me(&narrow).await, 200, "/me").await;
    assert_eq!(me_body["role"], "member", "{me_body}");
    assert_eq!(me_body["scopes"], json!(["orders:read"]), "{me_body}");
    assert_eq!(
        decide(&app, &narrow, "GET", "/orders/1").await,
        allowed(&["orders:read"])
    );
    assert_eq!(
        decide(&app, &narrow, "DELETE", "/orders/1").await,
        refused(403, "insufficient_scope")
    );
    assert_eq!(
        decide(&app, &full, "DELETE", "/orders/1").await,
        allowed(&["orders:read", "orders:write"])
    );
    // Nor is it an admin for a policy rule.
    crate::helpers::forward_auth::replace_policy(
        app.config.policy_file.as_ref().unwrap(),
        &format!("{ORDERS_POLICY}{CONSOLE_POLICY}"),
    );
    let admin = allowed(&["orders:read", "orders:write"]);
    crate::helpers::forward_auth::decides_eventually(&app, &full, "GET", "/console/x", &admin)
        .await;
    assert_eq!(
        decide(&app, &narrow, "GET", "/console/x").await,
        refused(403, "forbidden")
    );
    // It may end its own session.
    assert_eq!(
        app.post_auth("/api/v1/auth/logout", &narrow).await.status(),
        204
    );
    assert_eq!(app.me(&narrow).await.status(), 401);
    assert_eq!(app.me(&full).await.status(), 200, "only that session ended");
}
crate::on_all_setups!(a_narrowed_grant_acts_only_through_its_scopes, |c| c
    .policy_file =
    Some(crate::helpers::forward_auth::orders_policy_file()));

// Item 13: with the default trust model, a stranger who founds an organization cannot grant
// herself a scope the operator did not mark grantable, so the README's policy refuses her.
async fn a_stranger_cannot_grant_herself_a_scope_only_operators_grant(app: TestApp) {
    let (eve, bob) = org_with_member(&app, "eve@example.com", "bob@example.com").await;
    let (at, me) = (access(&eve), user_id(&eve));
    assert_eq!(eve["user"]["scopes"], json!(["orders:read"]), "{eve}");
    let r = put_scopes(&app, &at, &me, &["orders:read", "orders:write"]).await;
    let text = r.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"], "forbidden", "{text}");
    assert!(s(&body, "message").contains("orders:write"), "{text}");
    let r = put_scopes(&app, &at, &user_id(&bob), &["orders:write"]).await;
    expect_error(r, 403, "forbidden", "nor to her member").await;
    let r = put_scopes(&app, &at, &me, &["latchkey:introspect"]).await;
    expect_error(r, 403, "forbidden", "a reserved scope").await;
    // Removing is always possible, and a default scope may be given back.
    expect_json(put_scopes(&app, &at, &me, &[]).await, 200, "remove").await;
    set_scopes(&app, &at, &me, &["orders:read"]).await;

    let token = auth_token(&app, &signup_key(&eve)).await;
    assert_eq!(
        decide(&app, &token, "DELETE", "/orders/42").await,
        refused(403, "insufficient_scope"),
        "the README's policy example refuses her"
    );

    // An operator grants it through the API, in any organization.
    let ops = operator(&app).await;
    let r = put_scopes(&app, &ops, &me, &["orders:read", "orders:write"]).await;
    expect_json(r, 200, "the operator grants orders:write").await;
    assert_eq!(
        decide(&app, &token, "DELETE", "/orders/42").await,
        allowed(&["orders:read", "orders:write"])
    );
    // Her admin may keep what she holds, not spread it.
    set_scopes(&app, &at, &me, &["orders:write"]).await;
    let r = put_scopes(&app, &at, &user_id(&bob), &["orders:write"]).await;
    expect_error(r, 403, "forbidden", "spreading an operator's grant").await;
    // The operator's change is in Eve's organization's log.
    let log = expect_json(
        app.get_auth("/api/v1/admin/audit?event=member.scopes_changed", &at)
            .await,
        200,
        "audit",
    )
    .await;
    assert!(
        log.to_string().contains("by_operator"),
        "the operator's grant is in her log: {log}"
    );
}
on_all_setups!(
    a_stranger_cannot_grant_herself_a_scope_only_operators_grant,
    |c| {
        c.admin_grantable_scopes.clear();
        c.default_scopes = vec!["orders:read".into()];
        c.policy_file = Some(crate::helpers::forward_auth::orders_policy_file());
    }
);

async fn scopes_the_operator_marks_grantable_are_granted_by_admins(app: TestApp) {
    let (eve, bob) = org_with_member(&app, "eve@example.com", "bob@example.com").await;
    set_scopes(&app, &access(&eve), &user_id(&bob), &["billing:read"]).await;
    let r = put_scopes(&app, &access(&eve), &user_id(&bob), &["orders:write"]).await;
    expect_error(r, 403, "forbidden", "not marked grantable").await;
}
on_all_setups!(
    scopes_the_operator_marks_grantable_are_granted_by_admins,
    |c| {
        c.admin_grantable_scopes = vec!["billing:read".into()];
    }
);

// Item 13: the start-up warning.
#[tokio::test]
async fn open_sign_up_with_a_rule_binding_no_organization_is_warned_about() {
    let policy = orders_policy_file();
    let policy = policy.to_str().unwrap();
    let env = [
        ("LATCHKEY_SCOPES", "orders:read orders:write"),
        ("LATCHKEY_POLICY_FILE", policy),
    ];
    let open = Proc::start(&env).await;
    assert!(
        open.stderr_shows("binds no organization").await,
        "{}",
        open.stderr()
    );
    assert!(
        open.stderr().contains("line="),
        "names the rule: {}",
        open.stderr()
    );

    let invite = Proc::start(&[env[0], env[1], ("LATCHKEY_SIGNUP", "invite")]).await;
    let single = Proc::start(&[env[0], env[1], ("LATCHKEY_SINGLE_ORG", "true")]).await;
    let bound = policy_file(
        "[[rule]]\npath = \"/orders/**\"\nscopes = [\"orders:read\"]\norg = \"0b6f\"\n",
    );
    let bound = Proc::start(&[env[0], ("LATCHKEY_POLICY_FILE", bound.to_str().unwrap())]).await;
    for (what, p) in [
        ("invite", &invite),
        ("single org", &single),
        ("bound", &bound),
    ] {
        // Both warnings come from the same start-up step, before the server is healthy.
        assert!(
            !p.stderr().contains("binds no organization"),
            "{what}: {}",
            p.stderr()
        );
    }
}

// Item 13: single-organization mode.
async fn single_org_mode_puts_every_sign_up_in_one_organization(app: TestApp) {
    let (a, b) = tokio::join!(app.signup("ann@example.com"), app.signup("bob@example.com"));
    let cy = app.signup("cy@example.com").await;
    let org = s(&a["user"], "org_id");
    for u in [&b, &cy] {
        assert_eq!(s(&u["user"], "org_id"), org, "one organization: {u}");
    }
    let mut roles: Vec<String> = [&a, &b, &cy]
        .iter()
        .map(|u| s(&u["user"], "role"))
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        ["admin", "member", "member"],
        "the first one founds it"
    );
    let (admin, member) = if a["user"]["role"] == "admin" {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let members = expect_json(
        app.get_auth("/api/v1/admin/users", &access(admin)).await,
        200,
        "members",
    )
    .await;
    assert_eq!(
        members["members"].as_array().map(Vec::len),
        Some(3),
        "{members}"
    );
    let r = put_scopes(&app, &access(member), &user_id(member), &["orders:read"]).await;
    expect_error(r, 403, "forbidden", "a member is no admin").await;
}
on_all_setups!(
    single_org_mode_puts_every_sign_up_in_one_organization,
    |c| {
        c.single_org = true;
    }
);

// Item 14: introspection needs `latchkey:introspect`, which only an operator grants.
async fn only_a_caller_with_the_introspect_scope_may_introspect(app: TestApp) {
    let (ann, bob) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let ann_at = access(&ann);
    let (bkid, bkey) = (signup_key_id(&bob), signup_key(&bob));
    let r = introspect(&app, ClientAuth::Basic(&bkid, &bkey), &ann_at).await;
    assert_eq!(
        r.status(),
        403,
        "a member's key: {}",
        r.text().await.unwrap()
    );
    let (akid, akey) = (signup_key_id(&ann), signup_key(&ann));
    let r = introspect(&app, ClientAuth::Basic(&akid, &akey), &ann_at).await;
    assert_eq!(
        r.status(),
        403,
        "an admin's key: {}",
        r.text().await.unwrap()
    );
    let r = introspect(&app, ClientAuth::Bearer(&ann_at), &ann_at).await;
    assert_eq!(
        r.status(),
        403,
        "an admin's token: {}",
        r.text().await.unwrap()
    );
    let r = put_scopes(&app, &ann_at, &user_id(&bob), &["latchkey:introspect"]).await;
    expect_error(r, 403, "forbidden", "an admin grants latchkey:introspect").await;

    let (rs, ops) = introspector_account(&app, &ann).await;
    let (kid, key) = (signup_key_id(&rs), signup_key(&rs));
    let r = introspect(&app, ClientAuth::Basic(&kid, &key), &ann_at).await;
    let info: Value = r.json().await.unwrap();
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["sub"], user_id(&ann).as_str(), "{info}");
    let r = introspect(&app, ClientAuth::Bearer(&access(&rs)), &ann_at).await;
    let info: Value = r.json().await.unwrap();
    assert_eq!(info["active"], true, "its own access token too: {info}");
    // Taking the scope away stops it at once.
    let r = put_scopes(&app, &ops, &user_id(&rs), &[]).await;
    expect_json(r, 200, "the operator takes it back").await;
    let r = introspect(&app, ClientAuth::Basic(&kid, &key), &ann_at).await;
    assert_eq!(r.status(), 403);
}
on_all_setups!(only_a_caller_with_the_introspect_scope_may_introspect);

// Item 19: a narrowed refresh token reports its narrowed scopes.
async fn introspecting_a_narrowed_refresh_token_reports_the_narrowed_scopes(app: TestApp) {
    let ann = app.signup("ann@example.com").await;
    let (kid, key) = introspector(&app, &ann).await;
    let grant = password_grant(&app, "ann@example.com", &[("scope", "orders:read")]).await;
    let (at, rt) = (s(&grant, "access_token"), s(&grant, "refresh_token"));
    for (token, kind) in [(&rt, "refresh_token"), (&at, "Bearer")] {
        let r = introspect(&app, ClientAuth::Basic(&kid, &key), token).await;
        let info: Value = r.json().await.unwrap();
        assert_eq!(info["active"], true, "{info}");
        assert_eq!(info["token_type"], kind, "{info}");
        assert_eq!(info["scope"], "orders:read", "{kind}: {info}");
    }
    // The full grant's refresh token reports all of them.
    let full = password_grant(&app, "ann@example.com", &[]).await;
    let r = introspect(
        &app,
        ClientAuth::Basic(&kid, &key),
        &s(&full, "refresh_token"),
    )
    .await;
    let info: Value = r.json().await.unwrap();
    assert_eq!(info["scope"], "orders:read orders:write", "{info}");
}
on_all_setups!(
    introspecting_a_narrowed_refresh_token_reports_the_narrowed_scopes,
    |c| {
        c.default_scopes = vec!["orders:read".into(), "orders:write".into()];
    }
);
