//! Pre-account hijacking: a squatter signs up with Zoe's address and a password of their own.
//! Whatever way Zoe later proves the address (a mailed code, the verification link alone, a
//! password reset), the account becomes hers and nothing the squatter set up keeps working.

use serde_json::{Value, json};

use crate::helpers::api_keys::{assert_key_refused, auth_token};
use crate::helpers::mail_sink::SmtpSink;
use crate::helpers::takeover::{assert_squatter_out, squat};
use crate::helpers::{Backend, PASSWORD, TestApp, error_code, s};
use crate::on_all_setups;

const ZOE: &str = "zoe@example.com";
const CODE_MARKER: &str = "sign-in code is ";

/// Zoe signs in with a mailed code: the answer of `/auth/code/verify`.
async fn code_login(app: &TestApp, sink: &SmtpSink, email: &str) -> reqwest::Response {
    let r = app
        .post("/api/v1/auth/code", &json!({"email": email}))
        .await;
    assert_eq!(r.status(), 202);
    let login_id = s(&r.json::<Value>().await.unwrap(), "login_id");
    let code = sink.code_to(email).await.code_after(CODE_MARKER);
    app.post(
        "/api/v1/auth/code/verify",
        &json!({"login_id": login_id, "session_code": code}),
    )
    .await
}

async fn events(app: &TestApp, access: &str, name: &str) -> Vec<Value> {
    let r = app.get_auth("/api/v1/admin/audit?limit=200", access).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == name)
        .cloned()
        .collect()
}

on_all_setups!(mail: a_code_login_takes_over_a_squatters_account);
async fn a_code_login_takes_over_a_squatters_account(app: TestApp, sink: SmtpSink) {
    let sq = squat(&app, ZOE).await;
    // Zoe's code: straight to tokens (the squatter's second factor is not asked for), in the
    // same account, now verified.
    let r = code_login(&app, &sink, ZOE).await;
    assert_eq!(r.status(), 200);
    let zoe: Value = r.json().await.unwrap();
    assert!(zoe["access_token"].is_string(), "{zoe}");
    assert_eq!(zoe["user"]["user_id"], sq.user_id);
    let access = s(&zoe, "access_token");
    let me: Value = app.me(&access).await.json().await.unwrap();
    assert_eq!(me["email_verified"], true);
    assert_eq!(
        me["role"], "admin",
        "she keeps the account and its organization"
    );
    assert_squatter_out(&app, &sq, ZOE).await;
    // The squatter knew the organization's referral code: it is a new one.
    let org: Value = app
        .get_auth("/api/v1/org", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(s(&org, "referral_code"), sq.referral_code);
    let r = app
        .post(
            "/api/v1/auth/signup",
            &json!({"email": "friend@example.com", "password": PASSWORD,
                    "referral_code": sq.referral_code}),
        )
        .await;
    assert_eq!(error_code(r).await, "unknown_referral_code");
    // No API key, no factor left: Zoe sets up her own.
    let keys = crate::helpers::api_keys::list_keys(&app, &access).await;
    assert!(keys.is_empty(), "{keys:#?}");
    // Audited once, with what went.
    let taken = events(&app, &access, "account.taken_over").await;
    assert_eq!(taken.len(), 1, "{taken:#?}");
    let detail = &taken[0]["detail"];
    assert_eq!(detail["method"], "code", "{detail}");
    assert_eq!(detail["password_removed"], true, "{detail}");
    assert_eq!(detail["totp_removed"], true, "{detail}");
    assert_eq!(detail["api_keys_removed"], 1, "{detail}");
    assert_eq!(detail["sessions_revoked"], 1, "{detail}");
    // Her next code login is an ordinary one.
    let r = code_login(&app, &sink, ZOE).await;
    assert_eq!(r.status(), 200);
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["user"]["user_id"], sq.user_id);
    assert_eq!(
        events(&app, &access, "account.taken_over").await.len(),
        1,
        "once"
    );
}

