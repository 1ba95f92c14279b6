//! Signing-key rotation end to end: `latchkey keys rotate` against a running server's
//! database; the server signs with the new key within seconds, tokens of the old key verify
//! until they expire, then the old key retires, leaves the JWKS and verifies nothing.

use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;
use sqlx::Row;

use crate::helpers::oauth::claims_of;
use crate::helpers::{Backend, PASSWORD, TestApp, s};

/// Access TTL 15 min + lenient window 10 min + 5 s leeway + 5 min margin, and a minute more.
pub const RETIRE_AFTER: Duration = Duration::from_secs(31 * 60 + 5);

pub const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub fn kid_of(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    s(&header, "kid")
}

pub async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let r = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    let doc: Value = r.json().await.unwrap();
    doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| s(k, "kid"))
        .collect()
}

/// Polls the JWKS until `done` holds (the server reloads keys every 2 s).
pub async fn wait_for_jwks(
    app: &TestApp,
    what: &str,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let kids = jwks_kids(app).await;
        if done(&kids) {
            return kids;
        }
        assert!(Instant::now() < deadline, "{what}: JWKS still {kids:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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

async fn login_token(app: &TestApp) -> String {
    s(
        &app.login("ann@example.com", PASSWORD)
            .await
            .json::<Value>()
            .await
            .unwrap(),
        "access_token",
    )
}

async fn rotation_end_to_end(app: TestApp, master_key: Option<&str>) {
    app.signup("ann@example.com").await;
    let old_token = login_token(&app).await;
    let old_kid = kid_of(&old_token);
    assert_eq!(jwks_kids(&app).await, std::slice::from_ref(&old_kid));

    let new_kid = rotate_with_cli(&app, master_key);
    assert_ne!(new_kid, old_kid);
    let kids = wait_for_jwks(&app, "after rotation", |k| k.contains(&new_kid)).await;
    assert!(
        kids.contains(&old_kid),
        "the old key still verifies: {kids:?}"
    );
    let new_token = login_token(&app).await;
    assert_eq!(kid_of(&new_token), new_kid, "new tokens carry the new kid");
    assert_eq!(app.me(&new_token).await.status(), 200);

    let stored = stored_private_key(&app, &new_kid).await;
    if master_key.is_some() {
        assert!(stored.starts_with("enc1:"), "the new key is sealed at rest");
    }
    // The old key's token keeps working until its own expiry.
    app.advance(Duration::from_secs(14 * 60));
    assert_eq!(
        app.me(&old_token).await.status(),
        200,
        "old-kid token before its exp"
    );
    app.advance(Duration::from_secs(2 * 60));
    assert_eq!(
        app.me(&old_token).await.status(),
        401,
        "old-kid token after its exp"
    );

    let old_private = stored_private_key(&app, &old_kid).await;
    let fresh = login_token(&app).await; // a live session for the forged token to name
    let live_claims = claims_of(&fresh);
    let now = || app.clock.now_ms() / 1000;
    let forged = master_key
        .is_none()
        .then(|| sign_with(&old_private, &old_kid, &live_claims, now()));
    if let Some(forged) = &forged {
        assert_eq!(
            app.me(forged).await.status(),
            200,
            "the old key still verifies before retiring"
        );
    }
    app.advance(RETIRE_AFTER);
    let kids = wait_for_jwks(&app, "after retirement", |k| !k.contains(&old_kid)).await;
    assert_eq!(kids, std::slice::from_ref(&new_kid));
    if master_key.is_none() {
        // A token signed with the retired key (say, from a leaked backup) is refused.
        let forged = sign_with(&old_private, &old_kid, &live_claims, now());
        let r = app.me(&forged).await;
        assert_eq!(r.status(), 401, "a retired key verifies nothing");
    }
    // The server keeps working with the new key.
    assert_eq!(app.me(&login_token(&app).await).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_on_sqlite() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    rotation_end_to_end(app, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_on_postgres() {
    if let Some(app) = TestApp::spawn(Backend::Postgres).await {
        rotation_end_to_end(app, None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_with_a_master_key_seals_the_new_key() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.master_key = Some(MASTER_KEY.into()))
        .await
        .unwrap();
    rotation_end_to_end(app, Some(MASTER_KEY)).await;
}

/// Two instances over one database: a token signed with the new key by one is accepted by the
/// other at once, whether or not that one has reloaded its keys yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instance_accepts_the_new_key_at_once() {
    let Some(a) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let b = a.sibling().await;
    a.signup("ann@example.com").await;
    let new_kid = rotate_with_cli(&a, None);
    wait_for_jwks(&a, "instance a", |k| k.contains(&new_kid)).await;
    for round in 0..20 {
        let token = login_token(&a).await;
        assert_eq!(kid_of(&token), new_kid);
        assert_eq!(
            b.me(&token).await.status(),
            200,
            "round {round}: instance b refused it"
        );
    }
}
