//! API keys: the key every user gets at sign-up, `/get-token`, key management, rotation and
//! deletion (tokens must not outlive their key's secret).
//!
//! The helpers at the top are shared by `scopes.rs`, `forward_auth.rs`, `admin.rs` and
//! `instances.rs`.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::api_keys::{
    access, assert_agent_refused, assert_agent_works, assert_key_refused, auth_token, create_key,
    delete_key, expect_error, expect_json, expect_status, json_set, list_keys, org_with_member,
    patch_key, rotate_key, set_of, set_scopes, signup_key, signup_key_id, user_id,
};
use crate::helpers::{Backend, TestApp, s};
use crate::on_all_setups;

pub const MINUTE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// A key that parses (`lk_<16>_<secret>`) but was never issued.
pub fn unknown_key() -> String {
    let id: String = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
    format!(
        "lk_{id}_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The listed key with this id.
pub fn find<'a>(keys: &'a [Value], id: &str) -> &'a Value {
    keys.iter()
        .find(|k| k["id"] == id)
        .unwrap_or_else(|| panic!("key {id} not listed: {keys:?}"))
}

fn rfc3339(ms: i64) -> String {
    latchkey_core::clock::rfc3339_ms(ms)
}

// ---------------------------------------------------------------------------------------------
// /get-token
// ---------------------------------------------------------------------------------------------