on_all_setups!(mail:
    with_verified_addresses_required_the_squatters_password_stays_refused,
    |c| c.require_verified_email = true
);
async fn with_verified_addresses_required_the_squatters_password_stays_refused(
    app: TestApp,
    sink: SmtpSink,
) {
    let r = app
        .post(
            "/api/v1/auth/signup",
            &json!({"email": ZOE, "password": PASSWORD}),
        )
        .await;
    assert_eq!(error_code(r).await, "email_not_verified");
    let r = app.login(ZOE, PASSWORD).await;
    assert_eq!(error_code(r).await, "email_not_verified");
    let r = code_login(&app, &sink, ZOE).await;
    assert_eq!(r.status(), 200);
    // Zoe's proof did not unlock the squatter's password: it is gone.
    let r = app.login(ZOE, PASSWORD).await;
    assert_eq!(r.status(), 401);
    assert_eq!(error_code(r).await, "invalid_credentials");
}

/// A session (and an API key) of an unverified account set up before verified addresses were
/// required is refused at its next refresh (`get-token`): `require_verified_email` applies to
/// every way in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_keys_of_unverified_accounts_stop_once_addresses_are_required() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let user = app.signup("old@example.com").await;
    let api_key = s(&user["api_key"], "key");
    auth_token(&app, &api_key).await;
    let (mut config, clock) = app.stop().await;
    config.require_verified_email = true;
    let app = TestApp::start(config, Backend::Sqlite, clock).await;
    let r = app.refresh(&s(&user, "refresh_token")).await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "email_not_verified");
    assert_key_refused(&app, &api_key, "an unverified owner's key").await;
}

on_all_setups!(mail: the_verification_link_alone_takes_over_and_with_the_password_confirms);
async fn the_verification_link_alone_takes_over_and_with_the_password_confirms(
    app: TestApp,
    sink: SmtpSink,
) {
    // The squatter's sign-up mailed a link to Zoe; she opens it.
    let sq = squat(&app, ZOE).await;
    let token = sink
        .wait_for(ZOE, "Confirm your email address")
        .await
        .link_param("token");
    let r = app
        .post("/api/v1/auth/email/verify", &json!({"token": token}))
        .await;
    assert_eq!(r.status(), 204);
    assert_squatter_out(&app, &sq, ZOE).await;
    let r = app
        .post("/api/v1/auth/email/verify", &json!({"token": token}))
        .await;
    assert_eq!(error_code(r).await, "invalid_token", "single use");
    // Zoe signs in with a code, without the squatter's second factor.
    let r = code_login(&app, &sink, ZOE).await;
    assert_eq!(r.status(), 200);
    let zoe: Value = r.json().await.unwrap();
    assert!(zoe["access_token"].is_string(), "{zoe}");

    // Someone who signed up themselves confirms with their password and keeps everything.
    let ann = app.signup("ann@example.com").await;
    let token = sink
        .wait_for("ann@example.com", "Confirm your email address")
        .await
        .link_param("token");
    let r = app
        .post(
            "/api/v1/auth/email/verify",
            &json!({"token": token, "password": "not the password"}),
        )
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(error_code(r).await, "invalid_credentials");
    let r = app
        .post(
            "/api/v1/auth/email/verify",
            &json!({"token": token, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 204, "the wrong password left the token usable");
    let me: Value = app.me(&s(&ann, "access_token")).await.json().await.unwrap();
    assert_eq!(me["email_verified"], true);
    assert_eq!(app.login("ann@example.com", PASSWORD).await.status(), 200);
}

on_all_setups!(mail: a_password_reset_takes_over_a_squatters_account);
async fn a_password_reset_takes_over_a_squatters_account(app: TestApp, sink: SmtpSink) {
    let sq = squat(&app, ZOE).await;
    let r = app
        .post("/api/v1/auth/password/forgot", &json!({"email": ZOE}))
        .await;
    assert_eq!(r.status(), 202);
    let token = sink.reset_to(ZOE).await.link_param("token");
    let new_password = "zoe's own long passphrase";
    let r = app
        .post(
            "/api/v1/auth/password/reset",
            &json!({"token": token, "new_password": new_password}),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_squatter_out(&app, &sq, ZOE).await;
    // Her password signs her in, without the squatter's second factor.
    let r = app.login(ZOE, new_password).await;
    assert_eq!(r.status(), 200);
    let zoe: Value = r.json().await.unwrap();
    assert!(zoe["access_token"].is_string(), "{zoe}");
    let me: Value = app.me(&s(&zoe, "access_token")).await.json().await.unwrap();
    assert_eq!(me["email_verified"], true);
}
