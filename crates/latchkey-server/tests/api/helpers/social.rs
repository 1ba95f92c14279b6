//! Helpers shared by the tests (moved out of `social`).

use crate::helpers::oidc_stub::{CLIENT_ID, CLIENT_SECRET, Stub};
use crate::helpers::{Backend, TestApp, s};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const APP: &str = "https://app.example/done";

/// The browser: start at Latchkey, pass the provider, come back to the callback.
pub async fn dance(app: &TestApp, provider: &str, query: &str) -> Callback {
    dance_with(app, provider, query, |url| url).await
}

pub async fn exchange(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let r = app.post("/api/v1/auth/exchange", &body).await;
    (r.status(), r.json().await.unwrap())
}

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A new person through the provider: the sign-up step, then tokens and a default API key.
pub async fn sign_up(app: &TestApp, provider: &str, query: &str, phone: &str) -> Value {
    let code = dance(app, provider, query).await.code();
    let (status, step) = exchange(app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{step}");
    assert_eq!(step["signup_required"], true);
    let (status, body) = complete(
        app,
        json!({"signup_token": s(&step, "signup_token"), "phone": phone}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

pub async fn spawn(backend: Backend, stub: &Stub, kind: &str, tenants: &[&str]) -> Option<TestApp> {
    spawn_tweaked(backend, stub, kind, tenants, |_| {}).await
}

pub async fn complete(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let r = app.post("/api/v1/auth/signup/complete", &body).await;
    (r.status(), r.json().await.unwrap())
}

pub async fn dance_with(
    app: &TestApp,
    provider: &str,
    query: &str,
    spoil: impl FnOnce(String) -> String,
) -> Callback {
    let start_url = app.url(&format!(
        "/api/v1/oauth/{provider}/start?redirect_to={}{query}",
        urlencode(APP)
    ));
    dance_from(app, &start_url, spoil).await
}

/// What the browser saw at the end of the dance.
pub struct Callback {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: Value,
    /// To replay it.
    pub url: String,
    pub cookie: String,
}

/// `spawn`, with the provider's settings and the configuration tweaked.
pub async fn spawn_tweaked(
    backend: Backend,
    stub: &Stub,
    kind: &str,
    tenants: &[&str],
    tweak: impl FnOnce(&mut latchkey_server::Config),
) -> Option<TestApp> {
    let provider = latchkey_server::oidc_config::OidcProvider {
        name: kind.into(),
        kind: kind.into(),
        issuer: Some(stub.config_issuer()),
        client_id: CLIENT_ID.into(),
        client_secret: Some(CLIENT_SECRET.into()),
        scopes: vec![],
        authority: None,
        tenants: tenants.iter().map(|t| t.to_string()).collect(),
        form_post: false,
        satisfies_mfa: false,
    };
    TestApp::spawn_with(backend, |c| {
        c.oidc_providers = vec![provider];
        c.oidc_redirect_allow_list = vec!["https://app.example".into(), "com.example.app:/".into()];
        tweak(c);
    })
    .await
}

pub async fn dance_from(
    app: &TestApp,
    start_url: &str,
    spoil: impl FnOnce(String) -> String,
) -> Callback {
    let http = no_redirects();
    let start = http.get(start_url).send().await.unwrap();
    assert_eq!(start.status(), StatusCode::FOUND);
    let set_cookie = start.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in [
        "HttpOnly",
        "SameSite=Lax",
        "Max-Age=600",
        "Path=/api/v1/oauth/",
    ] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let at_provider = start.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        at_provider.contains("code_challenge_method=S256"),
        "{at_provider}"
    );
    let back = http.get(&at_provider).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::FOUND);
    // The provider redirects to Latchkey's public URL; the test server listens elsewhere.
    let url = back.headers()["location"]
        .to_str()
        .unwrap()
        .replace("http://latchkey.test", &app.base);
    let url = spoil(url);
    callback(app, &url, &cookie).await
}

pub async fn callback(app: &TestApp, url: &str, cookie: &str) -> Callback {
    let _ = app;
    let r = no_redirects()
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = r.json().await.unwrap_or(Value::Null);
    Callback {
        status,
        location,
        body,
        url: url.to_owned(),
        cookie: cookie.to_owned(),
    }
}

pub fn urlencode(s: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", &[("v", s)])
        .unwrap()
        .query()
        .unwrap()[2..]
        .to_owned()
}