async fn the_key_from_sign_up_gets_an_auth_token_that_calls_the_api(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let key = &grant["api_key"];
    let id = s(key, "id");
    assert_eq!(id.len(), 16, "{key}");
    assert_eq!(s(key, "prefix"), format!("lk_{id}"));
    assert!(s(key, "key").starts_with(&format!("lk_{id}_")), "{key}");
    assert_eq!(key["scopes"], json!([]), "follows the owner, who has none");

    let r = app
        .post("/get-token", &json!({"api_key": s(key, "key")}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    let token = s(&body["data"], "auth_token");
    assert!(token.starts_with("lkt_"), "{body}");
    assert_eq!(
        body,
        json!({
            "data": {"auth_token": token, "expires_in": 3600},
            "status": "success",
            "code": 200,
            "message": "token successfully created",
        })
    );

    let me = assert_agent_works(&app, &token, "Agent header").await;
    assert_eq!(me["email"], "ann@example.com");
    assert_eq!(me["user_id"], grant["user"]["user_id"]);
    let r = app.get_auth("/api/v1/me", &token).await;
    let me = expect_json(r, 200, "auth token as Bearer").await;
    assert_eq!(me["email"], "ann@example.com");
}
on_all_setups!(the_key_from_sign_up_gets_an_auth_token_that_calls_the_api);

async fn get_token_twice_returns_the_same_token_with_a_full_lifetime(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let key = signup_key(&grant);
    let first = auth_token(&app, &key).await;
    let (_, again) = app.get_token(&key).await;
    assert_eq!(
        again["data"]["auth_token"],
        first.as_str(),
        "same live token"
    );

    app.advance(30 * MINUTE);
    let (status, later) = app.get_token(&key).await;
    assert_eq!(status, 200, "{later}");
    assert_eq!(
        later["data"]["auth_token"],
        first.as_str(),
        "still the same token"
    );
    assert_eq!(
        later["data"]["expires_in"], 3600,
        "expiry reset to the full hour"
    );
    assert_agent_works(&app, &first, "the token after 30 minutes").await;
}
on_all_setups!(get_token_twice_returns_the_same_token_with_a_full_lifetime);

async fn parallel_first_calls_to_get_token_all_receive_one_token(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let key = signup_key(&grant);
    let calls = (0..20).map(|_| app.get_token(&key));
    let tokens: BTreeSet<String> = join_all(calls)
        .await
        .into_iter()
        .map(|(status, body)| {
            assert_eq!(status, 200, "{body}");
            s(&body["data"], "auth_token")
        })
        .collect();
    assert_eq!(tokens.len(), 1, "one token for one key: {tokens:?}");
    let token = tokens.into_iter().next().unwrap();
    assert_agent_works(&app, &token, "the shared token").await;
}
on_all_setups!(parallel_first_calls_to_get_token_all_receive_one_token);

/// The embedded store runs on the manual clock, so a token's hour can be walked through: an
/// auth token lives an hour from its last use or its last `/get-token`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth_token_lapses_after_an_hour_without_use_and_use_or_get_token_extends_it() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let grant = app.signup("ann@example.com").await;
    let at = access(&grant);
    let reset_key = signup_key(&grant);
    let used_key = s(&create_key(&app, &at, json!({"name": "used"})).await, "key");
    let idle_key = s(&create_key(&app, &at, json!({"name": "idle"})).await, "key");
    let reset = auth_token(&app, &reset_key).await;
    let used = auth_token(&app, &used_key).await;
    let idle = auth_token(&app, &idle_key).await;

    app.advance(30 * MINUTE);
    assert_eq!(
        auth_token(&app, &reset_key).await,
        reset,
        "same token at 30 min"
    );
    assert_agent_works(&app, &used, "used at 30 min").await;

    app.advance(31 * MINUTE);
    assert_agent_refused(&app, &idle, "unused for 61 minutes").await;
    assert_agent_works(&app, &used, "used at 30 min, checked at 61").await;
    assert_agent_works(&app, &reset, "get-token at 30 min, checked at 61").await;

    // The key itself is fine: it mints a new token for the one that lapsed.
    let fresh = auth_token(&app, &idle_key).await;
    assert_ne!(fresh, idle, "a lapsed token is not handed back");
    assert_agent_works(&app, &fresh, "new token after the lapse").await;
    assert_agent_refused(&app, &idle, "the lapsed token stays dead").await;
}

async fn unknown_malformed_and_wrong_secret_keys_are_refused_at_get_token(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let id = signup_key_id(&grant);
    assert_key_refused(&app, &unknown_key(), "well-formed but never issued").await;
    let wrong = format!("lk_{id}_{}", "x".repeat(43));
    assert_key_refused(&app, &wrong, "right id, wrong secret").await;
    for bad in [
        "",
        "hello",
        "lk_",
        "lk_short_secret",
        "Bearer lk_x",
        id.as_str(),
    ] {
        assert_key_refused(&app, bad, &format!("malformed {bad:?}")).await;
    }
    // The real key still works after all that.
    auth_token(&app, &signup_key(&grant)).await;

    for (body, what) in [
        (json!({}), "no api_key"),
        (json!({"api_key": 42}), "api_key not a string"),
        (
            json!({"api_key": signup_key(&grant), "extra": 1}),
            "unknown field",
        ),
    ] {
        let r = app.post("/get-token", &body).await;
        expect_error(r, 400, "invalid_request", what).await;
    }
    let r = app
        .client
        .post(app.url("/get-token"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "invalid_request", "malformed JSON").await;
}
on_all_setups!(unknown_malformed_and_wrong_secret_keys_are_refused_at_get_token);

async fn a_key_past_its_expiry_mints_nothing_and_its_live_token_stops(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let expires_at = rfc3339(app.clock.now_ms() + 3_600_000);
    let created = create_key(
        &app,
        &access(&grant),
        json!({"name": "short-lived", "expires_at": expires_at}),
    )
    .await;
    let key = s(&created, "key");
    let listed = list_keys(&app, &access(&grant)).await;
    let view = listed.iter().find(|k| k["id"] == created["id"]).unwrap();
    assert_eq!(view["expires_at"], expires_at.as_str(), "{view}");

    let token = auth_token(&app, &key).await;
    app.advance(59 * MINUTE);
    assert_agent_works(&app, &token, "59 minutes: the key is still valid").await;
    app.advance(2 * MINUTE);
    // The token was used a minute ago, so only the key's expiry can refuse it.
    assert_agent_refused(&app, &token, "the key expired a minute ago").await;
    assert_key_refused(&app, &key, "expired key").await;
    app.advance(60 * MINUTE);
    assert_key_refused(&app, &key, "expired key, two hours on").await;
    // Other keys of the user are not affected.
    auth_token(&app, &signup_key(&grant)).await;
}
on_all_setups!(a_key_past_its_expiry_mints_nothing_and_its_live_token_stops);

// ---------------------------------------------------------------------------------------------
// Using an auth token
// ---------------------------------------------------------------------------------------------

async fn x_api_key_must_be_the_key_of_the_token(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let key = signup_key(&grant);
    let other = s(
        &create_key(&app, &access(&grant), json!({"name": "other"})).await,
        "key",
    );
    let token = auth_token(&app, &key).await;
    let bob = app.signup("bob@example.com").await;

    let call = |api_key: String, scheme: &'static str| {
        let mut req = app.client.get(app.url("/api/v1/me"));
        req = match scheme {
            "agent" => req.header("x-authorization", format!("Agent {token}")),
            _ => req.bearer_auth(&token),
        };
        req.header("x-api-key", api_key).send()
    };
    for scheme in ["agent", "bearer"] {
        let r = call(key.clone(), scheme).await.unwrap();
        expect_status(r, 200, &format!("{scheme}: matching x-api-key")).await;
        let r = call(other.clone(), scheme).await.unwrap();
        let what = format!("{scheme}: another key of the same user");
        expect_error(r, 401, "invalid_api_key", &what).await;
        let r = call(signup_key(&bob), scheme).await.unwrap();
        let what = format!("{scheme}: another user's key");
        expect_error(r, 401, "invalid_api_key", &what).await;
        let r = call(unknown_key(), scheme).await.unwrap();
        let what = format!("{scheme}: unknown key");
        expect_error(r, 401, "invalid_api_key", &what).await;
        let r = call("garbage".into(), scheme).await.unwrap();
        let what = format!("{scheme}: malformed key");
        expect_error(r, 401, "invalid_api_key", &what).await;
    }
    // A user's access token has no key to match.
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(access(&grant))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "x-api-key beside an access token");
}
on_all_setups!(x_api_key_must_be_the_key_of_the_token);

