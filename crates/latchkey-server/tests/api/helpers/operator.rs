//! Helpers shared by the tests (moved out of `operator`).

use crate::helpers::{PASSWORD, TestApp, s};
use serde_json::Value;
use std::process::Command;

pub async fn login_token(app: &TestApp, email: &str) -> String {
    let r = app.login(email, PASSWORD).await;
    assert_eq!(r.status(), 200);
    s(&r.json::<Value>().await.unwrap(), "access_token")
}

pub fn make_operator(app: &TestApp, email: &str) {
    let (ok, out) = operator_cli(app, email, false);
    assert!(ok && out.contains("is now an operator"), "{out}");
}

/// `latchkey users operator <email> [--revoke]` against the server's database; its output.
pub fn operator_cli(app: &TestApp, email: &str, revoke: bool) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    for (name, _) in std::env::vars() {
        if name.starts_with("LATCHKEY_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(["users", "operator", email])
        .env("LATCHKEY_DATA_DIR", &app.config.data_dir);
    if revoke {
        cmd.arg("--revoke");
    }
    if let Some(url) = &app.config.database_url {
        cmd.env("LATCHKEY_DATABASE_URL", url);
    }
    if let Some(key) = &app.config.master_key {
        cmd.env("LATCHKEY_MASTER_KEY", key);
    }
    let out = cmd.output().expect("run latchkey users operator");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
