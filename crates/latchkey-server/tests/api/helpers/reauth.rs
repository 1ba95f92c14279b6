//! Helpers shared by the tests (moved out of `reauth`).

use crate::helpers::eventually::eventually_every;
use crate::helpers::mail_sink::SmtpSink;
use crate::helpers::{PASSWORD, TestApp};
use serde_json::{Value, json};
use std::time::Duration;

/// Waits for a notice mail to `to` whose text contains `what`.
pub async fn notice(sink: &SmtpSink, to: &str, what: &str) {
    eventually_every(
        Duration::from_millis(20),
        Duration::from_secs(10),
        || async {
            if sink
                .to(to)
                .iter()
                .any(|m| m.raw.contains(NOTICE) && m.text().contains(what))
            {
                Ok(())
            } else {
                Err(format!("no notice {what:?} to {to}"))
            }
        },
    )
    .await
}

pub async fn reauthenticate(app: &TestApp, token: &str, proof: Value) -> reqwest::Response {
    app.post_json_auth("/api/v1/auth/reauthenticate", token, &proof)
        .await
}

/// Signs `email` up with the test password and confirms the address with the link mailed at
/// sign-up (and the password: the owner confirming, not a takeover). An owner whose address
/// was never proven would lose everything to a reset, which is the takeover rule, not the
/// clean-up these tests are about.
pub async fn signup_verified(app: &TestApp, sink: &SmtpSink, email: &str) -> Value {
    let user = app.signup(email).await;
    let token = sink
        .wait_for(email, "Confirm your email address")
        .await
        .link_param("token");
    let r = app
        .post(
            "/api/v1/auth/email/verify",
            &json!({"token": token, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 204, "confirming {email}");
    user
}

pub const NOTICE: &str = "Subject: Security notice: your account changed";
