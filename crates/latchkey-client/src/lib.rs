//! A client for Latchkey that keeps people signed in.
//!
//! Every request gets `Authorization: Bearer <access token>`. The access token lives in memory
//! only; the refresh token lives in a [`TokenStore`]. The client refreshes first when memory is
//! empty (the program was restarted) or the token expires within the margin (60 s by default),
//! and on a 401 — or a 403 whose error is `invalid_token` — refreshes once and retries once.
//! Any number of concurrent requests share one refresh. A refresh the server refuses ends the
//! session (the store is cleared and the `on_session_expired` callbacks run, once); a network
//! error keeps it, and the next request tries again.
//!
//! ```no_run
//! use latchkey_client::{Client, FileStore};
//!
//! # async fn run() -> Result<(), latchkey_client::Error> {
//! let client = Client::builder("http://127.0.0.1:8080")
//!     .store(FileStore::new("/home/ann/.config/myapp/session"))
//!     .build()?;
//! client.on_session_expired(|| eprintln!("signed out: please log in again"));
//! if !client.has_session().await? {
//!     match client.login("ann@example.com", "correct horse battery staple").await? {
//!         latchkey_client::SignIn::SignedIn(_) => {}
//!         latchkey_client::SignIn::MfaRequired(challenge) => {
//!             client.verify_mfa(&challenge, "123456").await?;
//!         }
//!     }
//! }
//! let me: serde_json::Value = client.get("/api/v1/me").await?.json().await?;
//! println!("{me}");
//! # Ok(()) }
//! ```

mod api_key;
#[cfg(feature = "keyring")]
mod keyring_store;
mod sign_in;
mod store;
#[cfg(feature = "ws")]
mod ws;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

pub use api_key::ApiKeyClient;
#[cfg(feature = "keyring")]
pub use keyring_store::KeyringStore;
/// The wire types, the server's own: answers are read into these.
pub use latchkey_api as api;
pub use latchkey_api::TokenResponse;
pub use sign_in::{CodeSent, CodeSignIn, MfaChallenge, MfaOutcome, SignIn};
pub use store::{BoxFuture, FileStore, MemoryStore, TokenStore};
#[cfg(feature = "ws")]
pub use ws::{LiveSocket, SocketEvent, SocketOptions};

/// What can go wrong, by what the caller does about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// There is no session: log in.
    #[error("not signed in")]
    NotSignedIn,
    /// The server refused the refresh token: the session is over, log in again.
    #[error("the session has ended: {0}")]
    SessionExpired(String),
    /// The server answered with an error (`code` is its snake_case error, e.g.
    /// `invalid_credentials`).
    #[error("{status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// The server could not be reached; the session is kept.
    #[error("network error: {0}")]
    Network(#[from] reqwest::Error),
    /// The token store failed.
    #[error("token store: {0}")]
    Store(#[from] std::io::Error),
    /// The server's answer is not what its API describes (a server of another version?).
    #[error("unexpected answer: {0}")]
    Decode(String),
}

pub struct Builder {
    base: String,
    store: Arc<dyn TokenStore>,
    margin: Duration,
    http: Option<reqwest::Client>,
}

impl Builder {
    /// Where the refresh token is kept ([`MemoryStore`] by default).
    pub fn store(mut self, store: impl TokenStore + 'static) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// Refresh before a request when the access token expires within this (60 s).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// A reqwest client of your own (proxies, TLS roots, timeouts).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base: self.base.trim_end_matches('/').to_owned(),
                store: self.store,
                margin: self.margin,
                access: Mutex::new(None),
                device: Mutex::new(None),
                refresh_gate: tokio::sync::Mutex::new(()),
                expired: Mutex::new(Vec::new()),
                signed_in: tokio::sync::watch::Sender::new(0),
            }),
        })
    }
}

type Callback = Box<dyn Fn() + Send + Sync>;

struct Inner {
    http: reqwest::Client,
    base: String,
    store: Arc<dyn TokenStore>,
    margin: Duration,
    /// The access token and when it expires, by this machine's monotonic clock.
    access: Mutex<Option<(String, Instant)>>,
    /// The device token of the last sign-in, once loaded from the store or received.
    device: Mutex<Option<String>>,
    /// Held while refreshing: the single flight every caller needing a refresh queues on.
    refresh_gate: tokio::sync::Mutex<()>,
    expired: Mutex<Vec<Callback>>,
    /// Bumped on every new access token, so waiters for a session wake up.
    signed_in: tokio::sync::watch::Sender<u64>,
}

