use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, error_code, s};
use crate::on_all_setups;

async fn signup_login_me_and_org(app: TestApp) {
    let grant = app
        .signup_with(json!({"email": "Ann@Example.com", "password": PASSWORD, "name": "Ann", "phone": "+14155550123"}))
        .await;
    assert_eq!(grant["token_type"], "Bearer");
    assert_eq!(
        grant["user"]["role"], "admin",
        "no referral: founder is admin"
    );
    assert!(s(&grant, "refresh_token").starts_with("lkr_"));

    let me: serde_json::Value = app
        .me(&s(&grant, "access_token"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "Ann@Example.com");
    assert_eq!(me["phone"], "+14155550123");

    // Email is unique case-insensitively, and login ignores case too.
    let r = app
        .post(
            "/api/v1/auth/signup",
            &json!({"email": "ann@example.COM", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(error_code(r).await, "email_taken");
    let r = app.login("ANN@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");

    // The admin sees the referral code; a member who joins with it does not.
    let org: serde_json::Value = app
        .get_auth("/api/v1/org", &s(&grant, "access_token"))
        .await
        .json()
        .await
        .unwrap();
    let code = s(&org, "referral_code");
    let member = app
        .signup_with(
            json!({"email": "bob@example.com", "password": PASSWORD, "referral_code": code}),
        )
        .await;
    assert_eq!(member["user"]["role"], "member");
    assert_eq!(member["user"]["org_id"], org["org_id"]);
    let seen: serde_json::Value = app
        .get_auth("/api/v1/org", &s(&member, "access_token"))
        .await
        .json()
        .await
        .unwrap();
    assert!(seen.get("referral_code").is_none());

    let r = app
        .post(
            "/api/v1/auth/signup",
            &json!({"email": "eve@example.com", "password": PASSWORD, "referral_code": "NOPE"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(error_code(r).await, "unknown_referral_code");
}
on_all_setups!(signup_login_me_and_org);
