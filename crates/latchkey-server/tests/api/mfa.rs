//! Two-factor authentication: TOTP codes computed here from the enrolled secret, at the
//! server's (manual) clock.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::mail_sink::SmtpSink;
use crate::helpers::mfa::{enable_mfa, totp_code};
use crate::helpers::{PASSWORD, TestApp, error_code, s};

async fn mfa_token(app: &TestApp, email: &str) -> String {
    let r = app.login(email, PASSWORD).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "mfa_required", "{body}");
    assert!(body.get("access_token").is_none(), "{body}");
    assert_eq!(body["data"]["methods"], json!(["totp", "recovery_code"]));
    s(&body, "mfa_token")
}

async fn mfa_verify(app: &TestApp, token: &str, code: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/mfa/verify",
        &json!({"mfa_token": token, "mfa_code": code}),
    )
    .await
}

/// A wrong second factor: 401 `invalid_mfa_code` with the tries left in `data`.
async fn assert_wrong_mfa(r: reqwest::Response, attempts_left: u64) {
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_mfa_code", "{body}");
    assert_eq!(body["status"], "failed");
    assert_eq!(body["code"], 401);
    assert_eq!(
        body["data"],
        json!({"mfa_required": true, "attempts_left": attempts_left})
    );
}

crate::on_all_setups!(password_login_asks_for_the_second_factor);
async fn password_login_asks_for_the_second_factor(app: TestApp) {
    let (secret, _, token) = enable_mfa(&app, "ada@example.com").await;
    assert_eq!(app.me(&token).await.status(), 200, "this session stays");
    let mfa = mfa_token(&app, "ada@example.com").await;
    let code = totp_code(&app, &secret);
    let r = mfa_verify(&app, &mfa, &code).await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(app.me(&s(&tokens, "access_token")).await.status(), 200);
    // The token is spent, and the same TOTP code is refused within its window (a replay).
    assert_eq!(
        error_code(mfa_verify(&app, &mfa, &code).await).await,
        "invalid_token"
    );
    let mfa = mfa_token(&app, "ada@example.com").await;
    assert_wrong_mfa(mfa_verify(&app, &mfa, &code).await, 4).await;
    app.advance(Duration::from_secs(30));
    let r = mfa_verify(&app, &mfa, &totp_code(&app, &secret)).await;
    assert_eq!(r.status(), 200);
}

crate::on_all_setups!(five_wrong_second_factors_kill_the_login);
async fn five_wrong_second_factors_kill_the_login(app: TestApp) {
    let (secret, _, _) = enable_mfa(&app, "mal@example.com").await;
    let mfa = mfa_token(&app, "mal@example.com").await;
    let right = totp_code(&app, &secret);
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    for left in (0..5).rev() {
        assert_wrong_mfa(mfa_verify(&app, &mfa, wrong).await, left).await;
    }
    let r = mfa_verify(&app, &mfa, &right).await;
    assert_eq!(r.status(), 401);
    assert_eq!(error_code(r).await, "invalid_token");
    // A bad request is refused as such.
    let r = app
        .post("/api/v1/auth/mfa/verify", &json!({"mfa_token": mfa}))
        .await;
    assert_eq!(error_code(r).await, "invalid_request");
}

crate::on_all_setups!(a_recovery_code_works_once);
async fn a_recovery_code_works_once(app: TestApp) {
    let (_, codes, _) = enable_mfa(&app, "rec@example.com").await;
    let mfa = mfa_token(&app, "rec@example.com").await;
    let r = mfa_verify(&app, &mfa, &codes[3].to_uppercase()).await;
    assert_eq!(r.status(), 200, "recovery codes ignore case");
    let mfa = mfa_token(&app, "rec@example.com").await;
    assert_wrong_mfa(mfa_verify(&app, &mfa, &codes[3]).await, 4).await;
    let r = mfa_verify(&app, &mfa, &codes[4]).await;
    assert_eq!(r.status(), 200);
}

