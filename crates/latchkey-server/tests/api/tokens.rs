//! Refresh tokens (rotation, replay inside the grace, reuse detection) and the lenient refresh
//! from a recently expired access token.

use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::tokens::{
    assert_invalid_token, assert_me_works, grant_of, login_ok, refresh_ok,
};
use crate::helpers::{TestApp, error_code, s};
use crate::on_all_setups;

const REFRESH_PATH: &str = "/api/v1/auth/refresh";
const MINUTE: Duration = Duration::from_secs(60);
const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
const DAY: Duration = Duration::from_secs(24 * 3600);

async fn refresh_rotates_and_a_replay_inside_the_grace_returns_the_same_pair(app: TestApp) {
    app.signup("ann@example.com").await;
    let first = login_ok(&app, "ann@example.com").await;
    let r1 = s(&first, "refresh_token");

    let second = refresh_ok(&app, &r1).await;
    let r2 = s(&second, "refresh_token");
    assert_ne!(r2, r1, "the refresh token rotates");
    assert!(r2.starts_with("lkr_"));
    assert_eq!(second["session_id"], first["session_id"]);
    assert_me_works(&app, &s(&second, "access_token"), "rotated access token").await;

    // The response was lost; the client retries with R1 a few seconds later.
    app.advance(Duration::from_secs(5));
    let replay = refresh_ok(&app, &r1).await;
    assert_eq!(
        s(&replay, "refresh_token"),
        r2,
        "same refresh token, not a new branch"
    );
    assert_eq!(s(&replay, "access_token"), s(&second, "access_token"));

    let third = refresh_ok(&app, &r2).await;
    let r3 = s(&third, "refresh_token");
    assert_ne!(r3, r2);
    assert_ne!(r3, r1);
    assert_me_works(&app, &s(&third, "access_token"), "third access token").await;
}
on_all_setups!(refresh_rotates_and_a_replay_inside_the_grace_returns_the_same_pair);

async fn refresh_replay_after_the_grace_revokes_the_session(app: TestApp) {
    let first = app.signup("ann@example.com").await;
    let r1 = s(&first, "refresh_token");
    let second = refresh_ok(&app, &r1).await;
    let r2 = s(&second, "refresh_token");

    app.advance(Duration::from_secs(11));
    assert_invalid_token(app.refresh(&r1).await, "R1 after the grace").await;
    assert_invalid_token(app.refresh(&r2).await, "R2 of the revoked session").await;
    assert_invalid_token(
        app.me(&s(&second, "access_token")).await,
        "R2's access token",
    )
    .await;
    assert_invalid_token(
        app.me(&s(&first, "access_token")).await,
        "R1's access token",
    )
    .await;
}
on_all_setups!(refresh_replay_after_the_grace_revokes_the_session);

async fn refresh_replay_of_a_grandparent_revokes_the_session_even_inside_the_grace(app: TestApp) {
    let first = app.signup("ann@example.com").await;
    let r1 = s(&first, "refresh_token");
    let second = refresh_ok(&app, &r1).await;
    let third = refresh_ok(&app, &s(&second, "refresh_token")).await;
    let r3 = s(&third, "refresh_token");

    assert_invalid_token(app.refresh(&r1).await, "grandparent R1").await;
    assert_invalid_token(app.refresh(&r3).await, "R3 of the revoked session").await;
    for (what, grant) in [("first", &first), ("second", &second), ("third", &third)] {
        assert_invalid_token(app.me(&s(grant, "access_token")).await, what).await;
    }
}
on_all_setups!(refresh_replay_of_a_grandparent_revokes_the_session_even_inside_the_grace);

async fn thirty_parallel_refreshes_with_one_token_all_get_the_same_pair(app: TestApp) {
    let first = app.signup("ann@example.com").await;
    let r1 = s(&first, "refresh_token");

    let responses = join_all((0..30).map(|_| app.refresh(&r1))).await;
    let mut grants = Vec::new();
    for r in responses {
        grants.push(grant_of(r, "parallel refresh").await);
    }
    let r2 = s(&grants[0], "refresh_token");
    let a2 = s(&grants[0], "access_token");
    assert_ne!(r2, r1);
    for g in &grants {
        assert_eq!(
            s(g, "refresh_token"),
            r2,
            "one and the same new refresh token"
        );
        assert_eq!(
            s(g, "access_token"),
            a2,
            "one and the same new access token"
        );
    }

    // The session survived the burst: the new pair works.
    assert_me_works(&app, &a2, "access token of the parallel refresh").await;
    let next = refresh_ok(&app, &r2).await;
    assert_me_works(&app, &s(&next, "access_token"), "after the burst").await;
}
on_all_setups!(thirty_parallel_refreshes_with_one_token_all_get_the_same_pair);

