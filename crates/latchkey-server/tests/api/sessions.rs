//! Sessions: logout, logout everywhere, the session list, and what survives a restart.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::key_rotation::jwks_kids;
use crate::helpers::tokens::{assert_invalid_token, assert_me_works, login_ok, refresh_ok};
use crate::helpers::{PASSWORD, TestApp, error_code, s};
use crate::on_all_setups;

async fn list_sessions(app: &TestApp, access_token: &str) -> Vec<Value> {
    let r = app.get_auth("/api/v1/sessions", access_token).await;
    assert_eq!(r.status(), 200, "GET /sessions");
    let body: Value = r.json().await.unwrap();
    body["sessions"].as_array().expect("sessions array").clone()
}

async fn delete_session(app: &TestApp, access_token: &str, id: &str) -> reqwest::Response {
    app.client
        .delete(app.url(&format!("/api/v1/sessions/{id}")))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

fn ids(sessions: &[Value]) -> BTreeSet<String> {
    sessions.iter().map(|x| s(x, "id")).collect()
}

async fn logout_ends_only_the_callers_session(app: TestApp) {
    let other = app.signup("ann@example.com").await;
    let this = login_ok(&app, "ann@example.com").await;
    let access = s(&this, "access_token");

    let r = app.post_auth("/api/v1/auth/logout", &access).await;
    assert_eq!(r.status(), 204);

    assert_invalid_token(app.refresh(&s(&this, "refresh_token")).await, "refresh").await;
    assert_invalid_token(app.me(&access).await, "/me").await;
    let r = app.get_auth("/api/v1/sessions", &access).await;
    assert_invalid_token(r, "/sessions").await;

    // The user's other session is untouched.
    assert_me_works(&app, &s(&other, "access_token"), "other session").await;
    refresh_ok(&app, &s(&other, "refresh_token")).await;
}
on_all_setups!(logout_ends_only_the_callers_session);

async fn logout_all_ends_every_session_of_the_user(app: TestApp) {
    let grants = [
        app.signup("ann@example.com").await,
        login_ok(&app, "ann@example.com").await,
        login_ok(&app, "ann@example.com").await,
    ];
    let bob = app.signup("bob@example.com").await;

    let r = app
        .post_auth("/api/v1/auth/logout-all", &s(&grants[1], "access_token"))
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["sessions_revoked"], 3, "{body}");

    for (i, g) in grants.iter().enumerate() {
        let what = format!("session {i}");
        assert_invalid_token(app.me(&s(g, "access_token")).await, &what).await;
        assert_invalid_token(app.refresh(&s(g, "refresh_token")).await, &what).await;
    }
    // Another user is not affected.
    assert_me_works(&app, &s(&bob, "access_token"), "bob").await;
    refresh_ok(&app, &s(&bob, "refresh_token")).await;
}
on_all_setups!(logout_all_ends_every_session_of_the_user);

async fn session_list_shows_my_live_sessions_and_i_can_end_one(app: TestApp) {
    let old = app.signup("ann@example.com").await;
    let me = login_ok(&app, "ann@example.com").await;
    let bob = app.signup("bob@example.com").await;
    let access = s(&me, "access_token");

    let sessions = list_sessions(&app, &access).await;
    assert_eq!(
        ids(&sessions),
        BTreeSet::from([s(&old, "session_id"), s(&me, "session_id")]),
        "ann sees her two sessions and not bob's"
    );
    for x in &sessions {
        let is_mine = x["id"] == me["session_id"];
        assert_eq!(
            x["current"], is_mine,
            "current only for the caller's session: {x}"
        );
        assert_eq!(x["user_agent"], "latchkey-tests", "{x}");
        assert_eq!(x["ip"], "127.0.0.1", "{x}");
        assert!(
            x["created_at"].is_string() && x["last_used_at"].is_string(),
            "{x}"
        );
    }

    let r = delete_session(&app, &access, &s(&old, "session_id")).await;
    assert_eq!(r.status(), 204);
    let sessions = list_sessions(&app, &access).await;
    assert_eq!(ids(&sessions), BTreeSet::from([s(&me, "session_id")]));
    assert_invalid_token(app.me(&s(&old, "access_token")).await, "deleted session").await;
    let r = app.refresh(&s(&old, "refresh_token")).await;
    assert_invalid_token(r, "deleted session's refresh token").await;

    // Someone else's session is "not found", and stays alive.
    let r = delete_session(&app, &access, &s(&bob, "session_id")).await;
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "not_found");
    assert_me_works(&app, &s(&bob, "access_token"), "bob after ann's attempt").await;

    let r = delete_session(&app, &access, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(r.status(), 404, "unknown id");
    assert_eq!(error_code(r).await, "not_found");
}
on_all_setups!(session_list_shows_my_live_sessions_and_i_can_end_one);

async fn a_restart_keeps_users_sessions_revocations_and_the_signing_key(app: TestApp) {
    let kept = app.signup("ann@example.com").await;
    let ended = login_ok(&app, "ann@example.com").await;
    let r = app
        .post_auth("/api/v1/auth/logout", &s(&ended, "access_token"))
        .await;
    assert_eq!(r.status(), 204);
    let kids: BTreeSet<String> = jwks_kids(&app).await.into_iter().collect();

    let app = app.restart().await;

    assert_eq!(
        jwks_kids(&app).await.into_iter().collect::<BTreeSet<_>>(),
        kids,
        "same key set after restart"
    );
    assert_me_works(&app, &s(&kept, "access_token"), "access token from before").await;
    let next = refresh_ok(&app, &s(&kept, "refresh_token")).await;
    assert_me_works(&app, &s(&next, "access_token"), "refreshed after restart").await;
    let r = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200, "login after restart");

    // Revoked before the restart: its unexpired access token is still refused.
    let r = app.me(&s(&ended, "access_token")).await;
    assert_invalid_token(r, "revoked session's access token").await;
    let r = app.refresh(&s(&ended, "refresh_token")).await;
    assert_invalid_token(r, "revoked session's refresh token").await;
}
on_all_setups!(a_restart_keeps_users_sessions_revocations_and_the_signing_key);

async fn ending_the_other_sessions_keeps_only_the_callers(app: TestApp) {
    let grants = [
        app.signup("ann@example.com").await,
        login_ok(&app, "ann@example.com").await,
        login_ok(&app, "ann@example.com").await,
    ];
    let bob = app.signup("bob@example.com").await;
    let this = s(&grants[1], "access_token");

    let r = app
        .client
        .delete(app.url("/api/v1/sessions"))
        .bearer_auth(&this)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["sessions_revoked"], 2, "{body}");

    for other in [&grants[0], &grants[2]] {
        assert_invalid_token(app.me(&s(other, "access_token")).await, "other /me").await;
        assert_invalid_token(
            app.refresh(&s(other, "refresh_token")).await,
            "other refresh",
        )
        .await;
    }
    assert_me_works(&app, &this, "the caller's session").await;
    let left = list_sessions(&app, &this).await;
    assert_eq!(ids(&left), BTreeSet::from([s(&grants[1], "session_id")]));
    assert_eq!(left[0]["current"], true);
    refresh_ok(&app, &s(&grants[1], "refresh_token")).await;
    // Another user is untouched.
    assert_me_works(&app, &s(&bob, "access_token"), "bob").await;

    // Nothing else to end: zero, and the caller stays signed in.
    let r = app
        .client
        .delete(app.url("/api/v1/sessions"))
        .bearer_auth(&this)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["sessions_revoked"], 0, "{body}");
}
on_all_setups!(ending_the_other_sessions_keeps_only_the_callers);
