//! Sign-in against a maintained OpenID provider (npm `oidc-provider`, in tests/oidc-provider)
//! on loopback, driven through its own login and consent pages as a browser would.

use std::collections::HashMap;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, s};

const CLIENT_SECRET: &str = "a-long-enough-client-secret-for-tests";
const APP: &str = "https://app.example/done";

/// The provider process; killed when dropped.
struct RealProvider {
    child: Child,
    /// Kept open: the provider must never write into a closed pipe.
    _stdout: std::io::BufReader<std::process::ChildStdout>,
    config_issuer: String,
}

impl Drop for RealProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc-provider")
}

/// `None` (skipped) when Node or the package is missing outside CI; `scripts/test` installs it.
fn start_provider(mode: &str, tenant: &str, people: Value) -> Option<RealProvider> {
    let dir = provider_dir();
    let installed = dir.join("node_modules/oidc-provider").exists()
        && Command::new("node").arg("--version").output().is_ok();
    if !installed {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "node and tests/oidc-provider/node_modules are required under CI=true (npm ci)"
        );
        eprintln!("skipping: oidc-provider is not installed (npm ci in tests/oidc-provider)");
        return None;
    }
    let mut child = Command::new("node")
        .arg(dir.join("provider.mjs"))
        .env("OP_MODE", mode)
        .env("OP_TENANT", tenant)
        .env(
            "OP_REDIRECT_URI",
            format!("http://latchkey.test/api/v1/oauth/{mode}/callback"),
        )
        .env("OP_PEOPLE", people.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start node");
    let mut line = String::new();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let ready: Value = serde_json::from_str(&line).expect("the provider's ready line");
    Some(RealProvider {
        child,
        _stdout: stdout,
        config_issuer: s(&ready, "config_issuer"),
    })
}

async fn spawn(op: &RealProvider, kind: &str, tenants: &[&str]) -> TestApp {
    let provider = latchkey_server::oidc_config::OidcProvider {
        name: kind.into(),
        kind: kind.into(),
        issuer: Some(op.config_issuer.clone()),
        client_id: "latchkey-client".into(),
        client_secret: Some(CLIENT_SECRET.into()),
        scopes: vec![],
        authority: None,
        tenants: tenants.iter().map(|t| t.to_string()).collect(),
        form_post: false,
        satisfies_mfa: false,
    };
    TestApp::spawn_with(Backend::Sqlite, |c| {
        c.oidc_providers = vec![provider];
        c.oidc_redirect_allow_list = vec!["https://app.example".into()];
    })
    .await
    .unwrap()
}

/// A browser with a cookie jar for the provider, following redirects by hand and filling the
/// provider's login and consent forms.
struct Browser {
    http: reqwest::Client,
    jar: HashMap<String, String>,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: HashMap::new(),
        }
    }

    fn keep_cookies(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all("set-cookie") {
            let pair = v.to_str().unwrap().split(';').next().unwrap();
            if let Some((k, v)) = pair.split_once('=') {
                self.jar.insert(k.trim().to_owned(), v.to_owned());
            }
        }
    }

    fn cookies(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// From Latchkey's start to the callback URL the provider sends the browser back to.
    async fn sign_in_at_provider(
        &mut self,
        app: &TestApp,
        provider: &str,
        login: &str,
    ) -> (String, String) {
        let start = self
            .http
            .get(app.url(&format!(
                "/api/v1/oauth/{provider}/start?redirect_to=https%3A%2F%2Fapp.example%2Fdone"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), StatusCode::FOUND);
        let flow_cookie = start.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut url = start.headers()["location"].to_str().unwrap().to_owned();
        for _ in 0..20 {
            if url.starts_with("http://latchkey.test") {
                return (url.replace("http://latchkey.test", &app.base), flow_cookie);
            }
            let r = self
                .http
                .get(&url)
                .header("cookie", self.cookies())
                .send()
                .await
                .unwrap();
            self.keep_cookies(&r);
            let base = r.url().clone();
            if r.status().is_redirection() {
                url = base
                    .join(r.headers()["location"].to_str().unwrap())
                    .unwrap()
                    .to_string();
                continue;
            }
            let status = r.status();
            let page = r.text().await.unwrap();
            assert_eq!(status, StatusCode::OK, "{page}");
            let action = page
                .split("action=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_else(|| panic!("no form on the provider's page: {page}"));
            let form = if page.contains("name=\"login\"") {
                format!("prompt=login&login={login}&password=any")
            } else {
                "prompt=consent".to_owned()
            };
            let post = self
                .http
                .post(base.join(action).unwrap())
                .header("cookie", self.cookies())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form)
                .send()
                .await
                .unwrap();
            self.keep_cookies(&post);
            assert!(
                post.status().is_redirection(),
                "form answered {}",
                post.status()
            );
            url = base
                .join(post.headers()["location"].to_str().unwrap())
                .unwrap()
                .to_string();
        }
        panic!("the provider never sent the browser back");
    }
}

async fn back_at_latchkey(url: &str, flow_cookie: &str) -> (StatusCode, Option<String>, Value) {
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .header("cookie", flow_cookie)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, location, r.json().await.unwrap_or(Value::Null))
}

