//! `POST /oauth2/introspect` (RFC 7662): only authenticated callers, `active: false` for
//! anything revoked, expired, unknown or of another organization.

use std::time::Duration;

use serde_json::{Value, json};

use super::{ClientAuth, INTROSPECT, assert_no_store, oauth_error, password_grant, post_form};
use crate::helpers::{TestApp, s};
use crate::on_all_setups;

async fn introspect(app: &TestApp, auth: ClientAuth<'_>, token: &str) -> Value {
    let r = post_form(app, INTROSPECT, auth, &[("token", token)]).await;
    assert_no_store(&r, "introspection");
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

async fn introspection_tells_live_tokens_from_dead_ones(app: TestApp) {
    let owner = app.signup("ann@example.com").await;
    let (kid, key) = super::introspector(&app, &owner).await;
    let rs = ClientAuth::Basic(&kid, &key);
    let grant = password_grant(&app, "ann@example.com", &[]).await;
    let (at, rt) = (s(&grant, "access_token"), s(&grant, "refresh_token"));

    let info = introspect(&app, ClientAuth::Basic(&kid, &key), &at).await;
    let claims = super::claims_of(&at);
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["sub"], claims["sub"], "{info}");
    assert_eq!(info["exp"], claims["exp"], "{info}");
    assert_eq!(info["iss"], claims["iss"], "{info}");
    assert_eq!(info["scope"], "orders:read", "{info}");
    assert_eq!(info["token_type"], "Bearer", "{info}");

    let info = introspect(&app, ClientAuth::Basic(&kid, &key), &rt).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["token_type"], "refresh_token", "{info}");

    let (_, minted) = app.get_token(&key).await;
    let api_token = minted["data"]["auth_token"].as_str().unwrap().to_owned();
    let info = introspect(&app, ClientAuth::Basic(&kid, &key), &api_token).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["client_id"], kid.as_str(), "{info}");

    for junk in ["nonsense", "lkr_x", "lkt_x", "eyJhbGciOiJub25lIn0.e30."] {
        assert_eq!(
            introspect(&app, ClientAuth::Basic(&kid, &key), junk).await,
            json!({"active": false})
        );
    }
    // After logout, neither of the session's tokens is active.
    assert_eq!(
        app.post_auth("/api/v1/auth/logout", &at).await.status(),
        204
    );
    assert_eq!(
        introspect(&app, ClientAuth::Basic(&kid, &key), &at).await,
        json!({"active": false})
    );
    assert_eq!(introspect(&app, rs, &rt).await, json!({"active": false}));
}
on_all_setups!(introspection_tells_live_tokens_from_dead_ones, |c| {
    c.default_scopes = vec!["orders:read".into()];
});

async fn expired_tokens_and_other_organizations_are_inactive(app: TestApp) {
    let ann = app.signup("ann@example.com").await;
    let (kid, key) = super::introspector(&app, &ann).await;
    let bob = app.signup("bob@example.com").await; // founds another organization
    let bob_at = s(&bob, "access_token");
    let info = introspect(&app, ClientAuth::Basic(&kid, &key), &bob_at).await;
    assert_eq!(
        info,
        json!({"active": false}),
        "another organization's token"
    );
    // His organization's introspector sees it; past its expiry nobody does.
    let (bkid, bkey) = super::introspector(&app, &bob).await;
    assert_eq!(
        introspect(&app, ClientAuth::Basic(&bkid, &bkey), &bob_at).await["active"],
        true
    );
    app.advance(Duration::from_secs(16 * 60));
    let info = introspect(&app, ClientAuth::Basic(&bkid, &bkey), &bob_at).await;
    assert_eq!(info, json!({"active": false}), "an expired token");
}
on_all_setups!(expired_tokens_and_other_organizations_are_inactive);

async fn introspection_needs_a_client_or_a_token_with_the_introspect_scope(app: TestApp) {
    let ann = app.signup("ann@example.com").await;
    let ann_at = s(&ann, "access_token");
    let r = post_form(&app, INTROSPECT, ClientAuth::None, &[("token", &ann_at)]).await;
    oauth_error(r, 401, "invalid_client", "no client authentication").await;
    let wrong = "lk_0000000000000000_notthekeynotthekeynotthekeynotthekey";
    let r = post_form(
        &app,
        INTROSPECT,
        ClientAuth::Basic("0000000000000000", wrong),
        &[("token", &ann_at)],
    )
    .await;
    oauth_error(r, 401, "invalid_client", "a wrong key").await;
    // Being an organization admin is not enough (latchkey:introspect is; see trust.rs).
    let r = post_form(
        &app,
        INTROSPECT,
        ClientAuth::Bearer(&ann_at),
        &[("token", &ann_at)],
    )
    .await;
    assert_eq!(r.status(), 403);
    // Nor is being a member.
    let code = s(
        &app.get_auth("/api/v1/org", &ann_at)
            .await
            .json::<Value>()
            .await
            .unwrap(),
        "referral_code",
    );
    let member = app
        .signup_with(
            json!({"email": "cy@example.com", "password": crate::helpers::PASSWORD,
            "referral_code": code}),
        )
        .await;
    let member_at = s(&member, "access_token");
    let r = post_form(
        &app,
        INTROSPECT,
        ClientAuth::Bearer(&member_at),
        &[("token", &ann_at)],
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = post_form(&app, INTROSPECT, ClientAuth::Basic("x", "y"), &[]).await;
    oauth_error(r, 401, "invalid_client", "malformed key").await;
}
on_all_setups!(introspection_needs_a_client_or_a_token_with_the_introspect_scope);