/// Cheap to clone; clones share the session.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl Client {
    pub fn builder(base_url: &str) -> Builder {
        Builder {
            base: base_url.to_owned(),
            store: Arc::new(MemoryStore::new()),
            margin: Duration::from_secs(60),
            http: None,
        }
    }

    /// Creates an account (`{"email", "password", "name"?, "phone"?, "referral_code"?}`) and
    /// signs in; the answer carries the default API key, shown once.
    pub async fn signup(&self, body: Value) -> Result<TokenResponse, Error> {
        match self.sign_in("/api/v1/auth/signup", &body).await? {
            sign_in::Answer::Tokens(tokens) => Ok(*tokens),
            _ => Err(Error::Decode("a sign-up answered no tokens".to_owned())),
        }
    }

    /// Ends the session at the server when reachable, and here in any case.
    pub async fn logout(&self) -> Result<(), Error> {
        let token = self.current().map(|(t, _)| t);
        if let Some(token) = token {
            // Offline or refused: the local session ends anyway.
            let _ = self
                .inner
                .http
                .post(self.url("/api/v1/auth/logout"))
                .bearer_auth(token)
                .send()
                .await;
        }
        self.clear().await
    }

    /// Called once each time a session ends because the server refused its refresh token.
    pub fn on_session_expired(&self, f: impl Fn() + Send + Sync + 'static) {
        lock(&self.inner.expired).push(Box::new(f));
    }

    /// True when there is an access token in memory or a refresh token in the store.
    pub async fn has_session(&self) -> Result<bool, Error> {
        Ok(self.current().is_some() || self.inner.store.load().await?.is_some())
    }

    /// A valid access token, refreshed first when missing or inside the margin.
    pub async fn access_token(&self) -> Result<String, Error> {
        match self.current() {
            Some((token, expires)) if expires > Instant::now() + self.inner.margin => Ok(token),
            current => self.refresh(current.map(|(t, _)| t)).await,
        }
    }

    /// A valid access token as soon as there is a session: waits for a login when there is
    /// none (sockets opened before sign-in wait on this).
    pub async fn when_signed_in(&self) -> Result<String, Error> {
        let mut changed = self.inner.signed_in.subscribe();
        loop {
            if self.has_session().await? {
                match self.access_token().await {
                    Err(Error::NotSignedIn | Error::SessionExpired(_)) => {}
                    other => return other,
                }
            }
            // The sender lives as long as the client.
            let _ = changed.changed().await;
        }
    }

    /// `GET path` with the rules applied.
    pub async fn get(&self, path: &str) -> Result<Response, Error> {
        self.send(self.inner.http.get(self.url(path))).await
    }

    /// A request to `path` to finish with [`Client::send`].
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.inner.http.request(method, self.url(path))
    }

    /// Sends `request` with the access token; on a refusal of the token, refreshes once and
    /// retries once (only when the body can be sent twice: a stream cannot). The retry's
    /// answer is returned whatever it is.
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, Error> {
        let used = self.access_token().await?;
        let retry = request.try_clone();
        let res = request.bearer_auth(&used).send().await?;
        let Some(retry) = retry else { return Ok(res) };
        let (res, refused) = refuses_token(res).await?;
        if !refused {
            return Ok(res);
        }
        let fresh = self.refresh(Some(used)).await?;
        Ok(retry.bearer_auth(fresh).send().await?)
    }

    /// A new access token after `used` was refused or found stale. Callers queue on one gate;
    /// whoever finds the token already replaced takes it without another refresh.
    pub async fn refresh(&self, used: Option<String>) -> Result<String, Error> {
        let _gate = self.inner.refresh_gate.lock().await;
        // Someone else's refresh already replaced `used`: take its token, even inside the
        // margin (a margin longer than a token's life would otherwise refresh every time).
        if let Some((token, expires)) = self.current()
            && Some(&token) != used.as_ref()
            && expires > Instant::now()
        {
            return Ok(token);
        }
        let Some(refresh_token) = self.inner.store.load().await? else {
            self.end_session().await?;
            return Err(Error::NotSignedIn);
        };
        let res = self
            .inner
            .http
            .post(self.url("/api/v1/auth/refresh"))
            .json(&json!({"refresh_token": refresh_token}))
            .send()
            .await?;
        if res.status().is_success() {
            let tokens: TokenResponse = res.json().await?;
            self.adopt(&tokens).await?;
            return Ok(tokens.access_token);
        }
        let status = res.status();
        let error = api_error(res).await;
        // A refused session ends here too; a struggling server (5xx, 429) does not end it.
        if matches!(status.as_u16(), 400 | 401 | 403) {
            self.end_session().await?;
            let message = match error {
                Error::Api { message, .. } => message,
                other => other.to_string(),
            };
            return Err(Error::SessionExpired(message));
        }
        Err(error)
    }

    async fn adopt(&self, tokens: &TokenResponse) -> Result<(), Error> {
        if let Some(refresh) = &tokens.refresh_token {
            self.inner.store.save(refresh).await?;
        }
        if let Some(device) = &tokens.device_token {
            self.inner.store.save_device(device).await?;
            *lock(&self.inner.device) = Some(device.clone());
        }
        // expires_in, not expires_at: this machine's clock may be wrong, a duration is not.
        let seconds = u64::try_from(tokens.expires_in).unwrap_or(0);
        let expires = Instant::now() + Duration::from_secs(seconds);
        *lock(&self.inner.access) = Some((tokens.access_token.clone(), expires));
        self.inner.signed_in.send_modify(|n| *n += 1);
        Ok(())
    }

    async fn end_session(&self) -> Result<(), Error> {
        let was_live = self.current().is_some();
        self.clear().await?;
        if was_live {
            for f in lock(&self.inner.expired).iter() {
                f();
            }
        }
        Ok(())
    }

    async fn clear(&self) -> Result<(), Error> {
        lock(&self.inner.access).take();
        Ok(self.inner.store.clear().await?)
    }

    /// This device's token (`X-Device-Token`), kept past sign-outs: the next sign-in from here
    /// then has a failure budget of its own, which another's wrong guesses cannot use up.
    async fn device_token(&self) -> Result<Option<String>, Error> {
        if let Some(device) = lock(&self.inner.device).clone() {
            return Ok(Some(device));
        }
        let stored = self.inner.store.load_device().await?;
        if let Some(device) = &stored {
            *lock(&self.inner.device) = Some(device.clone());
        }
        Ok(stored)
    }

    fn current(&self) -> Option<(String, Instant)> {
        lock(&self.inner.access).clone()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.base)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A 401, or a 403 whose error is `invalid_token` (servers that answer expiry with 403).