async fn refresh_token_in_the_authorization_header_works_like_the_body(app: TestApp) {
    let first = app.signup("ann@example.com").await;
    let r1 = s(&first, "refresh_token");

    let second = grant_of(app.post_auth(REFRESH_PATH, &r1).await, "bearer refresh").await;
    let r2 = s(&second, "refresh_token");
    assert_ne!(r2, r1);
    assert_eq!(second["session_id"], first["session_id"]);
    assert_me_works(&app, &s(&second, "access_token"), "bearer-refreshed token").await;

    // Same chain as the body form: a replay of R1 in the body gets the same pair.
    let replay = refresh_ok(&app, &r1).await;
    assert_eq!(s(&replay, "refresh_token"), r2);
    assert_eq!(s(&replay, "access_token"), s(&second, "access_token"));

    let third = grant_of(app.post_auth(REFRESH_PATH, &r2).await, "bearer R2").await;
    assert_ne!(s(&third, "refresh_token"), r2);
}
on_all_setups!(refresh_token_in_the_authorization_header_works_like_the_body);

async fn the_previous_access_token_keeps_working_after_a_refresh(app: TestApp) {
    let first = app.signup("ann@example.com").await;
    let a1 = s(&first, "access_token");
    let second = refresh_ok(&app, &s(&first, "refresh_token")).await;
    assert_ne!(s(&second, "access_token"), a1);
    assert_me_works(&app, &a1, "previous access token right after refresh").await;

    app.advance(MINUTE);
    refresh_ok(&app, &s(&second, "refresh_token")).await;
    assert_me_works(&app, &a1, "access token two rotations old").await;
}
on_all_setups!(the_previous_access_token_keeps_working_after_a_refresh);

async fn lenient_refresh_exchanges_a_recently_expired_access_token_once(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let expired = s(&grant, "access_token");
    app.advance(ACCESS_TTL + MINUTE);
    assert_invalid_token(app.me(&expired).await, "expired access token on /me").await;

    let fresh = grant_of(app.post_auth(REFRESH_PATH, &expired).await, "lenient").await;
    assert!(
        fresh.get("refresh_token").is_none(),
        "a lenient refresh hands out no refresh token: {fresh}"
    );
    assert!(fresh.get("refresh_expires_at").is_none(), "{fresh}");
    assert_eq!(fresh["session_id"], grant["session_id"], "same session");
    assert_ne!(s(&fresh, "access_token"), expired);
    assert_me_works(&app, &s(&fresh, "access_token"), "lenient access token").await;

    let again = app.post_auth(REFRESH_PATH, &expired).await;
    assert_invalid_token(again, "the same expired token a second time").await;
    // The client's refresh token is untouched.
    refresh_ok(&app, &s(&grant, "refresh_token")).await;
}
on_all_setups!(lenient_refresh_exchanges_a_recently_expired_access_token_once);

async fn lenient_refresh_refuses_a_token_expired_longer_than_the_window(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    app.advance(ACCESS_TTL + 11 * MINUTE);
    let r = app
        .post_auth(REFRESH_PATH, &s(&grant, "access_token"))
        .await;
    assert_invalid_token(r, "expired 11 minutes ago").await;
}
on_all_setups!(lenient_refresh_refuses_a_token_expired_longer_than_the_window);

async fn lenient_refresh_refuses_a_token_of_a_logged_out_session(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let access = s(&grant, "access_token");
    let r = app.post_auth("/api/v1/auth/logout", &access).await;
    assert_eq!(r.status(), 204);
    app.advance(ACCESS_TTL + MINUTE);
    let r = app.post_auth(REFRESH_PATH, &access).await;
    assert_invalid_token(r, "expired token of a logged-out session").await;
}
on_all_setups!(lenient_refresh_refuses_a_token_of_a_logged_out_session);

async fn lenient_refresh_is_refused_when_the_window_is_zero(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    app.advance(ACCESS_TTL + MINUTE);
    let r = app
        .post_auth(REFRESH_PATH, &s(&grant, "access_token"))
        .await;
    assert_invalid_token(r, "lenient refresh turned off").await;
}

crate::on_all_setups!(lenient_refresh_is_refused_when_the_window_is_zero, |c| {
    c.lenient_refresh_window = std::time::Duration::ZERO
});

