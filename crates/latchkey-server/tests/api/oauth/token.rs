//! `POST /oauth2/token`: the password, refresh_token and client_credentials grants, scope
//! narrowing, and RFC 6749 §5.2 errors.

use std::time::Duration;

use super::{ClientAuth, TOKEN, oauth_error, password_grant, post_form, token_ok};
use crate::helpers::api_keys::{expect_json, signup_key, signup_key_id};
use crate::helpers::{PASSWORD, TestApp, s};
use crate::on_all_setups;

async fn password_grant_then_refresh_rotates_like_the_json_api(app: TestApp) {
    app.signup("ann@example.com").await;
    let first = password_grant(&app, "ann@example.com", &[]).await;
    assert_eq!(first["expires_in"], 900, "{first}");
    let r = app.me(&s(&first, "access_token")).await;
    assert_eq!(r.status(), 200);
    // A public client (no client authentication) refreshes with its refresh token.
    let rt = s(&first, "refresh_token");
    let params = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];
    let second = token_ok(
        post_form(&app, TOKEN, ClientAuth::None, &params).await,
        "refresh",
    )
    .await;
    assert_ne!(second["refresh_token"], first["refresh_token"], "rotated");
    // Inside the reuse grace the parent gets the very same pair (lost responses).
    let again = token_ok(
        post_form(&app, TOKEN, ClientAuth::None, &params).await,
        "replay",
    )
    .await;
    assert_eq!(again["refresh_token"], second["refresh_token"]);
    assert_eq!(again["access_token"], second["access_token"]);
    // After the grace a replay is reuse: refused, and the session is ended.
    app.advance(Duration::from_secs(60));
    let r = post_form(&app, TOKEN, ClientAuth::None, &params).await;
    oauth_error(r, 400, "invalid_grant", "reused refresh token").await;
    let r = app.me(&s(&second, "access_token")).await;
    assert_eq!(r.status(), 401, "the reused chain's session is revoked");
}
on_all_setups!(password_grant_then_refresh_rotates_like_the_json_api);

async fn client_credentials_accepts_an_api_key_by_basic_or_form(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let (kid, key) = (signup_key_id(&grant), signup_key(&grant));
    let basic = post_form(
        &app,
        TOKEN,
        ClientAuth::Basic(&kid, &key),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let basic = token_ok(basic, "client_credentials with Basic").await;
    assert!(basic.get("refresh_token").is_none(), "{basic}");
    let token = s(&basic, "access_token");
    assert!(
        token.starts_with("lkt_"),
        "the same kind of token as /get-token"
    );
    let (status, minted) = app.get_token(&key).await;
    assert_eq!(status, 200);
    assert_eq!(
        minted["data"]["auth_token"],
        token.as_str(),
        "one live token per key"
    );
    let me = expect_json(app.me(&token).await, 200, "/me with the client's token").await;
    assert_eq!(me["key_id"], kid.as_str(), "{me}");

    let form = post_form(
        &app,
        TOKEN,
        ClientAuth::None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &kid),
            ("client_secret", &key),
        ],
    )
    .await;
    assert_eq!(
        token_ok(form, "client_secret_post").await["access_token"],
        token.as_str()
    );
}
on_all_setups!(client_credentials_accepts_an_api_key_by_basic_or_form);

async fn client_credentials_scope_names_only_the_keys_scopes(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let (kid, key) = (signup_key_id(&grant), signup_key(&grant));
    let ask = |scope: &'static str| {
        let (kid, key) = (kid.clone(), key.clone());
        let app = &app;
        async move {
            post_form(
                app,
                TOKEN,
                ClientAuth::Basic(&kid, &key),
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await
        }
    };
    let ok = token_ok(ask("orders:read").await, "a scope the key holds").await;
    assert_eq!(ok["scope"], "orders:read", "the token's scopes: {ok}");
    let r = ask("orders:write").await;
    oauth_error(r, 400, "invalid_scope", "a scope the key lacks").await;
}
on_all_setups!(client_credentials_scope_names_only_the_keys_scopes, |c| {
    c.default_scopes = vec!["orders:read".into()];
});

