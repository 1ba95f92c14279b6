//! `LATCHKEY_SIGNUP` holds for sign-ups through a provider as it does for passwords: a closed
//! server takes no one, an invite-only one only people with a referral code.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::oidc_stub::Stub;
use crate::helpers::social::{complete, dance, exchange, spawn};
use crate::helpers::{Backend, TestApp, s};

const PHONE: &str = "+442071838750";

/// The provider's answer for a person without an account: the sign-up step (or its refusal).
async fn sign_up_step(app: &TestApp) -> (StatusCode, Value) {
    let code = dance(app, "google", "").await.code();
    exchange(app, json!({"code": code})).await
}

async fn restart_with(app: TestApp, mode: latchkey_core::SignupMode) -> TestApp {
    let backend = app.backend;
    let (mut config, clock) = app.stop().await;
    config.signup = mode;
    TestApp::start(config, backend, clock).await
}

crate::on_all_setups!(backend: provider_sign_up_follows_the_signup_setting);
async fn provider_sign_up_follows_the_signup_setting(backend: Backend) {
    let stub = Stub::google_like().await;
    let app = spawn(backend, &stub, "google", &[]).await.unwrap();
    let founder = app.signup("boss@example.com").await;
    let org: Value = app
        .get_auth("/api/v1/org", &s(&founder, "access_token"))
        .await
        .json()
        .await
        .unwrap();
    let referral = s(&org, "referral_code");

    // Invite-only: the step is offered (the referral code may come with the phone number),
    // but no account without a code; the step stays usable for the corrected request.
    let app = restart_with(app, latchkey_core::SignupMode::Invite).await;
    let (status, step) = sign_up_step(&app).await;
    assert_eq!(status, StatusCode::OK, "{step}");
    let token = s(&step, "signup_token");
    let (status, body) = complete(&app, json!({"signup_token": token, "phone": PHONE})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "forbidden");
    let (status, body) = complete(
        &app,
        json!({"signup_token": token, "phone": PHONE, "referral_code": referral}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["user"]["role"], "member");
    assert_eq!(body["user"]["org_id"], founder["user"]["org_id"]);

    // Closed: a new person is refused at the exchange already, before any phone number.
    let app = restart_with(app, latchkey_core::SignupMode::Closed).await;
    stub.set_person(json!({"sub": "google-sub-2", "email": "second@example.com",
                           "email_verified": true}));
    let (status, body) = sign_up_step(&app).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "forbidden");
    // People with an account still sign in through the provider.
    stub.set_person(json!({"sub": "google-sub-1", "email": "ann@example.com",
                           "email_verified": true}));
    let (status, body) = sign_up_step(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string(), "{body}");
}
