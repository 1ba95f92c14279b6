//! Sensitive changes need a recent re-authentication in the session (a stolen access token is
//! not enough), and mail a notice; a password reset or change ends what an intruder may have
//! left behind (reset links, API keys, recent links and factors).

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::eventually::eventually_every;
use crate::helpers::mail_sink::SmtpSink;
use crate::helpers::mfa::totp_code;
use crate::helpers::reauth::{notice, reauthenticate, signup_verified};
use crate::helpers::{PASSWORD, TestApp, assert_error_shape, s};
use crate::on_all_setups;

fn scopes(c: &mut latchkey_server::Config) {
    c.scopes = vec!["orders:read".into(), "orders:write".into()];
    c.default_scopes = vec!["orders:read".into(), "orders:write".into()];
    // Only catalogue scopes can be admin-grantable (the harness marks its own catalogue).
    c.admin_grantable_scopes = c.scopes.clone();
}

async fn refused_for_reauth(r: reqwest::Response, what: &str) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 403, "{what}: {body}");
    assert_eq!(
        assert_error_shape(status, &body, what),
        "reauthentication_required",
        "{what}"
    );
}

on_all_setups!(mail:
    a_stolen_access_token_cannot_make_sensitive_changes_without_reauthentication,
    super::scopes
);
async fn a_stolen_access_token_cannot_make_sensitive_changes_without_reauthentication(
    app: TestApp,
    sink: SmtpSink,
) {
    let ada = app.signup("ada@example.com").await;
    let token = s(&ada, "access_token");
    // The access token is still good (15 minutes), but its sign-in is 6 minutes old.
    app.advance(Duration::from_secs(6 * 60));
    assert_eq!(app.me(&token).await.status(), 200);
    let enroll = || {
        let (app, token) = (&app, token.clone());
        async move {
            app.post_json_auth("/api/v1/mfa/totp/enroll", &token, &json!({}))
                .await
        }
    };
    let write_key = || {
        let (app, token) = (&app, token.clone());
        async move {
            app.post_json_auth(
                "/api/v1/api-keys",
                &token,
                &json!({"name": "w", "scopes": ["orders:write"]}),
            )
            .await
        }
    };
    refused_for_reauth(enroll().await, "TOTP enrolment").await;
    refused_for_reauth(write_key().await, "a write key").await;
    let follows_owner = app
        .post_json_auth("/api/v1/api-keys", &token, &json!({"name": "all"}))
        .await;
    refused_for_reauth(follows_owner, "a key following an owner who can write").await;
    // A read-only key is no way in to anything but reading.
    let r = app
        .post_json_auth(
            "/api/v1/api-keys",
            &token,
            &json!({"name": "r", "scopes": ["orders:read"]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let read_key: Value = r.json().await.unwrap();
    // Nor can it be widened or rotated into a write key without the owner.
    let kid = s(&read_key, "id");
    let r = app
        .send_json_auth(
            reqwest::Method::PATCH,
            &format!("/api/v1/api-keys/{kid}"),
            &token,
            Some(&json!({"scopes": ["orders:write"]})),
        )
        .await;
    refused_for_reauth(r, "rescoping to write").await;
    let default_key = s(&ada["api_key"], "id");
    let r = app
        .post_json_auth(
            &format!("/api/v1/api-keys/{default_key}/rotate"),
            &token,
            &json!({}),
        )
        .await;
    refused_for_reauth(r, "rotating a key that can write").await;

    // A wrong password proves nothing.
    let r = reauthenticate(&app, &token, json!({"password": "not the password"})).await;
    assert_eq!(r.status(), 401);
    let r = reauthenticate(&app, &token, json!({})).await;
    assert_eq!(r.status(), 400);
    refused_for_reauth(enroll().await, "after a wrong password").await;
    // The password, in this session: the changes go through for the window.
    let r = reauthenticate(&app, &token, json!({"password": PASSWORD})).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["expires_in"], 300, "{body}");
    let r = enroll().await;
    assert_eq!(r.status(), 200);
    let secret = s(&r.json().await.unwrap(), "secret");
    let r = app
        .post_json_auth(
            "/api/v1/mfa/totp/confirm",
            &token,
            &json!({"code": totp_code(&app, &secret)}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(write_key().await.status(), 201);
    notice(
        &sink,
        "ada@example.com",
        "Two-factor authentication was turned on",
    )
    .await;
    notice(&sink, "ada@example.com", "An API key was created").await;

    // The window closes again.
    app.advance(Duration::from_secs(5 * 60 + 1));
    refused_for_reauth(write_key().await, "after the window").await;
    // A second factor proves it too.
    app.advance(Duration::from_secs(30));
    let r = reauthenticate(&app, &token, json!({"mfa_code": totp_code(&app, &secret)})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(write_key().await.status(), 201);
}

on_all_setups!(mail:
    a_mailed_code_to_the_own_address_reauthenticates,
    super::scopes
);
async fn a_mailed_code_to_the_own_address_reauthenticates(app: TestApp, sink: SmtpSink) {
    let ada = app.signup("ada@example.com").await;
    app.signup("bob@example.com").await;
    let token = s(&ada, "access_token");
    app.advance(Duration::from_secs(6 * 60));
    let code_for = |email: &'static str| {
        let (app, sink) = (&app, &sink);
        async move {
            let r = app
                .post("/api/v1/auth/code", &json!({"email": email}))
                .await;
            assert_eq!(r.status(), 202);
            let login_id = s(&r.json().await.unwrap(), "login_id");
            let mail = sink.code_to(email).await;
            (login_id, mail.code_after("sign-in code is "))
        }
    };
    // Bob's code proves nothing about Ada.
    let (login_id, code) = code_for("bob@example.com").await;
    let r = reauthenticate(
        &app,
        &token,
        json!({"login_id": login_id, "session_code": code}),
    )
    .await;
    assert_eq!(r.status(), 401);
    let (login_id, code) = code_for("ada@example.com").await;
    let r = reauthenticate(
        &app,
        &token,
        json!({"login_id": login_id, "session_code": code}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post_json_auth(
            "/api/v1/api-keys",
            &token,
            &json!({"name": "w", "scopes": ["orders:write"]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    // Spent: the same code does not prove it twice.
    let r = reauthenticate(
        &app,
        &token,
        json!({"login_id": login_id, "session_code": code}),
    )
    .await;
    assert_eq!(r.status(), 401);
}

async fn forgot(app: &TestApp, sink: &SmtpSink, email: &str) -> String {
    let before = sink
        .to(email)
        .iter()
        .filter(|m| m.raw.contains("Subject: Reset your password"))
        .count();
    let r = app
        .post("/api/v1/auth/password/forgot", &json!({"email": email}))
        .await;
    assert_eq!(r.status(), 202);
    eventually_every(
        Duration::from_millis(20),
        Duration::from_secs(10),
        || async {
            let resets: Vec<_> = sink
                .to(email)
                .into_iter()
                .filter(|m| m.raw.contains("Subject: Reset your password"))
                .collect();
            match resets.last() {
                Some(last) if resets.len() > before => Ok(last.link_param("token")),
                _ => Err("no reset mail".to_owned()),
            }
        },
    )
    .await
}

async fn reset(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/password/reset",
        &json!({"token": token, "new_password": password}),
    )
    .await
}

on_all_setups!(mail: a_reset_ends_api_keys_and_every_other_reset_link);
async fn a_reset_ends_api_keys_and_every_other_reset_link(app: TestApp, sink: SmtpSink) {
    let ada = signup_verified(&app, &sink, "ada@example.com").await;
    let key = s(&ada["api_key"], "key");
    assert_eq!(app.get_token(&key).await.0, 200);
    let first = forgot(&app, &sink, "ada@example.com").await;
    let second = forgot(&app, &sink, "ada@example.com").await;
    let r = reset(&app, &second, "a whole new passphrase here").await;
    assert_eq!(r.status(), 204);
    // The older link is over, and so is the key (whoever had the password may have made it).
    let r = reset(&app, &first, "the intruder's own passphrase").await;
    assert_eq!(r.status(), 401);
    let (status, body) = app.get_token(&key).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_api_key");
    notice_of_reset(&sink, "ada@example.com", "1 API key").await;
}

/// The mail a reset sends, once it says `what`.
async fn notice_of_reset(sink: &SmtpSink, to: &str, what: &str) {
    let missing = format!("no reset notice with {what:?}");
    sink.first_to(to, &missing, |m| {
        m.raw.contains("Subject: Your password was changed") && m.text().contains(what)
    })
    .await;
}

on_all_setups!(mail: a_password_change_ends_earlier_reset_links);
async fn a_password_change_ends_earlier_reset_links(app: TestApp, sink: SmtpSink) {
    let ada = app.signup("ada@example.com").await;
    // Long after sign-up: the key is not recent and stays.
    app.advance(Duration::from_secs(25 * 3600));
    let login: Value = app
        .login("ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let link = forgot(&app, &sink, "ada@example.com").await;
    let r = app
        .post_json_auth(
            "/api/v1/auth/password/change",
            &s(&login, "access_token"),
            &json!({"current_password": PASSWORD, "new_password": "a whole new passphrase here"}),
        )
        .await;
    assert_eq!(r.status(), 204);
    let r = reset(&app, &link, "the intruder's own passphrase").await;
    assert_eq!(r.status(), 401, "a reset link from before the change");
    assert_eq!(app.get_token(&s(&ada["api_key"], "key")).await.0, 200);
    notice(&sink, "ada@example.com", "Your password was changed").await;
}
