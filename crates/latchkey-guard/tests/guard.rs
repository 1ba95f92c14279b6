//! The guard against a real Latchkey (in-process, on port 0) and a real axum service using it.

use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRef, State};
use axum::response::Response;
use axum::routing::get;
use futures::{SinkExt, StreamExt};
use latchkey_guard::ws::{WsAuthorized, serve_guarded};
use latchkey_guard::{Authorized, Guard, GuardConfig, GuardError};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "correct horse battery staple";

#[derive(Clone)]
struct AppState {
    guard: Guard,
}

impl FromRef<AppState> for Guard {
    fn from_ref(s: &AppState) -> Guard {
        s.guard.clone()
    }
}

async fn whoami(Authorized(id): Authorized) -> axum::Json<Value> {
    axum::Json(json!({"user_id": id.user_id, "org_id": id.org_id}))
}

async fn reports(Authorized(id): Authorized) -> Result<&'static str, GuardError> {
    id.require_scopes(&["orders:read"])?;
    Ok("reports")
}

async fn echo(
    State(state): State<AppState>,
    authorized: WsAuthorized,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade.on_upgrade(move |socket| {
        serve_guarded(state.guard, socket, authorized, |id, text| async move {
            Some(json!({"user_id": id.user_id, "echo": text}).to_string())
        })
    })
}

struct Setup {
    latchkey: latchkey_server::Running,
    service: String,
    guard: Guard,
}

async fn setup(access_ttl: Duration) -> Setup {
    let dir = std::env::temp_dir()
        .join(format!("latchkey-guard-{}", std::process::id()))
        .join(format!("{}", rand_suffix()));
    let config = latchkey_server::Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir,
        issuer: Some("http://latchkey.test".into()),
        argon2_memory_kib: 4096,
        argon2_iterations: 1,
        hash_threads: Some(2),
        access_token_ttl: access_ttl,
        scopes: vec!["orders:read".into()],
        ..latchkey_server::Config::default()
    };
    let latchkey = latchkey_server::start(config, latchkey_core::Clock::system())
        .await
        .unwrap();
    let mut guard_config = GuardConfig::for_issuer("http://latchkey.test");
    guard_config.jwks_url = format!("http://{}/.well-known/jwks.json", latchkey.addr);
    let guard = Guard::new(guard_config);
    let app = Router::new()
        .route("/whoami", get(whoami))
        .route("/reports", get(reports))
        .route("/ws", get(echo))
        .with_state(AppState {
            guard: guard.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Setup {
        latchkey,
        service,
        guard,
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

async fn signup(s: &Setup, email: &str) -> Value {
    let r = reqwest::Client::new()
        .post(format!("http://{}/api/v1/auth/signup", s.latchkey.addr))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

async fn get_with(s: &Setup, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(format!("http://{}{path}", s.service));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_admits_latchkey_tokens_and_refuses_the_rest_in_the_error_shape() {
    let s = setup(Duration::from_secs(15 * 60)).await;
    let grant = signup(&s, "ann@example.com").await;
    let access = grant["access_token"].as_str().unwrap();

    let (status, body) = get_with(&s, "/whoami", Some(access)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_id"], grant["user"]["user_id"]);
    assert_eq!(body["org_id"], grant["user"]["org_id"]);

    for (token, code, error) in [
        (None, 401, "missing_token"),
        (Some("garbage"), 401, "invalid_token"),
        (grant["refresh_token"].as_str(), 401, "invalid_token"),
    ] {
        let (status, body) = get_with(&s, "/whoami", token).await;
        assert_eq!(status, code, "{body}");
        assert_eq!(body["error"], error, "{body}");
        assert_eq!(body["status"], "failed", "{body}");
        assert_eq!(body["code"], code, "{body}");
    }
    // A token without the route's scope.
    let (status, body) = get_with(&s, "/reports", Some(access)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "insufficient_scope", "{body}");
    s.latchkey.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_key_ids_cannot_make_the_guard_fetch_the_jwks_again_and_again() {
    let s = setup(Duration::from_secs(15 * 60)).await;
    let grant = signup(&s, "ann@example.com").await;
    let access = grant["access_token"].as_str().unwrap();
    s.guard.verify(access).await.expect("a real token passes");
    assert_eq!(s.guard.jwks_fetches(), 1);

    // The same token with a `kid` Latchkey never had (the signature no longer matters).
    let mut parts = access.split('.');
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": "forged"}).to_string();
    use base64::Engine;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
    parts.next();
    let forged = format!(
        "{header}.{}.{}",
        parts.next().unwrap(),
        parts.next().unwrap()
    );
    for _ in 0..20 {
        let e = s.guard.verify(&forged).await.unwrap_err();
        assert!(e.to_string().contains("unknown signing key"), "{e}");
    }
    assert_eq!(s.guard.jwks_fetches(), 1, "one fetch per interval at most");
    s.latchkey.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guarded_socket_is_refused_without_a_token_and_closed_with_4001_at_expiry() {
    // 10 s is the shortest access-token lifetime Latchkey allows.
    let s = setup(Duration::from_secs(10)).await;
    let ann = signup(&s, "ann@example.com").await;
    let bob = signup(&s, "bob@example.com").await;
    let access = ann["access_token"].as_str().unwrap();

    match tokio_tungstenite::connect_async(format!("ws://{}/ws", s.service)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected a 401 before the upgrade, got {other:?}"),
    }

    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws?{access}", s.service))
            .await
            .expect("handshake");
    socket.send(Message::text("hello")).await.unwrap();
    let reply = next_text(&mut socket).await;
    assert_eq!(reply["echo"], "hello");
    assert_eq!(reply["user_id"], ann["user"]["user_id"]);

    // Another user's token is no renewal.
    let renewal = json!({"type": "auth", "access_token": bob["access_token"]}).to_string();
    socket.send(Message::text(renewal)).await.unwrap();
    assert_eq!(next_text(&mut socket).await["error"], "forbidden");

    let code = loop {
        match tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("closed within 30 s")
        {
            Some(Ok(Message::Close(Some(frame)))) => break u16::from(frame.code),
            Some(Ok(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(code, latchkey_guard::ws::CLOSE_EXPIRED);
    s.latchkey.stop().await.unwrap();
}

async fn next_text(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_session_checks_a_logout_closes_the_guarded_socket_with_4003() {
    let mut s = setup(Duration::from_secs(15 * 60)).await;
    // A guard that asks Latchkey twice a second whether the session lives.
    let mut config = s.guard.config().clone();
    config.latchkey_url = format!("http://{}", s.latchkey.addr);
    config.session_check_interval = Some(Duration::from_millis(500));
    s.guard = Guard::new(config);
    let app = Router::new().route("/ws", get(echo)).with_state(AppState {
        guard: s.guard.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let ann = signup(&s, "ann@example.com").await;
    let access = ann["access_token"].as_str().unwrap();
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{service}/ws?access_token={access}"))
            .await
            .expect("handshake");
    socket.send(Message::text("hello")).await.unwrap();
    assert_eq!(next_text(&mut socket).await["echo"], "hello");

    let r = reqwest::Client::new()
        .post(format!("http://{}/api/v1/auth/logout", s.latchkey.addr))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("closed within 10 s")
        {
            Some(Ok(Message::Close(Some(frame)))) => break u16::from(frame.code),
            Some(Ok(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(code, latchkey_guard::ws::CLOSE_REVOKED);
    s.latchkey.stop().await.unwrap();
}
