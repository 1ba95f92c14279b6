//! `/get-token`: an API key in, the key's live auth token out (or a new one).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::format::{hash_b64, parse_key};
use super::{MintedToken, TOKEN_PREFIX};
use crate::auth::Auth;
use crate::error::{AuthError, AuthResult};
use crate::secret::{Secret, ct_eq, random_token};
use crate::state::{KeyRecord, Slide};

/// `last_used_at` is written at most this often per key, to keep `/get-token` off the database.
const TOUCH_EVERY_MS: i64 = 60_000;

/// When each key's `last_used_at` was last written by this process.
#[derive(Default)]
pub(in crate::auth) struct Touched(Mutex<HashMap<String, i64>>);

impl Auth {
    /// Which generation `key` is a secret of, if it may still be used.
    pub(super) fn secret_generation(&self, rec: &KeyRecord, key: &str) -> Option<i64> {
        let h = hash_b64(key);
        let now = self.clock.now_ms();
        if rec.revoked || rec.expires_at.is_some_and(|at| at <= now) {
            return None;
        }
        if ct_eq(h.as_bytes(), rec.secret_hash.as_bytes()) {
            return Some(rec.generation);
        }
        rec.previous
            .as_ref()
            .filter(|p| p.until > now && ct_eq(h.as_bytes(), p.hash.as_bytes()))
            .map(|p| p.generation)
    }

    /// `/get-token`: the live token of this key (its expiry reset to the full TTL), or a new one.
    pub async fn get_token(&self, api_key: &str) -> AuthResult<MintedToken> {
        let bad = || AuthError::InvalidApiKey("the API key is unknown, revoked or expired");
        let kid = parse_key(api_key).ok_or_else(bad)?;
        let cached = self.state.key(kid).await?;
        let rec = self.key_record(kid, cached).await?;
        let generation = self.secret_generation(&rec, api_key).ok_or_else(bad)?;
        // A token never outlives its key.
        let ttl = match rec.expires_at {
            Some(at) => {
                let left = Duration::from_millis((at - self.clock.now_ms()).max(0) as u64);
                self.settings
                    .api_token_ttl
                    .min(left)
                    .max(Duration::from_secs(1))
            }
            None => self.settings.api_token_ttl,
        };
        let (entry, _) = self
            .state
            .token_lookup(kid, generation, ttl, Slide::Always)
            .await?;
        let token = match entry.and_then(|e| self.open_entry(&e)) {
            Some(token) => token,
            None => {
                let fresh = format!("{TOKEN_PREFIX}{kid}_{generation}_{}", random_token::<32>());
                let entry = format!("{}|{}", hash_b64(&fresh), self.wrap.seal(&fresh)?);
                // Two first calls at once: both get the token that was stored first.
                let winner = self
                    .state
                    .token_insert(kid, generation, &entry, ttl)
                    .await?;
                self.open_entry(&winner)
                    .ok_or_else(|| anyhow::anyhow!("stored token entry does not open"))?
            }
        };
        self.touch_key(kid).await?;
        let mut scopes = rec.scopes;
        self.honoured(&mut scopes);
        Ok(MintedToken {
            token: Secret::new(token),
            expires_in: ttl,
            scopes,
        })
    }

    /// The token inside a store entry `<hash>|<sealed token>`, checked against its hash.
    fn open_entry(&self, entry: &str) -> Option<String> {
        let (hash, sealed) = entry.split_once('|')?;
        let token = self.wrap.open(sealed).ok()?;
        ct_eq(hash_b64(&token).as_bytes(), hash.as_bytes()).then_some(token)
    }

    async fn touch_key(&self, kid: &str) -> AuthResult<()> {
        let now = self.clock.now_ms();
        let due = {
            let mut map = self.touched.0.lock().unwrap_or_else(|e| e.into_inner());
            if map
                .get(kid)
                .is_none_or(|last| now.saturating_sub(*last) >= TOUCH_EVERY_MS)
            {
                if map.len() > 100_000 {
                    map.clear();
                }
                map.insert(kid.to_owned(), now);
                true
            } else {
                false
            }
        };
        if due {
            self.db.touch_api_key(kid, now).await?;
        }
        Ok(())
    }
}
