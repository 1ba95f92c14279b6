//! Helpers shared by the tests (moved out of `mfa`).

use crate::helpers::{TestApp, s};
use serde_json::{Value, json};
use std::time::Duration;

/// Signs up `email`, turns TOTP on, and returns (secret, recovery codes, access token).
pub async fn enable_mfa(app: &TestApp, email: &str) -> (String, Vec<String>, String) {
    let user = app.signup(email).await;
    let token = s(&user, "access_token");
    let r = app
        .post_json_auth("/api/v1/mfa/totp/enroll", &token, &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let enrolled: Value = r.json().await.unwrap();
    let secret = s(&enrolled, "secret");
    assert!(s(&enrolled, "otpauth_uri").starts_with("otpauth://totp/"));
    assert!(s(&enrolled, "otpauth_uri").contains(&format!("secret={secret}")));
    assert!(s(&enrolled, "qr_svg").contains("<svg"));
    let r = app
        .post_json_auth(
            "/api/v1/mfa/totp/confirm",
            &token,
            &json!({"code": totp_code(app, &secret)}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let codes: Vec<String> = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    // The confirming code's time step is spent: the next code comes from the next one.
    app.advance(Duration::from_secs(30));
    (secret, codes, token)
}

pub fn totp_code(app: &TestApp, secret: &str) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    totp.generate(app.clock.now_secs() as u64).to_string()
}
