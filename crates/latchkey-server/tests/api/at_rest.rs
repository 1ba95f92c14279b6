//! Secrets at rest: the embedded database's files are private to the server's user, and with a
//! master key the signing keys and server secrets in either database are sealed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use latchkey_core::Clock;
use latchkey_server::Config;
use sqlx::Row;

use crate::helpers::tokens::{assert_me_works, refresh_ok};
use crate::helpers::{Backend, TestApp, s, temp_dir};
use crate::on_all_setups;

const KEY_A_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_A_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const KEY_B_B64: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_data_dir_and_its_database_files_are_private_to_the_server() {
    let data_dir = temp_dir().join("nested").join("data");
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.data_dir = data_dir.clone())
        .await
        .unwrap();
    app.signup("ann@example.com").await;

    assert_eq!(mode(&data_dir), 0o700, "data dir");
    for file in ["latchkey.db", "latchkey.db-wal", "latchkey.db-shm"] {
        assert_eq!(mode(&data_dir.join(file)), 0o600, "{file}");
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_open_data_dir_is_restricted_at_start_and_keeps_its_data() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let grant = app.signup("ann@example.com").await;
    let (config, clock) = app.stop().await;
    let dir = config.data_dir.clone();
    set_mode(&dir, 0o755);
    set_mode(&dir.join("latchkey.db"), 0o644);

    let app = TestApp::start(config, Backend::Sqlite, clock).await;
    assert_eq!(mode(&dir), 0o700, "data dir after start");
    assert_eq!(
        mode(&dir.join("latchkey.db")),
        0o600,
        "database after start"
    );
    assert_me_works(&app, &s(&grant, "access_token"), "token from before").await;
}

/// Every stored signing key and server secret: (row, stored value).
async fn stored_secrets(config: &Config) -> Vec<(String, String)> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&config.database_url())
        .await
        .unwrap();
    let mut out = Vec::new();
    for row in sqlx::query("SELECT kid, private_key FROM signing_keys")
        .fetch_all(&pool)
        .await
        .unwrap()
    {
        out.push((format!("key {}", row.get::<String, _>(0)), row.get(1)));
    }
    for row in sqlx::query("SELECT name, secret FROM server_secrets")
        .fetch_all(&pool)
        .await
        .unwrap()
    {
        out.push((format!("secret {}", row.get::<String, _>(0)), row.get(1)));
    }
    pool.close().await;
    assert!(
        out.iter().any(|(k, _)| k.starts_with("key ")),
        "a signing key is stored"
    );
    assert!(
        out.iter().filter(|(k, _)| k.starts_with("secret ")).count() >= 2,
        "server secrets are stored: {:?}",
        out.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Sealed, and neither the plaintext text nor its raw bytes appear in what is stored.
fn assert_sealed(stored: &[(String, String)], plain: &[(String, String)]) {
    for (row, value) in stored {
        let payload = value
            .strip_prefix("enc1:")
            .unwrap_or_else(|| panic!("{row} is not sealed: {value:.12}…"));
        let sealed = STANDARD.decode(payload).expect("sealed payload is base64");
        for (_, p) in plain {
            assert!(!value.contains(p.as_str()), "{row} holds a plaintext value");
            let raw = STANDARD.decode(p).expect("plaintext values are base64");
            assert!(!contains(&sealed, &raw), "{row} holds raw key bytes");
        }
    }
}

async fn start_error(config: &Config, clock: &Clock) -> String {
    match latchkey_server::start(config.clone(), clock.clone()).await {
        Ok(_) => panic!("the server started"),
        Err(e) => format!("{e:#}"),
    }
}

async fn a_master_key_seals_existing_secrets_and_only_that_key_opens_them(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let grant = app.signup("ann@example.com").await;
    let first = refresh_ok(&app, &s(&grant, "refresh_token")).await;
    let (mut config, clock) = app.stop().await;
    let plain = stored_secrets(&config).await;
    assert!(
        plain.iter().all(|(_, v)| !v.starts_with("enc1:")),
        "no key yet"
    );

    config.master_key = Some(KEY_A_B64.into());
    let app = TestApp::start(config.clone(), backend, clock.clone()).await;
    assert_sealed(&stored_secrets(&config).await, &plain);
    // The same keys and secrets, now opened with the master key: old tokens verify, and a
    // replay of the parent refresh token recomputes the very same child.
    assert_me_works(
        &app,
        &s(&grant, "access_token"),
        "token issued before the key",
    )
    .await;
    let replay = refresh_ok(&app, &s(&grant, "refresh_token")).await;
    assert_eq!(s(&replay, "refresh_token"), s(&first, "refresh_token"));

    let (config, clock) = app.stop().await;
    let app = TestApp::start(config.clone(), backend, clock.clone()).await;
    assert_me_works(
        &app,
        &s(&first, "access_token"),
        "after a restart, same key",
    )
    .await;
    let (config, clock) = app.stop().await;

    let wrong = Config {
        master_key: Some(KEY_B_B64.into()),
        ..config.clone()
    };
    let e = start_error(&wrong, &clock).await;
    assert!(
        e.contains("master key does not decrypt the stored signing keys"),
        "{e}"
    );
    let none = Config {
        master_key: None,
        ..config.clone()
    };
    let e = start_error(&none, &clock).await;
    assert!(
        e.contains("encrypted") && e.contains("no master key"),
        "{e}"
    );

    // The refused starts changed nothing: the right key still works.
    let app = TestApp::start(config, backend, clock).await;
    assert_me_works(&app, &s(&first, "access_token"), "after refused starts").await;
}

async fn a_fresh_database_with_a_master_key_file_never_holds_plaintext_secrets(backend: Backend) {
    let key_file = temp_dir().join("master.key");
    std::fs::write(&key_file, format!("{KEY_A_HEX}\n")).unwrap();
    let Some(app) = TestApp::spawn_with(backend, |c| c.master_key_file = Some(key_file)).await
    else {
        return;
    };
    let grant = app.signup("ann@example.com").await;
    let (config, clock) = app.stop().await;
    for (row, value) in stored_secrets(&config).await {
        assert!(value.starts_with("enc1:"), "{row} is not sealed");
    }

    // The same 32 bytes in base64 are the same key.
    let b64 = Config {
        master_key: Some(KEY_A_B64.into()),
        master_key_file: None,
        ..config.clone()
    };
    let app = TestApp::start(b64.clone(), backend, clock).await;
    assert_me_works(&app, &s(&grant, "access_token"), "key given as base64").await;
    let (_, clock) = app.stop().await;
    let wrong = Config {
        master_key: Some(KEY_B_B64.into()),
        ..b64
    };
    let e = start_error(&wrong, &clock).await;
    assert!(
        e.contains("master key does not decrypt the stored signing keys"),
        "{e}"
    );
}

on_all_setups!(backend: a_master_key_seals_existing_secrets_and_only_that_key_opens_them);
on_all_setups!(backend: a_fresh_database_with_a_master_key_file_never_holds_plaintext_secrets);