async fn agent_and_bearer_in_the_wrong_header_are_refused(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let token = auth_token(&app, &signup_key(&grant)).await;
    let get = |name: &'static str, value: String| {
        app.client
            .get(app.url("/api/v1/me"))
            .header(name, value)
            .send()
    };
    let r = get("authorization", format!("Agent {token}"))
        .await
        .unwrap();
    expect_error(r, 401, "invalid_token", "Agent in Authorization").await;
    let r = get("x-authorization", format!("Bearer {token}"))
        .await
        .unwrap();
    expect_error(r, 401, "invalid_token", "Bearer in x-authorization").await;
    let r = get("x-authorization", format!("agent {token}"))
        .await
        .unwrap();
    expect_status(r, 200, "the Agent scheme is case-insensitive").await;
    let r = get("authorization", format!("Bearer {token}"))
        .await
        .unwrap();
    expect_status(r, 200, "Bearer in Authorization").await;
    let r = get("x-authorization", "Agent".into()).await.unwrap();
    expect_error(r, 401, "missing_token", "Agent without a token").await;
    let r = get("x-authorization", format!("Agent {token}x"))
        .await
        .unwrap();
    expect_error(r, 401, "invalid_token", "a tampered auth token").await;
}
on_all_setups!(agent_and_bearer_in_the_wrong_header_are_refused);

// ---------------------------------------------------------------------------------------------
// Managing keys
// ---------------------------------------------------------------------------------------------