/// Reading a 403's body consumes it, so the response is rebuilt for the caller.
async fn refuses_token(res: Response) -> Result<(Response, bool), Error> {
    match res.status() {
        StatusCode::UNAUTHORIZED => Ok((res, true)),
        StatusCode::FORBIDDEN => {
            let challenge = res
                .headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("invalid_token"));
            let status = res.status();
            let headers = res.headers().clone();
            let bytes = res.bytes().await?;
            let body_says = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .is_some_and(|v| v["error"] == "invalid_token");
            let mut rebuilt = http_response(status, bytes);
            *rebuilt.headers_mut() = headers;
            Ok((Response::from(rebuilt), challenge || body_says))
        }
        _ => Ok((res, false)),
    }
}

fn http_response(
    status: StatusCode,
    body: impl Into<reqwest::Body>,
) -> http::Response<reqwest::Body> {
    let mut r = http::Response::new(body.into());
    *r.status_mut() = status;
    r
}

async fn api_error(res: Response) -> Error {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let text = |k: &str, d: &str| body[k].as_str().unwrap_or(d).to_owned();
    Error::Api {
        status,
        code: text("error", "http_error"),
        message: text("message", "request failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str, challenge: Option<&str>) -> Response {
        let mut r = http_response(StatusCode::from_u16(status).unwrap(), body.to_owned());
        if let Some(c) = challenge {
            r.headers_mut()
                .insert(reqwest::header::WWW_AUTHENTICATE, c.parse().unwrap());
        }
        Response::from(r)
    }

    #[tokio::test]
    async fn a_403_counts_as_a_refused_token_only_when_it_says_invalid_token() {
        let (_, refused) = refuses_token(response(401, "", None)).await.unwrap();
        assert!(refused);
        let body = r#"{"status":"failed","code":403,"error":"invalid_token","message":"expired"}"#;
        let (r, refused) = refuses_token(response(403, body, None)).await.unwrap();
        assert!(refused);
        // The body read to decide is still there for the caller.
        assert_eq!(r.text().await.unwrap(), body);
        let (_, refused) = refuses_token(response(
            403,
            "",
            Some(r#"Bearer realm="x", error="invalid_token""#),
        ))
        .await
        .unwrap();
        assert!(refused);
        let forbidden =
            r#"{"status":"failed","code":403,"error":"forbidden","message":"admins only"}"#;
        let (_, refused) = refuses_token(response(403, forbidden, None)).await.unwrap();
        assert!(!refused, "a missing permission is not a refresh matter");
        let (_, refused) = refuses_token(response(200, "{}", None)).await.unwrap();
        assert!(!refused);
    }
}
