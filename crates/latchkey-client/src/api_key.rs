//! For jobs and services: an API key exchanged at `/get-token` for an auth token, sent as
//! `x-authorization: Agent <token>` and fetched again (once per request) on a 401.

use std::sync::Mutex;

use reqwest::{RequestBuilder, Response, StatusCode};

use crate::{Error, api_error, lock};

pub struct ApiKeyClient {
    http: reqwest::Client,
    base: String,
    api_key: String,
    token: Mutex<Option<String>>,
    /// One `/get-token` call at a time; waiters take the token it got.
    gate: tokio::sync::Mutex<()>,
}

impl ApiKeyClient {
    pub fn new(base_url: &str, api_key: &str) -> Self {
        ApiKeyClient {
            http: reqwest::Client::new(),
            base: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            token: Mutex::new(None),
            gate: tokio::sync::Mutex::new(()),
        }
    }

    /// The current auth token, fetched when there is none.
    pub async fn token(&self) -> Result<String, Error> {
        let current = lock(&self.token).clone();
        match current {
            Some(token) => Ok(token),
            None => self.renew(None).await,
        }
    }

    pub async fn get(&self, path: &str) -> Result<Response, Error> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// A request to `path` to finish with [`ApiKeyClient::send`].
    pub fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    pub async fn send(&self, request: RequestBuilder) -> Result<Response, Error> {
        let used = self.token().await?;
        let retry = request.try_clone();
        let res = agent(request, &used).send().await?;
        match (res.status(), retry) {
            (StatusCode::UNAUTHORIZED, Some(retry)) => {
                let fresh = self.renew(Some(used)).await?;
                Ok(agent(retry, &fresh).send().await?)
            }
            _ => Ok(res),
        }
    }

    async fn renew(&self, used: Option<String>) -> Result<String, Error> {
        let _gate = self.gate.lock().await;
        if let Some(token) = lock(&self.token).clone()
            && Some(&token) != used.as_ref()
        {
            return Ok(token);
        }
        let res = self
            .http
            .post(format!("{}/get-token", self.base))
            .json(&latchkey_api::GetTokenRequest {
                api_key: self.api_key.clone(),
            })
            .send()
            .await?;
        if !res.status().is_success() {
            lock(&self.token).take();
            return Err(api_error(res).await);
        }
        let body: latchkey_api::GetTokenResponse =
            res.json().await.map_err(|e| Error::Decode(e.to_string()))?;
        let token = body.data.auth_token;
        *lock(&self.token) = Some(token.clone());
        Ok(token)
    }
}

fn agent(request: RequestBuilder, token: &str) -> RequestBuilder {
    request.header("x-authorization", format!("Agent {token}"))
}