async fn keys_can_be_created_listed_renamed_rescoped_and_deleted(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let at = access(&grant);
    set_scopes(
        &app,
        &at,
        &user_id(&grant),
        &["orders:read", "orders:write"],
    )
    .await;

    let ci = create_key(&app, &at, json!({"name": "ci", "scopes": ["orders:read"]})).await;
    let ci_id = s(&ci, "id");
    assert_eq!(s(&ci, "prefix"), format!("lk_{ci_id}"));
    assert!(s(&ci, "key").starts_with(&format!("lk_{ci_id}_")), "{ci}");
    assert_eq!(ci["scopes"], json!(["orders:read"]));
    let all = create_key(&app, &at, json!({"name": "all"})).await;
    assert_eq!(
        json_set(&all["scopes"]),
        set_of(&["orders:read", "orders:write"]),
        "no scopes given: follows the owner"
    );
    assert_ne!(all["id"], ci["id"]);

    let keys = list_keys(&app, &at).await;
    let names: BTreeSet<&str> = keys.iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, BTreeSet::from(["default", "ci", "all"]), "{keys:?}");
    let ci_view = find(&keys, &ci_id);
    assert_eq!(ci_view["prefix"], ci["prefix"]);
    assert_eq!(ci_view["scopes"], json!(["orders:read"]));
    assert_eq!(ci_view["effective_scopes"], json!(["orders:read"]));
    assert!(ci_view["created_at"].is_string(), "{ci_view}");
    assert_eq!(ci_view["last_used_at"], Value::Null, "never used yet");
    assert_eq!(ci_view["expires_at"], Value::Null);
    let default = find(&keys, &signup_key_id(&grant));
    assert_eq!(
        default["scopes"],
        Value::Null,
        "the default key follows its owner"
    );
    assert_eq!(
        json_set(&default["effective_scopes"]),
        set_of(&["orders:read", "orders:write"])
    );

    auth_token(&app, &s(&ci, "key")).await;
    let keys = list_keys(&app, &at).await;
    let ci_view = find(&keys, &ci_id);
    assert!(ci_view["last_used_at"].is_string(), "used once: {ci_view}");

    let r = patch_key(
        &app,
        &at,
        &ci_id,
        json!({"name": "ci-2", "scopes": ["orders:write"]}),
    )
    .await;
    let view = expect_json(r, 200, "rename and rescope").await;
    assert_eq!(view["name"], "ci-2");
    assert_eq!(view["scopes"], json!(["orders:write"]));
    assert_eq!(view["effective_scopes"], json!(["orders:write"]));
    let r = patch_key(&app, &at, &ci_id, json!({"name": "ci-3"})).await;
    let view = expect_json(r, 200, "rename only").await;
    assert_eq!(
        view["scopes"],
        json!(["orders:write"]),
        "absent scopes stay"
    );
    let r = patch_key(&app, &at, &ci_id, json!({"scopes": null})).await;
    let view = expect_json(r, 200, "follow the owner again").await;
    assert_eq!(view["name"], "ci-3", "absent name stays");
    assert_eq!(view["scopes"], Value::Null);
    assert_eq!(
        json_set(&view["effective_scopes"]),
        set_of(&["orders:read", "orders:write"])
    );
    let r = patch_key(&app, &at, &ci_id, json!({"scopes": ["billing:admin"]})).await;
    expect_error(r, 403, "insufficient_scope", "rescope beyond the owner").await;
    let r = patch_key(&app, &at, &ci_id, json!({"name": ""})).await;
    expect_error(r, 400, "invalid_request", "empty name").await;
    let keys = list_keys(&app, &at).await;
    assert_eq!(find(&keys, &ci_id)["name"], "ci-3");
    assert_eq!(
        find(&keys, &ci_id)["scopes"],
        Value::Null,
        "refused patches changed nothing"
    );

    let r = delete_key(&app, &at, &ci_id).await;
    expect_status(r, 204, "delete").await;
    let keys = list_keys(&app, &at).await;
    let ids: Vec<&str> = keys.iter().map(|k| k["id"].as_str().unwrap()).collect();
    assert!(!ids.contains(&ci_id.as_str()), "{ids:?}");
    assert_eq!(keys.len(), 2);
    let r = delete_key(&app, &at, &ci_id).await;
    expect_error(r, 404, "not_found", "delete twice").await;
    assert_key_refused(&app, &s(&ci, "key"), "deleted key").await;
}
on_all_setups!(keys_can_be_created_listed_renamed_rescoped_and_deleted);