crate::on_all_setups!(turning_mfa_on_and_off_ends_the_other_sessions);
async fn turning_mfa_on_and_off_ends_the_other_sessions(app: TestApp) {
    let user = app.signup("two@example.com").await;
    let first = s(&user, "access_token");
    let login: Value = app
        .login("two@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let second = s(&login, "access_token");
    let enrolled: Value = app
        .post_json_auth("/api/v1/mfa/totp/enroll", &first, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let secret = s(&enrolled, "secret");
    let r = app
        .post_json_auth(
            "/api/v1/mfa/totp/confirm",
            &first,
            &json!({"code": "12345x"}),
        )
        .await;
    assert_eq!(error_code(r).await, "invalid_mfa_code");
    assert_eq!(app.me(&second).await.status(), 200, "nothing changed yet");
    let r = app
        .post_json_auth(
            "/api/v1/mfa/totp/confirm",
            &first,
            &json!({"code": totp_code(&app, &secret)}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.me(&second).await.status(),
        401,
        "the other session ended"
    );
    assert_eq!(app.me(&first).await.status(), 200);
    // A second enrolment is refused while MFA is on.
    let r = app
        .post_json_auth("/api/v1/mfa/totp/enroll", &first, &json!({}))
        .await;
    assert_eq!(error_code(r).await, "conflict");

    // Off: needs a current code (not the one just used), and ends the other sessions too.
    let mfa = mfa_token(&app, "two@example.com").await;
    app.advance(Duration::from_secs(30));
    let r = mfa_verify(&app, &mfa, &totp_code(&app, &secret)).await;
    let third: Value = r.json().await.unwrap();
    let third = s(&third, "access_token");
    let r = app
        .send_json_auth(
            reqwest::Method::DELETE,
            "/api/v1/mfa/totp",
            &first,
            Some(&json!({"code": totp_code(&app, &secret)})),
        )
        .await;
    assert_eq!(error_code(r).await, "invalid_mfa_code", "a replayed code");
    app.advance(Duration::from_secs(30));
    let r = app
        .send_json_auth(
            reqwest::Method::DELETE,
            "/api/v1/mfa/totp",
            &first,
            Some(&json!({"code": totp_code(&app, &secret)})),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.me(&third).await.status(), 401);
    let r = app.login("two@example.com", PASSWORD).await;
    let body: Value = r.json().await.unwrap();
    assert!(
        body["access_token"].is_string(),
        "no second step any more: {body}"
    );
}

/// With a master key, the TOTP secret is sealed in the database and logins still work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_secrets_are_sealed_with_the_master_key() {
    use sqlx::{Connection, Row};
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        c.master_key = Some("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=".into());
    })
    .await
    .unwrap();
    let (secret, _, _) = enable_mfa(&app, "seal@example.com").await;
    let mut db = sqlx::SqliteConnection::connect(&app.config.database_url())
        .await
        .unwrap();
    let stored: String = sqlx::query("SELECT secret FROM user_totp")
        .fetch_one(&mut db)
        .await
        .unwrap()
        .get(0);
    assert!(stored.starts_with("enc1:"), "{stored:.12}");
    assert!(!stored.contains(&secret));
    let mfa = mfa_token(&app, "seal@example.com").await;
    let r = mfa_verify(&app, &mfa, &totp_code(&app, &secret)).await;
    assert_eq!(r.status(), 200);
}

/// A code login of an account with MFA: the same code comes back with the second factor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_login_asks_for_the_second_factor() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let url = sink.url();
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        c.smtp_url = Some(url);
    })
    .await
    .unwrap();
    let (secret, _, _) = enable_mfa(&app, "cody@example.com").await;
    // Cody confirms his own address (with his password: he keeps his factor). A code login
    // of an account whose address was never proven takes it over instead (tests/api/takeover.rs).
    let token = sink.last_to("cody@example.com").await.link_param("token");
    let r = app
        .post(
            "/api/v1/auth/email/verify",
            &json!({"token": token, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 204);
    let request = |email: &'static str| {
        let app = &app;
        async move {
            let r = app
                .post("/api/v1/auth/code", &json!({"email": email}))
                .await;
            let body: Value = r.json().await.unwrap();
            s(&body, "login_id")
        }
    };
    let login_id = request("cody@example.com").await;
    let code = sink
        .code_to("cody@example.com")
        .await
        .code_after("sign-in code is ");
    let verify = |mfa: Option<String>| {
        let (app, login_id, code) = (&app, login_id.clone(), code.clone());
        async move {
            let mut body = json!({"login_id": login_id, "session_code": code});
            if let Some(mfa) = mfa {
                body["mfa_code"] = json!(mfa);
            }
            app.post("/api/v1/auth/code/verify", &body).await
        }
    };
    let r = verify(None).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "mfa_required", "login_id": login_id,
               "data": {"methods": ["totp", "recovery_code"]}})
    );
    let right = totp_code(&app, &secret);
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    assert_wrong_mfa(verify(Some(wrong.into())).await, 4).await;
    assert_wrong_mfa(verify(Some(wrong.into())).await, 3).await;
    let r = verify(Some(right)).await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    assert!(tokens["access_token"].is_string());

    // The loop's limit: five wrong second factors, then even the right one is refused.
    app.advance(Duration::from_secs(30));
    let login_id = request("cody@example.com").await;
    let code = sink
        .code_to("cody@example.com")
        .await
        .code_after("sign-in code is ");
    let verify = |mfa: String| {
        let (app, login_id, code) = (&app, login_id.clone(), code.clone());
        async move {
            app.post(
                "/api/v1/auth/code/verify",
                &json!({"login_id": login_id, "session_code": code, "mfa_code": mfa}),
            )
            .await
        }
    };
    for left in (0..5).rev() {
        assert_wrong_mfa(verify(wrong.into()).await, left).await;
    }
    let r = verify(totp_code(&app, &secret)).await;
    assert_eq!(error_code(r).await, "invalid_session_code");
}
