//! Helpers shared by the tests (moved out of `phone`).

use crate::helpers::{TestApp, s};
use serde_json::{Value, json};

/// The newest message in the development outbox.
pub fn outbox_code(app: &TestApp) -> (String, String) {
    let dir = app.config.data_dir.join("sms-outbox");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let msg: Value =
        serde_json::from_slice(&std::fs::read(files.last().unwrap()).unwrap()).unwrap();
    (s(&msg, "to"), code_in(&s(&msg, "body")))
}

pub async fn user_with_phone(app: &TestApp) -> String {
    let body = app
        .signup_with(
            json!({"email": "pat@example.com", "password": crate::helpers::PASSWORD,
            "phone": PHONE}),
        )
        .await;
    s(&body, "access_token")
}

pub fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned()
}

pub const PHONE: &str = "+14155550123";
