//! `POST /oauth2/revoke` (RFC 7009): refresh tokens, access tokens (their session) and API
//! auth tokens; unknown tokens answer 200 as well.

use super::{ClientAuth, REVOKE, TOKEN, assert_no_store, oauth_error, password_grant, post_form};
use crate::helpers::api_keys::{signup_key, signup_key_id};
use crate::helpers::{TestApp, s};
use crate::on_all_setups;

async fn revoke_ok(app: &TestApp, auth: ClientAuth<'_>, token: &str, what: &str) {
    let r = post_form(app, REVOKE, auth, &[("token", token)]).await;
    assert_no_store(&r, what);
    assert_eq!(r.status(), 200, "{what}: {}", r.text().await.unwrap());
}

async fn revoking_a_refresh_token_ends_its_session(app: TestApp) {
    app.signup("ann@example.com").await;
    let grant = password_grant(&app, "ann@example.com", &[]).await;
    let (at, rt) = (s(&grant, "access_token"), s(&grant, "refresh_token"));
    revoke_ok(&app, ClientAuth::None, &rt, "refresh token").await;
    let r = post_form(
        &app,
        TOKEN,
        ClientAuth::None,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    )
    .await;
    oauth_error(r, 400, "invalid_grant", "a revoked refresh token").await;
    assert_eq!(
        app.me(&at).await.status(),
        401,
        "its access token is refused at once"
    );
    // Revoking it again is still a success (RFC 7009 §2.2).
    revoke_ok(&app, ClientAuth::None, &rt, "again").await;
}
on_all_setups!(revoking_a_refresh_token_ends_its_session);

async fn revoking_an_access_token_ends_its_session_and_keeps_others(app: TestApp) {
    app.signup("ann@example.com").await;
    let phone = password_grant(&app, "ann@example.com", &[]).await;
    let laptop = password_grant(&app, "ann@example.com", &[]).await;
    revoke_ok(
        &app,
        ClientAuth::None,
        &s(&phone, "access_token"),
        "access token",
    )
    .await;
    assert_eq!(app.me(&s(&phone, "access_token")).await.status(), 401);
    let r = app.refresh(&s(&phone, "refresh_token")).await;
    assert_eq!(
        r.status(),
        401,
        "the session's refresh token is refused too"
    );
    assert_eq!(
        app.me(&s(&laptop, "access_token")).await.status(),
        200,
        "other sessions live"
    );
}
on_all_setups!(revoking_an_access_token_ends_its_session_and_keeps_others);

async fn revoking_an_api_auth_token_drops_it_and_the_key_mints_anew(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let (kid, key) = (signup_key_id(&grant), signup_key(&grant));
    let (_, minted) = app.get_token(&key).await;
    let token = minted["data"]["auth_token"].as_str().unwrap().to_owned();
    // A made-up token naming the real key id changes nothing.
    let forged = format!("lkt_{kid}_0_{}", "x".repeat(43));
    revoke_ok(&app, ClientAuth::Basic(&kid, &key), &forged, "forged token").await;
    assert_eq!(
        app.me(&token).await.status(),
        200,
        "a forged token revoked nothing"
    );
    revoke_ok(
        &app,
        ClientAuth::Basic(&kid, &key),
        &token,
        "API auth token",
    )
    .await;
    assert_eq!(
        app.me(&token).await.status(),
        401,
        "the revoked token is refused"
    );
    let (status, again) = app.get_token(&key).await;
    assert_eq!(status, 200);
    let fresh = again["data"]["auth_token"].as_str().unwrap();
    assert_ne!(fresh, token, "a new token, not the revoked one");
    assert_eq!(app.me(fresh).await.status(), 200);
}
on_all_setups!(revoking_an_api_auth_token_drops_it_and_the_key_mints_anew);

async fn revocation_errors_follow_rfc_7009(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let kid = signup_key_id(&grant);
    for junk in [
        "nonsense",
        "lkr_x.y.z",
        "lkt_short",
        "eyJhbGciOiJub25lIn0.e30.",
    ] {
        revoke_ok(&app, ClientAuth::None, junk, junk).await;
    }
    let r = post_form(&app, REVOKE, ClientAuth::None, &[]).await;
    oauth_error(r, 400, "invalid_request", "no token").await;
    let wrong = "lk_0000000000000000_notthekeynotthekeynotthekeynotthekey";
    let r = post_form(
        &app,
        REVOKE,
        ClientAuth::Basic(&kid, wrong),
        &[("token", "x")],
    )
    .await;
    oauth_error(r, 401, "invalid_client", "bad client credentials").await;
}
on_all_setups!(revocation_errors_follow_rfc_7009);
