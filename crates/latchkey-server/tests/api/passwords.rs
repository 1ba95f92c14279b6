//! Password change, reset by mail, and the sign-up switch.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::mail_sink::SmtpSink;
use crate::helpers::{PASSWORD, TestApp, error_code, s};
use crate::on_all_setups;

const NEW_PASSWORD: &str = "a whole new passphrase here";

async fn forgot(app: &TestApp, email: &str) {
    let r = app
        .post("/api/v1/auth/password/forgot", &json!({"email": email}))
        .await;
    assert_eq!(r.status(), 202);
}

async fn reset(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/password/reset",
        &json!({"token": token, "new_password": password}),
    )
    .await
}

on_all_setups!(mail: a_forgotten_password_is_reset_by_mail);
async fn a_forgotten_password_is_reset_by_mail(app: TestApp, sink: SmtpSink) {
    let user = app.signup("ada@example.com").await;
    let refresh = s(&user, "refresh_token");
    let access = s(&user, "access_token");
    forgot(&app, "ada@example.com").await;
    // An unknown address gets the same answer, and no mail.
    forgot(&app, "nobody@example.com").await;
    // Queued mail goes after the answer: wait for the queue before looking.
    assert!(
        app.app_state()
            .auth
            .mail_idle(Duration::from_secs(10))
            .await
    );
    assert!(sink.to("nobody@example.com").is_empty());
    let mail = sink.reset_to("ada@example.com").await;
    assert!(mail.raw.contains("text/plain") && mail.raw.contains("text/html"));
    assert!(
        mail.text()
            .contains("http://latchkey.test/reset-password?token=lkp_")
    );
    let token = mail.link_param("token");
    assert!(token.starts_with("lkp_") && token.len() > 40, "{token}");

    // A password the policy refuses leaves the token usable.
    let r = reset(&app, &token, "short").await;
    assert_eq!(error_code(r).await, "weak_password");
    let r = reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(r.status(), 204);
    // Every session and refresh token of the user is over; the old password too.
    assert_eq!(app.me(&access).await.status(), 401);
    assert_eq!(app.refresh(&refresh).await.status(), 401);
    assert_eq!(app.login("ada@example.com", PASSWORD).await.status(), 401);
    assert_eq!(
        app.login("ada@example.com", NEW_PASSWORD).await.status(),
        200
    );
    // Single-use, and a notice was mailed.
    let r = reset(&app, &token, "yet another passphrase!").await;
    assert_eq!(r.status(), 401);
    assert_eq!(error_code(r).await, "invalid_token");
    sink.first_to("ada@example.com", "no notice mail", |m| {
        m.raw.contains("Subject: Your password was changed")
    })
    .await;
}

on_all_setups!(mail: a_reset_link_expires);
async fn a_reset_link_expires(app: TestApp, sink: SmtpSink) {
    app.signup("late@example.com").await;
    forgot(&app, "late@example.com").await;
    let mail = sink.reset_to("late@example.com").await;
    let token = mail.link_param("token");
    app.advance(Duration::from_secs(31 * 60));
    let r = reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(error_code(r).await, "invalid_token");
    let r = reset(&app, "lkp_made-up", NEW_PASSWORD).await;
    assert_eq!(error_code(r).await, "invalid_token");
    let r = app
        .post("/api/v1/auth/password/forgot", &json!({"email": "nope"}))
        .await;
    assert_eq!(error_code(r).await, "invalid_email");
}

crate::on_all_setups!(changing_the_password_ends_the_other_sessions);
async fn changing_the_password_ends_the_other_sessions(app: TestApp) {
    let user = app.signup("chg@example.com").await;
    let this = s(&user, "access_token");
    let other: Value = app
        .login("chg@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let other = s(&other, "access_token");
    let change = |current: &'static str| {
        let (app, this) = (&app, this.clone());
        async move {
            app.post_json_auth(
                "/api/v1/auth/password/change",
                &this,
                &json!({"current_password": current, "new_password": NEW_PASSWORD}),
            )
            .await
        }
    };
    let r = change("not my password").await;
    assert_eq!(error_code(r).await, "invalid_credentials");
    assert_eq!(app.me(&other).await.status(), 200, "nothing changed");
    let r = change(PASSWORD).await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.me(&other).await.status(), 401);
    assert_eq!(app.me(&this).await.status(), 200);
    assert_eq!(app.login("chg@example.com", PASSWORD).await.status(), 401);
    assert_eq!(
        app.login("chg@example.com", NEW_PASSWORD).await.status(),
        200
    );
    let r = app.post("/api/v1/auth/password/change", &json!({})).await;
    assert_eq!(r.status(), 401, "needs a session");
}

