//! What the hot path shows and keeps: `/me` from the cached record alone (email verification
//! included), only effective scopes, narrowed grants that stay narrowed on every refresh path,
//! and introspection that does not keep an API token alive.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::helpers::api_keys::{
    access, auth_token, expect_json, org_with_member, refresh_token, set_scopes, user_id,
};
use crate::helpers::mail_sink::SmtpSink;
use crate::helpers::oauth::{
    ClientAuth, INTROSPECT, TOKEN, claims_of, password_grant, post_form, token_ok,
};
use crate::helpers::{PASSWORD, TestApp, s};
use crate::on_all_setups;

async fn me(app: &TestApp, token: &str) -> Value {
    expect_json(app.me(token).await, 200, "/me").await
}

on_all_setups!(mail: a_verified_address_shows_on_me_at_once_from_the_cached_record);
async fn a_verified_address_shows_on_me_at_once_from_the_cached_record(
    app: TestApp,
    sink: SmtpSink,
) {
    let user = app.signup("ver@example.com").await;
    let token = access(&user);
    // With Redis, a second instance reads the same records.
    let other = match app.config.redis_url {
        Some(_) => Some(app.sibling().await),
        None => None,
    };
    let instances: Vec<&TestApp> = std::iter::once(&app).chain(other.as_ref()).collect();
    for (i, app) in instances.iter().enumerate() {
        assert_eq!(
            me(app, &token).await["email_verified"],
            false,
            "instance {i}"
        );
    }
    let link = sink.last_to("ver@example.com").await.link_param("token");
    let r = app
        .post(
            "/api/v1/auth/email/verify",
            &json!({"token": link, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 204);
    for (i, app) in instances.iter().enumerate() {
        assert_eq!(
            me(app, &token).await["email_verified"],
            true,
            "instance {i}"
        );
    }

    // `/me` needs no database at all: it answers while the users table is locked.
    let Some(url) = app.config.database_url.clone() else {
        return;
    };
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    for (i, app) in instances.iter().enumerate() {
        let r = app
            .client
            .get(app.url("/api/v1/me"))
            .bearer_auth(&token)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .unwrap_or_else(|e| panic!("instance {i}: /me waited on the database: {e}"));
        let body = expect_json(r, 200, "/me with users locked").await;
        assert_eq!(body["email_verified"], true, "instance {i}: {body}");
    }
    tx.rollback().await.unwrap();
}

async fn scopes_removed_from_the_catalogue_are_not_shown(app: TestApp) {
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let bob = user_id(&member);
    set_scopes(
        &app,
        &access(&admin),
        &bob,
        &["orders:read", "orders:write"],
    )
    .await;
    let mut app = app;
    app.config.scopes.retain(|s| s != "orders:write");
    app.config
        .admin_grantable_scopes
        .retain(|s| s != "orders:write");
    let app = app.restart().await;

    // Stored, but honoured nowhere: shown nowhere either.
    let profile = me(&app, &access(&member)).await;
    assert_eq!(profile["scopes"], json!(["orders:read"]), "{profile}");
    let r = app
        .send_json_auth(Method::GET, "/api/v1/admin/users", &access(&admin), None)
        .await;
    let list = expect_json(r, 200, "member list").await;
    let listed = list["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == bob.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("bob listed: {list}"));
    assert_eq!(listed["scopes"], json!(["orders:read"]), "{listed}");
    // The same for the member a role change answers with.
    let r = app
        .send_json_auth(
            Method::PUT,
            &format!("/api/v1/admin/users/{bob}/role"),
            &access(&admin),
            Some(&json!({"role": "admin"})),
        )
        .await;
    let changed = expect_json(r, 200, "role change").await;
    assert_eq!(changed["scopes"], json!(["orders:read"]), "{changed}");
    // A new token does not carry it either: services that verify tokens offline read the
    // `scope` claim. Nor does the login answer show it.
    let r = app.login("bob@example.com", crate::helpers::PASSWORD).await;
    let fresh = expect_json(r, 200, "login").await;
    assert_eq!(
        claims_of(&access(&fresh))["scope"],
        "orders:read",
        "{fresh}"
    );
    assert_eq!(fresh["user"]["scopes"], json!(["orders:read"]), "{fresh}");
    let r = app.refresh(&refresh_token(&fresh)).await;
    let next = expect_json(r, 200, "refresh").await;
    assert_eq!(claims_of(&access(&next))["scope"], "orders:read", "{next}");
}
on_all_setups!(scopes_removed_from_the_catalogue_are_not_shown);

/// The scopes a token is honoured with, as `/me` shows them.
async fn scopes_on_me(app: &TestApp, token: &str) -> Value {
    me(app, token).await["scopes"].clone()
}

async fn a_narrowed_grant_stays_narrowed_on_every_refresh_path(app: TestApp) {
    app.signup("ann@example.com").await;
    let narrow = password_grant(&app, "ann@example.com", &[("scope", "orders:read")]).await;
    let read_only = json!(["orders:read"]);
    assert_eq!(
        scopes_on_me(&app, &s(&narrow, "access_token")).await,
        read_only
    );

    // The JSON refresh route, twice (the cap must reach the child it stores).
    let mut rt = s(&narrow, "refresh_token");
    for round in 0..2 {
        let r = app.refresh(&rt).await;
        let next = expect_json(r, 200, "JSON refresh").await;
        let at = access(&next);
        assert_eq!(claims_of(&at)["scope"], "orders:read", "round {round}");
        assert_eq!(scopes_on_me(&app, &at).await, read_only, "round {round}");
        rt = refresh_token(&next);
    }
    // The OAuth refresh grant without `scope` on the chain the JSON route continued.
    let params = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];
    let next = token_ok(
        post_form(&app, TOKEN, ClientAuth::None, &params).await,
        "refresh grant",
    )
    .await;
    assert_eq!(next["scope"], "orders:read", "{next}");
    let at = s(&next, "access_token");
    assert_eq!(scopes_on_me(&app, &at).await, read_only);
    // And back on the JSON route.
    let next = expect_json(app.refresh(&s(&next, "refresh_token")).await, 200, "JSON").await;
    let at = access(&next);
    assert_eq!(scopes_on_me(&app, &at).await, read_only);

    // The lenient refresh of the narrowed access token, once it expired.
    app.advance(Duration::from_secs(16 * 60));
    let r = app.post_auth("/api/v1/auth/refresh", &at).await;
    let lenient = expect_json(r, 200, "lenient refresh").await;
    let at = access(&lenient);
    assert_eq!(claims_of(&at)["scope"], "orders:read");
    assert_eq!(scopes_on_me(&app, &at).await, read_only);

    // A whole grant still refreshes whole.
    let full = password_grant(&app, "ann@example.com", &[]).await;
    let next = expect_json(
        app.refresh(&s(&full, "refresh_token")).await,
        200,
        "whole grant",
    )
    .await;
    assert_eq!(
        scopes_on_me(&app, &access(&next)).await,
        json!(["orders:read", "orders:write"])
    );
}
on_all_setups!(a_narrowed_grant_stays_narrowed_on_every_refresh_path, |c| {
    c.default_scopes = vec!["orders:read".into(), "orders:write".into()];
});

async fn introspect(app: &TestApp, kid: &str, key: &str, token: &str) -> Value {
    let r = post_form(
        app,
        INTROSPECT,
        ClientAuth::Basic(kid, key),
        &[("token", token)],
    )
    .await;
    expect_json(r, 200, "introspection").await
}

/// Shortens the life left to key `kid`'s API tokens in Redis, as if they had been idle.
fn redis_expire(app: &TestApp, kid: &str, secs: u64) {
    let url = app.config.redis_url.as_deref().unwrap();
    let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
    let key = format!("{}{{{kid}}}:tok", app.config.redis_prefix);
    let set: i64 = redis::cmd("EXPIRE")
        .arg(&key)
        .arg(secs)
        .query(&mut conn)
        .unwrap();
    assert_eq!(set, 1, "{key} exists");
}

async fn introspection_does_not_extend_an_api_tokens_life(app: TestApp) {
    let owner = app.signup("ann@example.com").await;
    // The resource server's key introspects its own auth token.
    let (kid, key) = crate::helpers::oauth::introspector(&app, &owner).await;
    let token = auth_token(&app, &key).await;
    let first = introspect(&app, &kid, &key, &token).await;
    assert_eq!(first["active"], true, "{first}");
    let exp = first["exp"].as_i64().unwrap();

    if app.config.redis_url.is_some() {
        // Redis keeps the token's time by its own clock: shorten it instead of waiting.
        redis_expire(&app, &kid, 120);
        let now = app.clock.now_secs();
        let info = introspect(&app, &kid, &key, &token).await;
        assert_eq!(info["active"], true, "{info}");
        let left = info["exp"].as_i64().unwrap() - now;
        assert!(
            (0..=121).contains(&left),
            "introspection reports {left}s left"
        );
        let info = introspect(&app, &kid, &key, &token).await;
        let left = info["exp"].as_i64().unwrap() - now;
        assert!(
            (0..=121).contains(&left),
            "introspected again: {left}s left"
        );
        // A use does slide it.
        let r = app.get_agent("/api/v1/me", &token).await;
        assert_eq!(r.status(), 200);
        let info = introspect(&app, &kid, &key, &token).await;
        assert!(info["exp"].as_i64().unwrap() - now > 3000, "{info}");
        return;
    }
    app.advance(Duration::from_secs(59 * 60));
    let info = introspect(&app, &kid, &key, &token).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(
        info["exp"].as_i64().unwrap(),
        exp,
        "introspection moved exp"
    );
    app.advance(Duration::from_secs(2 * 60));
    let info = introspect(&app, &kid, &key, &token).await;
    assert_eq!(info, json!({"active": false}), "expired after its hour");
    let r = app.get_agent("/api/v1/me", &token).await;
    assert_eq!(r.status(), 401);
}
on_all_setups!(introspection_does_not_extend_an_api_tokens_life);
