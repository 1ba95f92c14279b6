//! Phone verification: codes by text message through the development outbox or a webhook.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::phone::{PHONE, code_in, outbox_code, user_with_phone};
use crate::helpers::{Backend, TestApp, assert_error_shape, s};

/// What the webhook received: the `Authorization` header and the JSON body.
type Inbox = Arc<Mutex<Vec<(Option<String>, Value)>>>;

async fn start(app: &TestApp, token: &str) -> (u16, Value) {
    let r = app.post_auth("/api/v1/phone/verify/start", token).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn verify(app: &TestApp, token: &str, code: &str) -> (u16, Value) {
    let r = app
        .post_json_auth("/api/v1/phone/verify", token, &json!({"code": code}))
        .await;
    (r.status().as_u16(), r.json().await.unwrap())
}

fn other_code(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_verification_with_the_outbox_code_once_and_resends_spaced() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let token = user_with_phone(&app).await;
    let (status, body) = start(&app, &token).await;
    assert_eq!(status, 202, "{body}");
    let (to, code) = outbox_code(&app);
    assert_eq!(to, PHONE);
    // A second send within the minute is refused, with when to retry.
    let r = app.post_auth("/api/v1/phone/verify/start", &token).await;
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let (status, body) = verify(&app, &token, &other_code(&code)).await;
    assert_eq!(status, 400, "{body}");
    assert_error_shape(status, &body, "wrong code");
    let (status, body) = verify(&app, &token, &code).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"phone": PHONE, "verified": true}));
    // Used once.
    let (status, _) = verify(&app, &token, &code).await;
    assert_eq!(status, 400);
    // After a minute a new code can be sent.
    app.advance(Duration::from_secs(61));
    assert_eq!(start(&app, &token).await.0, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_code_allows_five_tries_and_ten_minutes() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let token = user_with_phone(&app).await;
    start(&app, &token).await;
    let (_, code) = outbox_code(&app);
    for _ in 0..5 {
        assert_eq!(verify(&app, &token, &other_code(&code)).await.0, 400);
    }
    assert_eq!(verify(&app, &token, &code).await.0, 400, "out of tries");

    app.advance(Duration::from_secs(61));
    start(&app, &token).await;
    let (_, code) = outbox_code(&app);
    app.advance(Duration::from_secs(601));
    assert_eq!(verify(&app, &token, &code).await.0, 400, "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_verification_needs_a_phone_on_the_account() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let body = app.signup("nophone@example.com").await;
    let (status, body) = start(&app, &s(&body, "access_token")).await;
    assert_eq!(status, 400, "{body}");
    assert_error_shape(status, &body, "no phone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_codes_go_to_the_sms_webhook() {
    let received: Inbox = Arc::default();
    let sink = received.clone();
    let router = axum::Router::new().route(
        "/sms",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
                let sink = sink.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned());
                    sink.lock().unwrap().push((auth, body));
                    axum::http::StatusCode::NO_CONTENT
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.sms_webhook_url = Some(url);
        c.sms_webhook_token = Some("gateway-token".into());
    })
    .await
    .unwrap();
    let token = user_with_phone(&app).await;
    assert_eq!(start(&app, &token).await.0, 202);
    let (auth, msg) = received
        .lock()
        .unwrap()
        .pop()
        .expect("the webhook got the message");
    assert_eq!(auth.as_deref(), Some("Bearer gateway-token"));
    assert_eq!(msg["to"], PHONE);
    let code = code_in(&s(&msg, "body"));
    assert_eq!(verify(&app, &token, &code).await.0, 200);
    assert!(!app.config.data_dir.join("sms-outbox").exists());
}