crate::on_all_setups!(closed_sign_up_refuses_everyone, |c| {
    c.signup = latchkey_core::SignupMode::Closed
});
async fn closed_sign_up_refuses_everyone(app: TestApp) {
    let r = app
        .post(
            "/api/v1/auth/signup",
            &json!({"email": "a@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "forbidden");
}

crate::on_all_setups!(invite_only_sign_up_needs_a_referral_code);
async fn invite_only_sign_up_needs_a_referral_code(app: TestApp) {
    // The founder signs up while sign-up is open; then the operator switches to invite-only.
    let founder = app.signup("boss@example.com").await;
    let org: Value = app
        .get_auth("/api/v1/org", &s(&founder, "access_token"))
        .await
        .json()
        .await
        .unwrap();
    let referral = s(&org, "referral_code");
    let backend = app.backend;
    let (mut config, clock) = app.stop().await;
    config.signup = latchkey_core::SignupMode::Invite;
    let app = TestApp::start(config, backend, clock).await;
    let r = app
        .post(
            "/api/v1/auth/signup",
            &json!({"email": "a@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "forbidden");
    let member = app
        .signup_with(json!({"email": "a@example.com", "password": PASSWORD,
                            "referral_code": referral}))
        .await;
    assert_eq!(member["user"]["role"], "member");
}

/// Sign-in by mail follows the switch: with sign-up closed an unknown address gets no mail and
/// no account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_sign_in_does_not_sign_up_when_sign_up_is_closed() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let url = sink.url();
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        c.smtp_url = Some(url);
        c.signup = latchkey_core::SignupMode::Invite;
    })
    .await
    .unwrap();
    let r = app
        .post("/api/v1/auth/code", &json!({"email": "new@example.com"}))
        .await;
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    assert!(sink.to("new@example.com").is_empty());
    let r = app
        .post(
            "/api/v1/auth/code/verify",
            &json!({"login_id": s(&body, "login_id"), "session_code": "000000"}),
        )
        .await;
    assert_eq!(error_code(r).await, "invalid_session_code");
}

async fn email_verified(app: &TestApp, access: &str) -> bool {
    let me: Value = app.me(access).await.json().await.unwrap();
    me["email_verified"]
        .as_bool()
        .expect("email_verified in /me")
}

on_all_setups!(mail: sign_up_mails_a_verification_link);
async fn sign_up_mails_a_verification_link(app: TestApp, sink: SmtpSink) {
    let user = app.signup("ver@example.com").await;
    let access = s(&user, "access_token");
    assert!(!email_verified(&app, &access).await);
    let mail = sink.last_to("ver@example.com").await;
    assert!(mail.raw.contains("text/plain") && mail.raw.contains("text/html"));
    assert!(
        mail.text()
            .contains("http://latchkey.test/verify-email?token=lkv_")
    );
    let token = mail.link_param("token");
    let verify = |token: String| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/auth/email/verify",
                &json!({"token": token, "password": PASSWORD}),
            )
            .await
        }
    };
    assert_eq!(verify(token.clone()).await.status(), 204);
    assert!(email_verified(&app, &access).await);
    let r = verify(token).await;
    assert_eq!(error_code(r).await, "invalid_token", "single-use");
    let r = verify("lkv_made-up".into()).await;
    assert_eq!(error_code(r).await, "invalid_token");
}

on_all_setups!(mail: a_required_verified_address_gates_login, |c| c
    .require_verified_email =
    true);
async fn a_required_verified_address_gates_login(app: TestApp, sink: SmtpSink) {
    let r = app
        .post(
            "/api/v1/auth/signup",
            &json!({"email": "gate@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "email_not_verified");
    let r = app.login("gate@example.com", PASSWORD).await;
    assert_eq!(error_code(r).await, "email_not_verified");
    let token = sink.last_to("gate@example.com").await.link_param("token");
    let r = app
        .post(
            "/api/v1/auth/email/verify",
            &json!({"token": token, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.login("gate@example.com", PASSWORD).await.status(), 200);
}

/// A sign-in code proves the address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_code_verifies_the_address() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let url = sink.url();
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        c.smtp_url = Some(url);
    })
    .await
    .unwrap();
    let r = app
        .post("/api/v1/auth/code", &json!({"email": "cv@example.com"}))
        .await;
    let body: Value = r.json().await.unwrap();
    let code = sink
        .code_to("cv@example.com")
        .await
        .code_after("sign-in code is ");
    let r = app
        .post(
            "/api/v1/auth/code/verify",
            &json!({"login_id": s(&body, "login_id"), "session_code": code}),
        )
        .await;
    let tokens: Value = r.json().await.unwrap();
    assert!(email_verified(&app, &s(&tokens, "access_token")).await);
}
