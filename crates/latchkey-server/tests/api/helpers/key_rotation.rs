//! Helpers shared by the tests (moved out of `key_rotation`).

use crate::helpers::eventually::eventually;
use crate::helpers::{TestApp, s};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;
use sqlx::Row;
use std::process::Command;
use std::time::Duration;

pub const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Access TTL 15 min + lenient window 10 min + 5 s leeway + 5 min margin, and a minute more.
pub const RETIRE_AFTER: Duration = Duration::from_secs(31 * 60 + 5);

pub async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let r = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let keys = body["keys"].as_array().expect("keys array");
    assert!(!keys.is_empty(), "{body}");
    keys.iter().map(|k| s(k, "kid")).collect()
}

pub fn kid_of(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    s(&header, "kid")
}

/// `latchkey keys rotate` with the server's database settings; the new kid.
pub(crate) fn rotate_with_cli(app: &TestApp, master_key: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    for (name, _) in std::env::vars() {
        if name.starts_with("LATCHKEY_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(["keys", "rotate"])
        .env("LATCHKEY_DATA_DIR", &app.config.data_dir);
    if let Some(url) = &app.config.database_url {
        cmd.env("LATCHKEY_DATABASE_URL", url);
    }
    if let Some(key) = master_key {
        cmd.env("LATCHKEY_MASTER_KEY", key);
    }
    let out = cmd.output().expect("run latchkey keys rotate");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("new signing key: "))
        .unwrap_or_else(|| panic!("no kid in {stdout}"))
        .trim()
        .to_owned()
}

/// A token signed with `pkcs8_b64` carrying `claims` re-dated to now: what a holder of a
/// retired key could still produce.
pub fn sign_with(pkcs8_b64: &str, kid: &str, claims: &Value, now: i64) -> String {
    let mut claims = claims.clone();
    claims["iat"] = now.into();
    claims["exp"] = (now + 600).into();
    claims["jti"] = "forged-after-retirement".into();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    let key = jsonwebtoken::EncodingKey::from_ed_der(&STANDARD.decode(pkcs8_b64).unwrap());
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

/// The stored private key of `kid` (PKCS#8, base64) as the database holds it.
pub async fn stored_private_key(app: &TestApp, kid: &str) -> String {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.config.database_url())
        .await
        .unwrap();
    let row = sqlx::query("SELECT private_key FROM signing_keys WHERE kid = $1")
        .bind(kid)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    row.get(0)
}

/// Polls the JWKS until `done` holds (the server reloads keys every 2 s).
pub async fn wait_for_jwks(
    app: &TestApp,
    what: &str,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    eventually(Duration::from_secs(15), || async {
        let kids = jwks_kids(app).await;
        if done(&kids) {
            Ok(kids)
        } else {
            Err(format!("{what}: JWKS still {kids:?}"))
        }
    })
    .await
}