async fn a_key_secret_is_never_listed(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let at = access(&grant);
    let created = create_key(&app, &at, json!({"name": "ci"})).await;
    let rotated = expect_json(
        rotate_key(
            &app,
            &at,
            &s(&created, "id"),
            json!({"overlap_seconds": 60}),
        )
        .await,
        200,
        "rotate",
    )
    .await;
    let secrets: Vec<String> = [signup_key(&grant), s(&created, "key"), s(&rotated, "key")]
        .iter()
        .map(|k| k["lk_".len() + 16 + 1..].to_owned())
        .collect();

    let r = app.get_auth("/api/v1/api-keys", &at).await;
    let text = r.text().await.unwrap();
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret is listed: {text}"
        );
    }
    let body: Value = serde_json::from_str(&text).unwrap();
    for k in body["api_keys"].as_array().unwrap() {
        assert!(k.get("key").is_none(), "no key field: {k}");
        assert!(k.get("secret").is_none(), "no secret field: {k}");
    }
}
on_all_setups!(a_key_secret_is_never_listed);

async fn a_key_cannot_carry_scopes_its_owner_does_not_hold(app: TestApp) {
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let bob = access(&member);
    let r = app
        .post_json_auth(
            "/api/v1/api-keys",
            &bob,
            &json!({"name": "k", "scopes": ["orders:read"]}),
        )
        .await;
    expect_error(r, 403, "insufficient_scope", "a scope bob does not hold").await;

    set_scopes(&app, &access(&admin), &user_id(&member), &["orders:read"]).await;
    let r = app
        .post_json_auth(
            "/api/v1/api-keys",
            &bob,
            &json!({"name": "k", "scopes": ["orders:read", "orders:write"]}),
        )
        .await;
    expect_error(r, 403, "insufficient_scope", "one scope too many").await;
    let key = create_key(&app, &bob, json!({"name": "k", "scopes": ["orders:read"]})).await;
    assert_eq!(key["scopes"], json!(["orders:read"]));
    assert_eq!(
        list_keys(&app, &bob).await.len(),
        2,
        "the refused keys were not created"
    );

    for (body, what) in [
        (
            json!({"name": "k", "scopes": ["has space"]}),
            "bad scope name",
        ),
        (json!({"name": ""}), "empty name"),
        (
            json!({"name": "k", "expires_at": "tomorrow"}),
            "expires_at not RFC 3339",
        ),
        (
            json!({"name": "k", "expires_at": rfc3339(app.clock.now_ms() - 1000)}),
            "expires_at in the past",
        ),
    ] {
        let r = app.post_json_auth("/api/v1/api-keys", &bob, &body).await;
        expect_error(r, 400, "invalid_request", what).await;
    }
}
on_all_setups!(a_key_cannot_carry_scopes_its_owner_does_not_hold);

async fn key_routes_need_the_users_access_token_not_an_auth_token(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let id = signup_key_id(&grant);
    let token = auth_token(&app, &signup_key(&grant)).await;

    let r = app.get_auth("/api/v1/api-keys", &token).await;
    expect_error(r, 403, "forbidden", "list with an auth token").await;
    let r = app
        .post_json_auth("/api/v1/api-keys", &token, &json!({"name": "sneaky"}))
        .await;
    expect_error(r, 403, "forbidden", "create with an auth token").await;
    let r = patch_key(&app, &token, &id, json!({"name": "renamed"})).await;
    expect_error(r, 403, "forbidden", "patch with an auth token").await;
    let r = rotate_key(&app, &token, &id, json!({})).await;
    expect_error(r, 403, "forbidden", "rotate with an auth token").await;
    let r = delete_key(&app, &token, &id).await;
    expect_error(r, 403, "forbidden", "delete with an auth token").await;

    // Nothing changed: one key, its token alive.
    let keys = list_keys(&app, &access(&grant)).await;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["name"], "default");
    assert_agent_works(&app, &token, "the token after the refused calls").await;

    let r = app.get_auth("/api/v1/api-keys", "").await;
    assert_eq!(r.status(), 401, "no token at all");
}
on_all_setups!(key_routes_need_the_users_access_token_not_an_auth_token);

