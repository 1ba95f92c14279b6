//! Signing-key rotation. A new key signs at once; older keys keep verifying until every token
//! they signed has expired (and the lenient-refresh window after it), then retire and leave the
//! JWKS. Keys live in the database, so every instance follows: each reloads them every few
//! seconds, and at once (at most once a second) when a token names a key it does not know.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::auth::Auth;
use crate::error::{AuthError, AuthResult, TokenProblem};
use crate::jwt::{AccessClaims, Keyring, LEEWAY_SECS, StoredKey};

/// How long a superseded key still verifies beyond the longest life of its tokens: covers
/// instances that kept signing with it until their next reload.
const SWITCH_MARGIN: Duration = Duration::from_secs(300);

/// Unknown `kid`s trigger at most one reload per this interval: made-up kids cannot turn every
/// request into a database read.
const UNKNOWN_KID_RELOAD_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub(in crate::auth) struct ReloadThrottle(Mutex<Option<Instant>>);

impl ReloadThrottle {
    fn due(&self) -> bool {
        let mut last = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|at| at.elapsed() < UNKNOWN_KID_RELOAD_EVERY) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

impl Auth {
    pub(in crate::auth) fn keys(&self) -> arc_swap::Guard<Arc<Keyring>> {
        self.keys.load()
    }

    /// Stores a new signing key and signs with it at once. Only `rotate_signing_key` (who may
    /// rotate, and the record of it) calls this.
    pub(in crate::auth) async fn add_signing_key(&self) -> AuthResult<StoredKey> {
        // The newest key signs, so the new one must be strictly the newest even when this
        // machine's clock is behind the one that made the current key (or they agree to the ms).
        let newest = self
            .db
            .load_signing_keys()
            .await?
            .iter()
            .map(|k| k.created_at_ms)
            .max();
        let created_at = newest.map_or(self.clock.now_ms(), |n| self.clock.now_ms().max(n + 1));
        let key = StoredKey::generate(created_at)?;
        self.db.add_signing_key(&key).await?;
        self.reload_signing_keys().await?;
        Ok(key)
    }

    /// How long after a newer key appears an older one keeps verifying.
    pub fn signing_key_overlap(&self) -> Duration {
        self.settings.access_token_ttl
            + self.settings.lenient_refresh_window
            + Duration::from_secs(LEEWAY_SECS as u64)
            + SWITCH_MARGIN
    }

    /// Retires keys whose tokens have all expired, then loads the keys still verifying (the
    /// newest signs). Cheap when nothing changed: one small read.
    pub async fn reload_signing_keys(&self) -> AuthResult<()> {
        let now = self.clock.now_ms();
        let mut stored = self.db.load_signing_keys().await?;
        stored.sort_by_key(|k| std::cmp::Reverse(k.created_at_ms));
        let overlap = self.signing_key_overlap().as_millis() as i64;
        // Each key is superseded when the next newer one was created; the newest never retires.
        let mut keep = stored.len().min(1);
        for pair in stored.windows(2) {
            let (newer, older) = (&pair[0], &pair[1]);
            if newer.created_at_ms + overlap <= now {
                self.db.retire_signing_key(&older.kid, now).await?;
                tracing::info!(kid = %older.kid, "signing key retired");
            } else {
                keep += 1;
            }
        }
        stored.truncate(keep);
        let current = self.keys();
        let mut wanted: Vec<String> = stored.iter().map(|k| k.kid.clone()).collect();
        let mut have = current.kids();
        // The signing key (first) must match too, not only the set.
        let same_signer = wanted.first() == have.first();
        wanted.sort();
        have.sort();
        if same_signer && wanted == have {
            return Ok(());
        }
        let settings = &self.settings;
        let ring = Keyring::new(&stored, &settings.issuer, &settings.audience)?;
        self.keys.store(Arc::new(ring));
        Ok(())
    }

    /// Full verification of an access token; a kid this instance does not know yet (another
    /// instance rotated) reloads the keys once and tries again.
    pub(in crate::auth) async fn verify_access(
        &self,
        token: &str,
    ) -> AuthResult<Arc<AccessClaims>> {
        match self.keys().verify(token, &self.clock) {
            Err(TokenProblem::UnknownKey) if self.keys_reloaded.due() => {
                self.reload_signing_keys().await?;
                self.keys().verify(token, &self.clock)
            }
            other => other,
        }
        .map_err(AuthError::InvalidToken)
    }

    /// Everything but expiry (the lenient refresh), with the same reload on an unknown kid.
    pub(in crate::auth) async fn verify_signature_any(
        &self,
        token: &str,
    ) -> AuthResult<AccessClaims> {
        match self.keys().verify_signature(token) {
            Err(TokenProblem::UnknownKey) if self.keys_reloaded.due() => {
                self.reload_signing_keys().await?;
                self.keys().verify_signature(token)
            }
            other => other,
        }
        .map_err(AuthError::InvalidToken)
    }
}
