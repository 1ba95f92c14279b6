//! The JWKS cache: keys by `kid`, fetched again on an unknown `kid` at most once per interval.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, RwLock};

use crate::{GuardConfig, GuardError};

/// More keys than any rotation keeps: a larger set is refused, not cached.
const MAX_KEYS: usize = 32;

pub struct KeySet {
    config: GuardConfig,
    validation: Validation,
    keys: RwLock<HashMap<String, DecodingKey>>,
    /// Held while fetching, so concurrent misses make one request; records the last fetch.
    fetching: Mutex<Option<Instant>>,
    fetches: AtomicU64,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: Option<String>,
    kty: String,
    crv: Option<String>,
    x: Option<String>,
}

impl KeySet {
    pub fn new(config: GuardConfig) -> KeySet {
        // Only what Latchkey issues: refuses `alg: none` and HMAC with the public key.
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        KeySet {
            config,
            validation,
            keys: RwLock::new(HashMap::new()),
            fetching: Mutex::new(None),
            fetches: AtomicU64::new(0),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("HTTP client"),
        }
    }

    pub fn config(&self) -> &GuardConfig {
        &self.config
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    pub async fn decode<T: DeserializeOwned>(&self, token: &str) -> Result<T, GuardError> {
        use jsonwebtoken::errors::ErrorKind;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| GuardError::InvalidToken("malformed"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(GuardError::InvalidToken("wrong algorithm"));
        }
        let kid = header.kid.ok_or(GuardError::InvalidToken("no key id"))?;
        let key = self.key(&kid).await?;
        jsonwebtoken::decode::<T>(token, &key, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => GuardError::Expired,
                ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => {
                    GuardError::InvalidToken("wrong issuer or audience")
                }
                ErrorKind::InvalidSignature => GuardError::InvalidToken("bad signature"),
                _ => GuardError::InvalidToken("malformed"),
            })
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, GuardError> {
        if let Some(key) = self.keys.read().await.get(kid) {
            return Ok(key.clone());
        }
        let mut last = self.fetching.lock().await;
        // Another caller may have fetched while this one waited.
        if let Some(key) = self.keys.read().await.get(kid) {
            return Ok(key.clone());
        }
        if last.is_some_and(|at| at.elapsed() < self.config.refetch_interval) {
            return Err(GuardError::InvalidToken("unknown signing key"));
        }
        *last = Some(Instant::now());
        let fresh = self.fetch().await?;
        let found = fresh.get(kid).cloned();
        *self.keys.write().await = fresh;
        found.ok_or(GuardError::InvalidToken("unknown signing key"))
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, GuardError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let unavailable = |e: &dyn std::fmt::Display| {
            tracing::warn!(url = %self.config.jwks_url, error = %e, "JWKS fetch failed");
            GuardError::KeysUnavailable
        };
        let response = self
            .http
            .get(&self.config.jwks_url)
            .send()
            .await
            .map_err(|e| unavailable(&e))?;
        if !response.status().is_success() {
            return Err(unavailable(&response.status()));
        }
        let jwks: Jwks = response.json().await.map_err(|e| unavailable(&e))?;
        if jwks.keys.len() > MAX_KEYS {
            return Err(unavailable(&"the key set is too large"));
        }
        let mut keys = HashMap::new();
        for jwk in jwks.keys {
            let (Some(kid), Some(x)) = (jwk.kid, jwk.x) else {
                continue;
            };
            if jwk.kty != "OKP" || jwk.crv.as_deref() != Some("Ed25519") {
                continue;
            }
            let Ok(public) = URL_SAFE_NO_PAD.decode(x) else {
                continue;
            };
            keys.insert(kid, DecodingKey::from_ed_der(&public));
        }
        Ok(keys)
    }
}