async fn another_users_key_is_not_found(app: TestApp) {
    let ann = app.signup("ann@example.com").await;
    let bob = app.signup("bob@example.com").await;
    let ann_key = signup_key_id(&ann);
    let token = auth_token(&app, &signup_key(&ann)).await;
    let at = access(&bob);

    let r = patch_key(&app, &at, &ann_key, json!({"name": "mine now"})).await;
    expect_error(r, 404, "not_found", "patch another's key").await;
    let r = rotate_key(&app, &at, &ann_key, json!({})).await;
    expect_error(r, 404, "not_found", "rotate another's key").await;
    let r = delete_key(&app, &at, &ann_key).await;
    expect_error(r, 404, "not_found", "delete another's key").await;
    let r = delete_key(&app, &at, "aaaaaaaaaaaaaaaa").await;
    expect_error(r, 404, "not_found", "delete an unknown key").await;

    assert_agent_works(&app, &token, "ann's token is untouched").await;
    assert_eq!(auth_token(&app, &signup_key(&ann)).await, token);
    let keys = list_keys(&app, &access(&ann)).await;
    assert_eq!(keys[0]["name"], "default", "not renamed");
    assert_eq!(list_keys(&app, &at).await.len(), 1, "bob sees only his key");
}
on_all_setups!(another_users_key_is_not_found);

// ---------------------------------------------------------------------------------------------
// Rotation and deletion: no token outlives its key's secret
// ---------------------------------------------------------------------------------------------

async fn rotating_a_key_refuses_its_old_token_at_once_and_spares_the_other_keys(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let at = access(&grant);
    let id = signup_key_id(&grant);
    let old_key = signup_key(&grant);
    let other_key = s(
        &create_key(&app, &at, json!({"name": "other"})).await,
        "key",
    );
    let old_token = auth_token(&app, &old_key).await;
    let other_token = auth_token(&app, &other_key).await;
    assert_agent_works(&app, &old_token, "before the rotation").await;

    let r = app
        .client
        .post(app.url(&format!("/api/v1/api-keys/{id}/rotate")))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    let rotated = expect_json(r, 200, "rotate without a body").await;
    assert_eq!(rotated["id"], id.as_str(), "same key id");
    assert_eq!(rotated["prefix"], format!("lk_{id}"));
    let new_key = s(&rotated, "key");
    assert_ne!(new_key, old_key);
    assert!(new_key.starts_with(&format!("lk_{id}_")), "{new_key}");

    assert_agent_refused(&app, &old_token, "the old token right after the rotation").await;
    assert_key_refused(&app, &old_key, "the old secret").await;
    let new_token = auth_token(&app, &new_key).await;
    assert_ne!(new_token, old_token);
    assert_agent_works(&app, &new_token, "a token of the new secret").await;
    assert_agent_refused(&app, &old_token, "the old token stays refused").await;

    assert_agent_works(&app, &other_token, "another key's token").await;
    assert_eq!(
        auth_token(&app, &other_key).await,
        other_token,
        "the other key still hands back its live token"
    );

    // Twice in a row, with `{}`: the second rotation ends the first one's secret and token.
    let again = expect_json(
        rotate_key(&app, &at, &id, json!({})).await,
        200,
        "rotate again",
    )
    .await;
    assert_agent_refused(&app, &new_token, "the token of the first rotation").await;
    assert_key_refused(&app, &new_key, "the secret of the first rotation").await;
    assert_agent_works(&app, &auth_token(&app, &s(&again, "key")).await, "latest").await;
}
on_all_setups!(rotating_a_key_refuses_its_old_token_at_once_and_spares_the_other_keys);

