//! What web apps on another origin need: CORS for the configured origins only (never on
//! forward-auth), and the refresh token in an HttpOnly cookie when they ask for it.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, assert_error_shape, s};

const APP: &str = "https://app.example.com";

async fn app_with(cors: &[&str], cookie: bool) -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |c| {
        c.cors_origins = cors.iter().map(|o| o.to_string()).collect();
        c.refresh_cookie = cookie;
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn cors_answers_preflights_and_exposes_headers_for_configured_origins_only() {
    let app = app_with(&[APP, "http://localhost:3000"], false).await;
    let preflight = |origin: &str, path: &str| {
        app.client
            .request(Method::OPTIONS, app.url(path))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };

    let r = preflight(APP, "/api/v1/me").await.unwrap();
    assert_eq!(r.status(), 204);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], APP);
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert!(
        h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );

    // Another origin gets no CORS grant.
    let r = preflight("https://evil.example.net", "/api/v1/me")
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());

    // A real request: the SDK must be able to read why its token was refused.
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .header("origin", APP)
        .bearer_auth("nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["access-control-allow-origin"], APP);
    let exposed = r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    for name in ["www-authenticate", "retry-after", "x-request-id"] {
        assert!(exposed.contains(name), "{name} exposed");
    }
    let body: Value = r.json().await.unwrap();
    assert_error_shape(401, &body, "401 through CORS");

    // Forward-auth is never answered by CORS: a proxy passing on a browser's preflight gets
    // the policy's decision (deny-all here), not a 204.
    let r = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/authorize"))
        .header("origin", APP)
        .header("access-control-request-method", "GET")
        .header("x-forwarded-method", "OPTIONS")
        .header("x-forwarded-uri", "/reports/q3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn without_configured_origins_no_cors_headers_are_sent() {
    let app = app_with(&[], false).await;
    let r = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/me"))
        .header("origin", APP)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    assert_ne!(r.status(), 204);
}

fn cookie_of(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("latchkey_refresh="))
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("latchkey_refresh=")
        .to_owned()
}

#[tokio::test]
async fn cookie_mode_keeps_the_refresh_token_out_of_page_scripts_reach() {
    let app = app_with(&[APP], true).await;
    app.signup("cookie@example.com").await;
    let login = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-refresh-token-mode", "cookie")
        .json(&json!({"email": "cookie@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let set = cookie_of(&login).expect("a refresh cookie");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    let first = cookie_value(&set);
    assert!(first.starts_with("lkr_"));
    let body: Value = login.json().await.unwrap();
    assert!(body["refresh_token"].is_null(), "not in the body: {body}");

    // Refresh with the cookie alone: a new cookie, the old one spent.
    let refresh = |token: String| {
        app.client
            .post(app.url("/api/v1/auth/refresh"))
            .header("x-refresh-token-mode", "cookie")
            .header("cookie", format!("other=1; latchkey_refresh={token}"))
            .send()
    };
    let r = refresh(first.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let second = cookie_value(&cookie_of(&r).unwrap());
    assert_ne!(second, first);
    let body: Value = r.json().await.unwrap();
    assert!(body["refresh_token"].is_null());
    let access = s(&body, "access_token");
    assert_eq!(app.me(&access).await.status(), 200);

    // Without the opt-in header the cookie is not read (a cross-site form cannot send it).
    let r = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", format!("latchkey_refresh={second}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Logout clears the cookie.
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header("x-refresh-token-mode", "cookie")
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(cookie_of(&r).unwrap().contains("Max-Age=0"));
    let r = refresh(second).await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        cookie_of(&r).unwrap().contains("Max-Age=0"),
        "a refused cookie is removed"
    );
    let body: Value = r.json().await.unwrap();
    assert_error_shape(401, &body, "refused cookie");
}

#[tokio::test]
async fn the_cookie_is_not_offered_unless_the_server_enables_it() {
    let app = app_with(&[APP], false).await;
    app.signup("plain@example.com").await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-refresh-token-mode", "cookie")
        .json(&json!({"email": "plain@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(cookie_of(&r).is_none());
    let body: Value = r.json().await.unwrap();
    assert!(s(&body, "refresh_token").starts_with("lkr_"));
}
