//! The Rust client (`latchkey-client`) against a real server process, refreshes counted in the
//! server's own access log.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::join_all;
use latchkey_client::{Client, Error, FileStore, TokenStore};
use serde_json::{Value, json};

use crate::helpers::eventually::eventually_every;
use crate::helpers::process::Proc;
use crate::helpers::{PASSWORD, temp_dir};

async fn start(extra: &[(&str, &str)]) -> Proc {
    let mut env = vec![("LATCHKEY_LOG_LEVEL", "info")];
    env.extend_from_slice(extra);
    Proc::start(&env).await
}

/// Access-log lines for `route` (the log has one per request, written before the answer).
fn hits(server: &Proc, method: &str, route: &str) -> usize {
    server
        .stderr()
        .lines()
        .filter(|l| {
            l.contains(&format!("method={method}")) && l.contains(&format!("route={route} "))
        })
        .count()
}

async fn wait_for_hits(server: &Proc, method: &str, route: &str, n: usize) {
    eventually_every(
        Duration::from_millis(50),
        Duration::from_secs(10),
        || async {
            match hits(server, method, route) >= n {
                true => Ok(()),
                false => Err(format!("{n} × {route} never logged:\n{}", server.stderr())),
            }
        },
    )
    .await;
}

async fn signup(server: &Proc, email: &str) -> Value {
    let r = reqwest::Client::new()
        .post(server.url("/api/v1/auth/signup"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

#[tokio::test]
async fn rust_client_keeps_the_refresh_token_in_a_0600_file_and_a_restart_refreshes_once_for_100_requests()
 {
    let server = start(&[]).await;
    let email = "rust-client@example.com";
    signup(&server, email).await;
    let path = temp_dir().join("session");

    let first = Client::builder(&server.base)
        .store(FileStore::new(&path))
        .build()
        .unwrap();
    let signed_in = first.login(email, PASSWORD).await.unwrap();
    assert!(matches!(signed_in, latchkey_client::SignIn::SignedIn(_)));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o600,
            "the session file is readable by its owner only"
        );
    }
    let stored = std::fs::read_to_string(&path).unwrap();
    assert!(
        stored.starts_with("lkr_"),
        "only the refresh token is stored"
    );
    assert!(!stored.contains(email) && !stored.contains(PASSWORD));

    // The program restarts: memory is empty, the file holds the refresh token.
    let client = Client::builder(&server.base)
        .store(FileStore::new(&path))
        .build()
        .unwrap();
    let before = hits(&server, "POST", "/api/v1/auth/refresh");
    let answers = join_all((0..100).map(|_| client.get("/api/v1/me"))).await;
    for r in answers {
        assert_eq!(r.unwrap().status(), 200);
    }
    wait_for_hits(&server, "GET", "/api/v1/me", 100).await;
    assert_eq!(hits(&server, "POST", "/api/v1/auth/refresh") - before, 1);
    assert_ne!(std::fs::read_to_string(&path).unwrap(), stored, "rotated");

    client.logout().await.unwrap();
    assert!(!path.exists(), "logout removes the session file");
    assert!(matches!(
        client.get("/api/v1/me").await,
        Err(Error::NotSignedIn)
    ));
}

#[tokio::test]
async fn rust_clients_refresh_once_for_50_concurrent_requests_after_expiry_and_renew_an_expired_api_token()
 {
    let server = start(&[
        ("LATCHKEY_ACCESS_TOKEN_TTL", "10s"),
        ("LATCHKEY_API_TOKEN_TTL", "10s"),
    ])
    .await;
    let account = signup(&server, "expiry@example.com").await;
    let agent = latchkey_client::ApiKeyClient::new(
        &server.base,
        account["api_key"]["key"].as_str().unwrap(),
    );
    let first_agent_token = agent.token().await.unwrap();
    let client = Client::builder(&server.base)
        .refresh_margin(Duration::ZERO)
        .build()
        .unwrap();
    let latchkey_client::SignIn::SignedIn(login) =
        client.login("expiry@example.com", PASSWORD).await.unwrap()
    else {
        panic!("no second factor here");
    };
    let http = reqwest::Client::new();
    eventually_every(
        Duration::from_millis(200),
        Duration::from_secs(30),
        || async {
            let r = http
                .get(server.url("/api/v1/me"))
                .bearer_auth(&login.access_token)
                .send()
                .await
                .unwrap();
            match r.status() == 401 {
                true => Ok(()),
                false => Err("the access token never expired".to_owned()),
            }
        },
    )
    .await;
    let before = hits(&server, "POST", "/api/v1/auth/refresh");
    let answers = join_all((0..50).map(|_| client.get("/api/v1/me"))).await;
    for r in answers {
        assert_eq!(r.unwrap().status(), 200);
    }
    assert_eq!(hits(&server, "POST", "/api/v1/auth/refresh") - before, 1);

    // The API auth token, unused as long, has expired too: one 401, one renewal, success.
    let r = http
        .get(server.url("/api/v1/me"))
        .header("x-authorization", format!("Agent {first_agent_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the auth token expired unused");
    let before = hits(&server, "POST", "/get-token");
    assert_eq!(agent.get("/api/v1/me").await.unwrap().status(), 200);
    assert_eq!(hits(&server, "POST", "/get-token") - before, 1);
    assert_ne!(agent.token().await.unwrap(), first_agent_token);
}

#[tokio::test]
async fn rust_client_ends_a_revoked_session_once_without_looping() {
    let server = start(&[]).await;
    signup(&server, "revoked@example.com").await;
    let store = Arc::new(latchkey_client::MemoryStore::new());
    let client = Client::builder(&server.base)
        .store(SharedStore(store.clone()))
        .build()
        .unwrap();
    let expired = Arc::new(AtomicUsize::new(0));
    let counter = expired.clone();
    client.on_session_expired(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let latchkey_client::SignIn::SignedIn(login) =
        client.login("revoked@example.com", PASSWORD).await.unwrap()
    else {
        panic!("no second factor here");
    };
    let r = reqwest::Client::new()
        .post(server.url("/api/v1/auth/logout-all"))
        .bearer_auth(&login.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let before = hits(&server, "POST", "/api/v1/auth/refresh");
    let answers = join_all((0..10).map(|_| client.get("/api/v1/me"))).await;
    for r in answers {
        assert!(
            matches!(r, Err(Error::SessionExpired(_)) | Err(Error::NotSignedIn)),
            "{r:?}"
        );
    }
    assert_eq!(expired.load(Ordering::SeqCst), 1);
    assert_eq!(hits(&server, "POST", "/api/v1/auth/refresh") - before, 1);
    assert_eq!(store.load().await.unwrap(), None);
    assert!(matches!(
        client.get("/api/v1/me").await,
        Err(Error::NotSignedIn)
    ));
    assert_eq!(hits(&server, "POST", "/api/v1/auth/refresh") - before, 1);
}

/// A store the test can look into while the client uses it.
struct SharedStore(Arc<latchkey_client::MemoryStore>);

impl TokenStore for SharedStore {
    fn load(&self) -> latchkey_client::BoxFuture<'_, std::io::Result<Option<String>>> {
        self.0.load()
    }
    fn save<'a>(&'a self, t: &'a str) -> latchkey_client::BoxFuture<'a, std::io::Result<()>> {
        self.0.save(t)
    }
    fn clear(&self) -> latchkey_client::BoxFuture<'_, std::io::Result<()>> {
        self.0.clear()
    }
}

#[tokio::test]
async fn rust_api_key_client_gets_one_auth_token_for_concurrent_requests_and_stops_at_a_refused_key()
 {
    let server = start(&[]).await;
    let account = signup(&server, "agent@example.com").await;
    let key = account["api_key"]["key"].as_str().unwrap();
    let client = latchkey_client::ApiKeyClient::new(&server.base, key);
    let answers = join_all((0..20).map(|_| client.get("/api/v1/me"))).await;
    for r in answers {
        let r = r.unwrap();
        assert_eq!(r.status(), 200);
        let me: Value = r.json().await.unwrap();
        assert_eq!(me["key_id"], account["api_key"]["id"]);
    }
    wait_for_hits(&server, "GET", "/api/v1/me", 20).await;
    assert_eq!(hits(&server, "POST", "/get-token"), 1);

    // The key is rotated with no overlap: the old key and its auth token are over.
    let access = account["access_token"].as_str().unwrap();
    let id = account["api_key"]["id"].as_str().unwrap();
    let rotated: Value = reqwest::Client::new()
        .post(server.url(&format!("/api/v1/api-keys/{id}/rotate")))
        .bearer_auth(access)
        .json(&json!({"overlap_seconds": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let old = client.token().await.unwrap();
    let refused = reqwest::Client::new()
        .get(server.url("/api/v1/me"))
        .header("x-authorization", format!("Agent {old}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401, "rotation ended the old key's token");
    // The old key is gone too: the client's renewal is refused, typed, without a loop.
    let before = hits(&server, "POST", "/get-token");
    match client.get("/api/v1/me").await {
        Err(Error::Api {
            status: 401, code, ..
        }) => assert_eq!(code, "invalid_api_key"),
        other => panic!("{other:?}"),
    }
    assert_eq!(hits(&server, "POST", "/get-token") - before, 1);
    let renewed =
        latchkey_client::ApiKeyClient::new(&server.base, rotated["key"].as_str().unwrap());
    assert_eq!(renewed.get("/api/v1/me").await.unwrap().status(), 200);
}
