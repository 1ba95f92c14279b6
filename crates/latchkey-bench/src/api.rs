//! The few Latchkey calls the bench makes, over one shared keep-alive HTTP/1.1 client.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Client, RequestBuilder, Url};
use serde::{Deserialize, Serialize};

use crate::stats::Outcome;

/// A user's credentials.
#[derive(Debug, Clone, Serialize)]
pub struct Creds {
    pub email: String,
    pub password: String,
}

impl Creds {
    /// A fresh, unique bench user.
    pub fn generate() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let tag = format!("{nanos}-{}", std::process::id());
        Creds {
            email: format!("bench-{tag}@example.com"),
            password: format!("bench-pass-{tag}-Xy9!"),
        }
    }
}

/// The part of a token response the bench uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    /// Absent after a lenient refresh: the client keeps its refresh token.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

pub fn bearer(access_token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {access_token}")).expect("a token is header-safe")
}

pub struct Api {
    client: Client,
    healthz: Url,
    me: Url,
    signup: Url,
    login: Url,
    refresh: Url,
}

impl Api {
    pub fn new(base: &str, max_idle: usize, timeout: Duration) -> anyhow::Result<Self> {
        let base = Url::parse(base).with_context(|| format!("bad --url {base:?}"))?;
        let at = |path: &str| base.join(path).with_context(|| format!("joining {path}"));
        let client = Client::builder()
            .http1_only()
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(max_idle)
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()?;
        Ok(Api {
            client,
            healthz: at("/healthz")?,
            me: at("/api/v1/me")?,
            signup: at("/api/v1/auth/signup")?,
            login: at("/api/v1/auth/login")?,
            refresh: at("/api/v1/auth/refresh")?,
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// An absolute URL on the server.
    pub fn url(&self, path: &str) -> Url {
        self.healthz.join(path).expect("a valid path")
    }

    /// Sends a prepared request and drains it: for scenarios outside this module.
    pub async fn send(&self, req: RequestBuilder) -> Outcome {
        drain(req).await
    }

    /// `GET /healthz`.
    pub async fn healthz(&self) -> Outcome {
        drain(self.client.get(self.healthz.clone())).await
    }

    /// `GET /api/v1/me`.
    pub async fn me(&self, auth: &HeaderValue) -> Outcome {
        drain(
            self.client
                .get(self.me.clone())
                .header(AUTHORIZATION, auth.clone()),
        )
        .await
    }

    /// `POST /api/v1/auth/login`.
    pub async fn login(&self, creds: &Creds) -> (Outcome, Option<Tokens>) {
        tokens(self.client.post(self.login.clone()).json(creds)).await
    }

    /// `POST /api/v1/auth/refresh` with the current refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> (Outcome, Option<Tokens>) {
        let body = serde_json::json!({ "refresh_token": refresh_token });
        tokens(self.client.post(self.refresh.clone()).json(&body)).await
    }

    /// Login that must succeed (setup, not measured).
    pub async fn login_checked(&self, creds: &Creds) -> anyhow::Result<Tokens> {
        let resp = self
            .client
            .post(self.login.clone())
            .json(creds)
            .send()
            .await?;
        expect_tokens(resp, "login").await
    }

    /// `POST /api/v1/auth/signup` of one bench user (setup, not measured).
    pub async fn signup(&self, creds: &Creds) -> anyhow::Result<Tokens> {
        let body = serde_json::json!({
            "email": creds.email, "password": creds.password, "name": "Bench",
        });
        let resp = self
            .client
            .post(self.signup.clone())
            .json(&body)
            .send()
            .await?;
        expect_tokens(resp, "signup").await.context(
            "sign-ups are limited per IP; to reuse an existing user pass --email and --password",
        )
    }

    /// Fails with a readable message when the server is not there.
    pub async fn check_up(&self) -> anyhow::Result<()> {
        let resp = self
            .client
            .get(self.healthz.clone())
            .send()
            .await
            .with_context(|| format!("no server answering at {}", self.healthz))?;
        if !resp.status().is_success() {
            bail!("{} answered {}", self.healthz, resp.status());
        }
        Ok(())
    }
}

fn transport(e: &reqwest::Error) -> Outcome {
    Outcome::Transport(if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    })
}

/// Sends, reads the whole body (so the connection goes back to the pool), returns the status.
async fn drain(req: RequestBuilder) -> Outcome {
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.bytes().await {
                Ok(_) => Outcome::Status(status),
                Err(e) => transport(&e),
            }
        }
        Err(e) => transport(&e),
    }
}

/// Like `drain`, and parses the token response of a 2xx.
async fn tokens(req: RequestBuilder) -> (Outcome, Option<Tokens>) {
    let resp = match req.send().await {
        Ok(resp) => resp,
        Err(e) => return (transport(&e), None),
    };
    let status = resp.status().as_u16();
    let body = match resp.bytes().await {
        Ok(body) => body,
        Err(e) => return (transport(&e), None),
    };
    let outcome = Outcome::Status(status);
    if !outcome.is_ok() {
        return (outcome, None);
    }
    match serde_json::from_slice::<Tokens>(&body) {
        Ok(t) => (outcome, Some(t)),
        Err(_) => (Outcome::Transport("bad-body"), None),
    }
}

async fn expect_tokens(resp: reqwest::Response, what: &str) -> anyhow::Result<Tokens> {
    let status = resp.status();
    let body = resp.text().await?;
    if !status.is_success() {
        bail!("{what} answered {status}: {body}");
    }
    serde_json::from_str(&body)
        .with_context(|| format!("{what} answered an unexpected body: {body}"))
}