async fn rotating_with_an_overlap_keeps_the_old_secret_and_token_until_it_ends(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let at = access(&grant);
    let id = signup_key_id(&grant);
    let old_key = signup_key(&grant);
    let old_token = auth_token(&app, &old_key).await;

    let r = rotate_key(&app, &at, &id, json!({"overlap_seconds": 300})).await;
    let new_key = s(&expect_json(r, 200, "rotate with overlap").await, "key");
    assert_agent_works(&app, &old_token, "old token inside the overlap").await;
    assert_eq!(
        auth_token(&app, &old_key).await,
        old_token,
        "the old secret still mints, and hands back its live token"
    );
    let new_token = auth_token(&app, &new_key).await;
    assert_ne!(new_token, old_token, "the new secret has its own token");
    assert_agent_works(&app, &new_token, "new token").await;

    app.advance(Duration::from_secs(299));
    assert_agent_works(&app, &old_token, "old token at 299 s").await;
    app.advance(Duration::from_secs(2));
    assert_agent_refused(&app, &old_token, "old token after the overlap").await;
    assert_key_refused(&app, &old_key, "old secret after the overlap").await;
    assert_agent_works(&app, &new_token, "new token after the overlap").await;
    assert_eq!(auth_token(&app, &new_key).await, new_token);

    let r = rotate_key(&app, &at, &id, json!({"overlap_seconds": 8 * 24 * 3600})).await;
    expect_error(r, 400, "invalid_request", "an overlap over 7 days").await;
    assert_agent_works(&app, &new_token, "a refused rotation changes nothing").await;
}
on_all_setups!(rotating_with_an_overlap_keeps_the_old_secret_and_token_until_it_ends);

async fn deleting_a_key_refuses_its_token_at_once(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let at = access(&grant);
    let doomed = create_key(&app, &at, json!({"name": "doomed"})).await;
    let doomed_token = auth_token(&app, &s(&doomed, "key")).await;
    let kept_token = auth_token(&app, &signup_key(&grant)).await;
    assert_agent_works(&app, &doomed_token, "before the deletion").await;

    expect_status(
        delete_key(&app, &at, &s(&doomed, "id")).await,
        204,
        "delete",
    )
    .await;
    assert_agent_refused(&app, &doomed_token, "the deleted key's token").await;
    assert_key_refused(&app, &s(&doomed, "key"), "the deleted key").await;
    assert_agent_works(&app, &kept_token, "the other key's token").await;
}
on_all_setups!(deleting_a_key_refuses_its_token_at_once);

/// Two instances over one PostgreSQL and Redis: what one instance does to a key, the other
/// enforces on the very next request, though it had just accepted the token itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_or_deleting_a_key_on_one_instance_refuses_its_token_on_another_at_once() {
    let Some(a) = TestApp::spawn_redis_with(|_| {}).await else {
        return;
    };
    let b = a.sibling().await;
    let grant = a.signup("ann@example.com").await;
    let at = access(&grant);
    let rotated_key = signup_key(&grant);
    let deleted = create_key(&a, &at, json!({"name": "doomed"})).await;
    let rotated_token = auth_token(&a, &rotated_key).await;
    assert_eq!(
        auth_token(&b, &rotated_key).await,
        rotated_token,
        "both instances hand back the same live token"
    );
    let deleted_token = auth_token(&b, &s(&deleted, "key")).await;
    for app in [&a, &b] {
        assert_agent_works(app, &rotated_token, "before").await;
        assert_agent_works(app, &deleted_token, "before").await;
    }

    let r = rotate_key(&a, &at, &signup_key_id(&grant), json!({})).await;
    let new_key = s(&expect_json(r, 200, "rotate on A").await, "key");
    assert_agent_refused(&b, &rotated_token, "B, right after A rotated").await;
    assert_key_refused(&b, &rotated_key, "B, the old secret").await;
    let new_token = auth_token(&b, &new_key).await;
    assert_agent_works(&a, &new_token, "A, a token minted on B").await;

    expect_status(
        delete_key(&a, &at, &s(&deleted, "id")).await,
        204,
        "delete on A",
    )
    .await;
    assert_agent_refused(&b, &deleted_token, "B, right after A deleted the key").await;
    assert_key_refused(&b, &s(&deleted, "key"), "B, the deleted key").await;
    assert_agent_works(&b, &new_token, "B, the surviving key's token").await;
}