async fn token_endpoint_errors_follow_rfc_6749(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let (kid, key) = (signup_key_id(&grant), signup_key(&grant));
    /// Form parameters, then the expected status, error code, and what the case shows.
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (vec![], 400, "invalid_request", "no grant_type"),
        (
            vec![("grant_type", "implicit")],
            400,
            "unsupported_grant_type",
            "unknown grant",
        ),
        (
            vec![("grant_type", "password"), ("username", "ann@example.com")],
            400,
            "invalid_request",
            "no password",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("username", "ann@example.com"),
                ("password", "wrong password here"),
            ],
            400,
            "invalid_grant",
            "wrong password",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("username", "nobody@example.com"),
                ("password", PASSWORD),
            ],
            400,
            "invalid_grant",
            "unknown user",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", "lkr_nothing"),
            ],
            400,
            "invalid_grant",
            "unknown refresh token",
        ),
        (
            vec![("grant_type", "client_credentials")],
            401,
            "invalid_client",
            "client_credentials without a client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &kid),
                (
                    "client_secret",
                    "lk_0000000000000000_notthekeynotthekeynotthekeynotthekey",
                ),
            ],
            401,
            "invalid_client",
            "a wrong client secret",
        ),
        (
            vec![("grant_type", "password"), ("grant_type", "password")],
            400,
            "invalid_request",
            "a repeated parameter",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("username", "ann@example.com"),
                ("password", PASSWORD),
                ("scope", "orders:read"),
            ],
            400,
            "invalid_scope",
            "a scope the user does not hold",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("username", "ann@example.com"),
                ("password", PASSWORD),
                ("scope", "a  b"),
            ],
            400,
            "invalid_request",
            "a malformed scope",
        ),
    ];
    for (params, status, error, what) in cases {
        let r = post_form(&app, TOKEN, ClientAuth::None, &params).await;
        oauth_error(r, status, error, what).await;
    }
    // A client_id naming another key than the secret's.
    let r = post_form(
        &app,
        TOKEN,
        ClientAuth::Basic("aaaaaaaaaaaaaaaa", &key),
        &[("grant_type", "client_credentials")],
    )
    .await;
    oauth_error(r, 401, "invalid_client", "client_id of another key").await;
    // Credentials in both places at once (RFC 6749 §2.3).
    let r = post_form(
        &app,
        TOKEN,
        ClientAuth::Basic(&kid, &key),
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &key),
        ],
    )
    .await;
    oauth_error(r, 400, "invalid_request", "two authentication methods").await;
    // error_description stays within RFC 6749's character set, whatever the client sent.
    let odd = "na\"me\\\u{e9}";
    let r = post_form(&app, TOKEN, ClientAuth::None, &[(odd, "a"), (odd, "b")]).await;
    let body = oauth_error(r, 400, "invalid_request", "a repeated odd parameter").await;
    let text = body["error_description"].as_str().unwrap();
    assert!(
        text.chars()
            .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\'),
        "{text:?}"
    );
    // JSON is not the token endpoint's format.
    let r = app
        .post(TOKEN, &serde_json::json!({"grant_type": "password"}))
        .await;
    oauth_error(r, 400, "invalid_request", "a JSON body").await;
}
on_all_setups!(token_endpoint_errors_follow_rfc_6749);

/// The scopes a token carries when used, as introspection (and forward-auth) see them.
async fn scopes_in_force(app: &TestApp, kid: &str, key: &str, token: &str) -> Vec<String> {
    let r = post_form(
        app,
        super::INTROSPECT,
        ClientAuth::Basic(kid, key),
        &[("token", token)],
    )
    .await;
    let info = expect_json(r, 200, "introspection").await;
    let mut scopes: Vec<String> = info["scope"]
        .as_str()
        .unwrap_or_else(|| panic!("{info}"))
        .split(' ')
        .map(str::to_owned)
        .collect();
    scopes.sort();
    scopes
}

async fn refresh(app: &TestApp, rt: &str, scope: Option<&str>) -> reqwest::Response {
    let mut params = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    params.extend(scope.map(|s| ("scope", s)));
    post_form(app, TOKEN, ClientAuth::None, &params).await
}

async fn scope_narrowing_lasts_for_the_whole_grant(app: TestApp) {
    let signup = app.signup("ann@example.com").await;
    let (kid, key) = super::introspector(&app, &signup).await;
    let narrow = password_grant(&app, "ann@example.com", &[("scope", "orders:read")]).await;
    assert_eq!(narrow["scope"], "orders:read", "{narrow}");
    let at = s(&narrow, "access_token");
    assert_eq!(
        scopes_in_force(&app, &kid, &key, &at).await,
        ["orders:read"]
    );
    // A scope outside the narrowed grant is refused, and the refresh token is not spent.
    let rt = s(&narrow, "refresh_token");
    let r = refresh(&app, &rt, Some("orders:write")).await;
    oauth_error(r, 400, "invalid_scope", "widening on refresh").await;
    // Without `scope`, the refresh keeps the grant's scope (RFC 6749 §6).
    let next = token_ok(refresh(&app, &rt, None).await, "refresh").await;
    assert_eq!(next["scope"], "orders:read", "{next}");
    let at = s(&next, "access_token");
    assert_eq!(
        scopes_in_force(&app, &kid, &key, &at).await,
        ["orders:read"]
    );
    // A replay inside the grace answers the same narrowed pair.
    let again = token_ok(refresh(&app, &rt, None).await, "replay").await;
    assert_eq!(again["access_token"], next["access_token"]);

    // A whole grant may be narrowed at refresh, never widened past the user's scopes.
    let full = password_grant(&app, "ann@example.com", &[]).await;
    let rt = s(&full, "refresh_token");
    let r = refresh(&app, &rt, Some("billing:read")).await;
    oauth_error(r, 400, "invalid_scope", "a scope the user does not hold").await;
    let narrowed = token_ok(refresh(&app, &rt, Some("orders:write")).await, "narrow").await;
    assert_eq!(narrowed["scope"], "orders:write", "{narrowed}");
    let at = s(&narrowed, "access_token");
    assert_eq!(
        scopes_in_force(&app, &kid, &key, &at).await,
        ["orders:write"]
    );
}
on_all_setups!(scope_narrowing_lasts_for_the_whole_grant, |c| {
    c.default_scopes = vec!["orders:read".into(), "orders:write".into()];
});
