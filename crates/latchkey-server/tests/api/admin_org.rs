//! What an admin's console reads and changes about the organization itself:
//! `POST /api/v1/admin/referral-code` (the old code stops letting people join at once) and
//! `GET /api/v1/admin/scopes` (the catalogue, with what the caller may grant).

use serde_json::{Value, json};

use crate::helpers::api_keys::{
    access, auth_token, expect_error, expect_json, org_with_member, signup_key,
};
use crate::helpers::operator::{login_token, make_operator};
use crate::helpers::{PASSWORD, TEST_SCOPES, TestApp, s};
use crate::on_all_setups;

async fn org(app: &TestApp, access_token: &str) -> Value {
    expect_json(
        app.get_auth("/api/v1/org", access_token).await,
        200,
        "GET /org",
    )
    .await
}

async fn regenerate(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_auth("/api/v1/admin/referral-code", token).await
}

async fn signup_with_code(app: &TestApp, email: &str, code: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/signup",
        &json!({"email": email, "password": PASSWORD, "referral_code": code}),
    )
    .await
}

async fn regenerating_the_referral_code_retires_the_old_one_at_once(app: TestApp) {
    let (admin, _member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let admin_at = access(&admin);
    let before = org(&app, &admin_at).await;
    let old = s(&before, "referral_code");

    let after = expect_json(regenerate(&app, &admin_at).await, 200, "regenerate").await;
    let new = s(&after, "referral_code");
    assert_ne!(new, old, "{after}");
    assert_eq!(after["org_id"], before["org_id"], "{after}");
    assert_eq!(after["name"], before["name"], "{after}");
    assert_eq!(org(&app, &admin_at).await["referral_code"], new.as_str());

    // Whoever still holds the old code cannot join any more; the new code works.
    let r = signup_with_code(&app, "carol@example.com", &old).await;
    expect_error(r, 422, "unknown_referral_code", "sign-up with the old code").await;
    let r = signup_with_code(&app, "dave@example.com", &new).await;
    let dave = expect_json(r, 201, "sign-up with the new code").await;
    assert_eq!(dave["user"]["role"], "member", "{dave}");
    assert_eq!(dave["user"]["org_id"], before["org_id"], "{dave}");

    // Recorded for the organization's admins, and the log never holds the code.
    let log = expect_json(
        app.get_auth(
            "/api/v1/admin/audit?event=org.referral_code_regenerated",
            &admin_at,
        )
        .await,
        200,
        "audit",
    )
    .await;
    let events = log["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{log}");
    assert_eq!(events[0]["actor_kind"], "user", "{log}");
    assert_eq!(events[0]["actor_id"], admin["user"]["user_id"], "{log}");
    let text = log.to_string();
    assert!(!text.contains(&old) && !text.contains(&new), "{text}");
}
on_all_setups!(regenerating_the_referral_code_retires_the_old_one_at_once);

async fn only_an_admin_session_may_regenerate_the_referral_code(app: TestApp) {
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let code = s(&org(&app, &access(&admin)).await, "referral_code");

    let r = regenerate(&app, &access(&member)).await;
    expect_error(r, 403, "forbidden", "a member").await;
    // The admin's API auth token is not the admin's session.
    let token = auth_token(&app, &signup_key(&admin)).await;
    let r = app
        .client
        .post(app.url("/api/v1/admin/referral-code"))
        .header("x-authorization", format!("Agent {token}"))
        .send()
        .await
        .unwrap();
    expect_error(r, 403, "forbidden", "an API auth token").await;
    let r = regenerate(&app, "not-a-token").await;
    expect_error(r, 401, "invalid_token", "no valid token").await;

    // Nothing changed: the code still lets people join.
    assert_eq!(
        org(&app, &access(&admin)).await["referral_code"],
        code.as_str()
    );
    let r = signup_with_code(&app, "carol@example.com", &code).await;
    expect_json(r, 201, "sign-up with the unchanged code").await;
}
on_all_setups!(only_an_admin_session_may_regenerate_the_referral_code);

async fn catalogue(app: &TestApp, token: &str) -> Vec<(String, bool)> {
    let r = app.get_auth("/api/v1/admin/scopes", token).await;
    let body = expect_json(r, 200, "GET /admin/scopes").await;
    body["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (s(e, "name"), e["grantable"].as_bool().unwrap()))
        .collect()
}

fn expected(grantable: impl Fn(&str) -> bool) -> Vec<(String, bool)> {
    TEST_SCOPES
        .iter()
        .chain(["latchkey:introspect"].iter())
        .map(|n| ((*n).to_owned(), grantable(n)))
        .collect()
}

async fn the_scope_catalogue_says_what_an_admin_may_grant(app: TestApp) {
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    // The operator made only orders:write grantable; orders:read is a default scope.
    assert_eq!(
        catalogue(&app, &access(&admin)).await,
        expected(|n| n == "orders:read" || n == "orders:write")
    );
    let r = app.get_auth("/api/v1/admin/scopes", &access(&member)).await;
    expect_error(r, 403, "forbidden", "a member").await;

    // An operator may grant every scope, reserved ones too, even as a plain member.
    make_operator(&app, "bob@example.com");
    let bob = login_token(&app, "bob@example.com").await;
    assert_eq!(catalogue(&app, &bob).await, expected(|_| true));
}
on_all_setups!(the_scope_catalogue_says_what_an_admin_may_grant, |c| {
    c.admin_grantable_scopes = vec!["orders:write".into()];
    c.default_scopes = vec!["orders:read".into()];
});
