//! One configured provider: discovery and its key set, fetched on first use and cached.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;
use tokio::sync::Mutex;

use super::ProviderSettings;

/// How long discovery and keys are trusted before they are read again. Times come from the
/// domain clock (milliseconds), so tests can move them.
const CACHE_FOR_MS: i64 = Duration::from_secs(3600).as_millis() as i64;
/// An unknown `kid` re-fetches the key set at most this often, so forged tokens with made-up
/// key ids cannot turn Latchkey into a flood of requests to the provider.
const REFETCH_EVERY_MS: i64 = Duration::from_secs(30).as_millis() as i64;
/// Largest discovery or key-set document read.
const MAX_DOC: usize = 512 * 1024;

#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

pub struct Provider {
    pub settings: ProviderSettings,
    metadata: Mutex<Option<(Metadata, i64)>>,
    keys: Mutex<Option<(JwkSet, i64)>>,
}

impl Provider {
    pub fn new(settings: ProviderSettings) -> Provider {
        Provider {
            settings,
            metadata: Mutex::new(None),
            keys: Mutex::new(None),
        }
    }

    pub async fn metadata(&self, http: &reqwest::Client, now_ms: i64) -> anyhow::Result<Metadata> {
        let mut slot = self.metadata.lock().await;
        if let Some((m, at)) = slot.as_ref()
            && now_ms - at < CACHE_FOR_MS
        {
            return Ok(m.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.issuer.trim_end_matches('/')
        );
        let m: Metadata = fetch_json(http, &url).await?;
        *slot = Some((m.clone(), now_ms));
        Ok(m)
    }

    /// The cached key set, or a fresh one when `refresh` asks for it (an unknown `kid`) and
    /// the last fetch is old enough.
    pub async fn keys(
        &self,
        http: &reqwest::Client,
        refresh: bool,
        now_ms: i64,
    ) -> anyhow::Result<JwkSet> {
        let mut slot = self.keys.lock().await;
        if let Some((k, at)) = slot.as_ref() {
            let age = now_ms - at;
            if age < CACHE_FOR_MS && (!refresh || age < REFETCH_EVERY_MS) {
                return Ok(k.clone());
            }
        }
        let jwks_uri = self.metadata(http, now_ms).await?.jwks_uri;
        let k: JwkSet = fetch_json(http, &jwks_uri).await?;
        *slot = Some((k.clone(), now_ms));
        Ok(k)
    }
}

pub async fn fetch_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> anyhow::Result<T> {
    let resp = http.get(url).send().await?;
    anyhow::ensure!(
        resp.status().is_success(),
        "{url} answered {}",
        resp.status()
    );
    let body = resp.bytes().await?;
    anyhow::ensure!(body.len() <= MAX_DOC, "{url} sent an oversized document");
    Ok(serde_json::from_slice(&body)?)
}