async fn refresh_token_expires_after_seven_days_without_use(app: TestApp) {
    let first = app.signup("ann@example.com").await;
    // Used just before it would expire: the rotated token gets a fresh seven days.
    app.advance(7 * DAY - MINUTE);
    let second = refresh_ok(&app, &s(&first, "refresh_token")).await;

    app.advance(7 * DAY + Duration::from_secs(1));
    let r = app.refresh(&s(&second, "refresh_token")).await;
    assert_invalid_token(r, "refresh token unused for seven days").await;
}
on_all_setups!(refresh_token_expires_after_seven_days_without_use);

async fn refresh_without_a_token_is_a_bad_request_and_bad_tokens_are_refused(app: TestApp) {
    let r = app.client.post(app.url(REFRESH_PATH)).send().await.unwrap();
    assert_eq!(r.status(), 400, "no body, no header");
    assert_eq!(error_code(r).await, "invalid_request");
    let r = app.post(REFRESH_PATH, &json!({})).await;
    assert_eq!(r.status(), 400, "empty object");
    assert_eq!(error_code(r).await, "invalid_request");

    assert_invalid_token(app.refresh("garbage").await, "garbage in the body").await;
    let r = app.post_auth(REFRESH_PATH, "garbage").await;
    assert_invalid_token(r, "garbage in the header").await;
    let unknown = format!("lkr_{}", "A".repeat(43));
    assert_invalid_token(app.refresh(&unknown).await, "unknown lkr_ token").await;
    let r = app.post_auth(REFRESH_PATH, &unknown).await;
    assert_invalid_token(r, "unknown lkr_ token in the header").await;
}
on_all_setups!(refresh_without_a_token_is_a_bad_request_and_bad_tokens_are_refused);

/// The 401 `invalid_token` body's message.
async fn invalid_token_message(r: reqwest::Response, what: &str) -> String {
    assert_eq!(r.status(), 401, "{what}: status");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token", "{what}: {body}");
    s(&body, "message")
}

async fn lenient_refresh_does_not_chain_and_refuses_a_live_token(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let access = s(&grant, "access_token");

    // Still valid: renewing a live token is the refresh token's job.
    let message = invalid_token_message(
        app.post_auth(REFRESH_PATH, &access).await,
        "a live access token",
    )
    .await;
    assert!(message.contains("refresh token"), "{message}");
    assert!(message.contains("not expired"), "{message}");

    // Expired within the window: exchanged once for a new token.
    app.advance(ACCESS_TTL + MINUTE);
    let fresh = grant_of(app.post_auth(REFRESH_PATH, &access).await, "lenient").await;
    let second = s(&fresh, "access_token");
    assert_me_works(&app, &second, "the exchanged token").await;
    assert_invalid_token(
        app.post_auth(REFRESH_PATH, &access).await,
        "the same expired token a second time",
    )
    .await;

    // The exchanged token, once it has expired too, is not exchanged again.
    app.advance(ACCESS_TTL + MINUTE);
    assert_invalid_token(app.me(&second).await, "the exchanged token, expired").await;
    let message = invalid_token_message(
        app.post_auth(REFRESH_PATH, &second).await,
        "the exchanged token, expired",
    )
    .await;
    assert!(message.contains("cannot be exchanged again"), "{message}");

    // The refresh token still renews the session, and its tokens are exchangeable again.
    let renewed = refresh_ok(&app, &s(&grant, "refresh_token")).await;
    assert_me_works(&app, &s(&renewed, "access_token"), "after refresh").await;
}
on_all_setups!(lenient_refresh_does_not_chain_and_refuses_a_live_token);

async fn an_api_key_or_refresh_token_as_bearer_says_what_to_do_instead(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let api_key = s(&grant["api_key"], "key");
    assert!(api_key.starts_with("lk_"));
    let refresh = s(&grant, "refresh_token");

    let message = invalid_token_message(app.me(&api_key).await, "API key as Bearer").await;
    assert!(message.contains("/get-token"), "{message}");
    let message = invalid_token_message(
        app.get_agent("/api/v1/me", &api_key).await,
        "API key as Agent",
    )
    .await;
    assert!(message.contains("/get-token"), "{message}");
    let message = invalid_token_message(
        app.post_auth(REFRESH_PATH, &api_key).await,
        "API key at refresh",
    )
    .await;
    assert!(message.contains("/get-token"), "{message}");

    let message = invalid_token_message(app.me(&refresh).await, "refresh token as Bearer").await;
    assert!(message.contains("refresh token"), "{message}");
    assert!(message.contains("/api/v1/auth/refresh"), "{message}");

    // Neither was spent or harmed: both still work where they belong.
    let (status, body) = app.get_token(&api_key).await;
    assert_eq!(status, 200, "{body}");
    refresh_ok(&app, &refresh).await;
}
on_all_setups!(an_api_key_or_refresh_token_as_bearer_says_what_to_do_instead);