fn handoff_code(location: &str) -> String {
    assert!(location.starts_with(APP), "{location}");
    reqwest::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned()
}

async fn exchange(app: &TestApp, code: &str) -> Value {
    let r = app
        .post("/api/v1/auth/exchange", &json!({"code": code}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_provider_google_like_sign_up_sign_in_link_and_replay() {
    let people = json!({
        "ann": {"email": "ann@example.com", "email_verified": true, "name": "Ann"},
        "eve": {"email": "boss@example.com", "email_verified": false},
        "boss": {"email": "boss@example.com", "email_verified": true},
    });
    let Some(op) = start_provider("google", "", people) else {
        return;
    };
    let app = spawn(&op, "google", &[]).await;
    let boss = app.signup("boss@example.com").await;

    // A new person: the sign-up step with a phone number.
    let mut browser = Browser::new();
    let (url, cookie) = browser.sign_in_at_provider(&app, "google", "ann").await;
    let (status, location, body) = back_at_latchkey(&url, &cookie).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let step = exchange(&app, &handoff_code(&location.unwrap())).await;
    assert_eq!(step["signup_required"], true, "{step}");
    let r = app
        .post(
            "/api/v1/auth/signup/complete",
            &json!({"signup_token": s(&step, "signup_token"), "phone": "+14155550123"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let ann: Value = r.json().await.unwrap();
    assert_eq!(ann["user"]["role"], "admin");

    // The provider's code is single use: the same callback again is refused.
    let (status, _, body) = back_at_latchkey(&url, &cookie).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "external_login_failed");

    // Again, in the same browser (the provider remembers the login): the same user.
    let (url, cookie) = browser.sign_in_at_provider(&app, "google", "ann").await;
    let (_, location, _) = back_at_latchkey(&url, &cookie).await;
    let signed = exchange(&app, &handoff_code(&location.unwrap())).await;
    assert_eq!(
        signed["user"]["user_id"], ann["user"]["user_id"],
        "{signed}"
    );

    // An unverified address that has an account: no link.
    let (url, cookie) = Browser::new()
        .sign_in_at_provider(&app, "google", "eve")
        .await;
    let (_, location, _) = back_at_latchkey(&url, &cookie).await;
    let step = exchange(&app, &handoff_code(&location.unwrap())).await;
    assert_eq!(step["signup_required"], true, "{step}");
    // A verified one: linked to the existing account.
    let (url, cookie) = Browser::new()
        .sign_in_at_provider(&app, "google", "boss")
        .await;
    let (_, location, _) = back_at_latchkey(&url, &cookie).await;
    let linked = exchange(&app, &handoff_code(&location.unwrap())).await;
    assert_eq!(
        linked["user"]["user_id"], boss["user"]["user_id"],
        "{linked}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_provider_microsoft_like_tenant_template_and_allow_list() {
    let people = json!({"bob": {"oid": "oid-bob", "email": "bob@contoso.example", "name": "Bob"}});
    let Some(op) = start_provider("microsoft", "tenant-a", people.clone()) else {
        return;
    };
    let app = spawn(&op, "microsoft", &["tenant-a"]).await;
    let (url, cookie) = Browser::new()
        .sign_in_at_provider(&app, "microsoft", "bob")
        .await;
    let (status, location, body) = back_at_latchkey(&url, &cookie).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let step = exchange(&app, &handoff_code(&location.unwrap())).await;
    assert_eq!(step["signup_required"], true, "{step}");
    assert_eq!(step["email"], "bob@contoso.example");

    // The same directory, another tenant: outside the allow-list.
    let Some(other) = start_provider("microsoft", "tenant-b", people) else {
        return;
    };
    let app2 = spawn(&other, "microsoft", &["tenant-a"]).await;
    let (url, cookie) = Browser::new()
        .sign_in_at_provider(&app2, "microsoft", "bob")
        .await;
    let (status, _, body) = back_at_latchkey(&url, &cookie).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("tenant"),
        "{body}"
    );
}
