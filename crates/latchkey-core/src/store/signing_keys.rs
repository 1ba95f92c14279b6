//! Signing keys and server secrets, created on first start and kept in the database so a
//! restart (or a second instance) signs and verifies with the same keys.

use sqlx::Row;

use super::Db;
use super::at_rest::{server_secret_context, signing_key_context};
use crate::jwt::StoredKey;

/// A signing key's public facts, as stored.
#[derive(Debug, Clone)]
pub struct SigningKeyRow {
    pub kid: String,
    pub algorithm: String,
    pub created_at_ms: i64,
    pub retired_at_ms: Option<i64>,
}

impl Db {
    /// The active signing keys; generates and stores one when there is none. Two instances
    /// starting together may both generate: both keys are kept and both verify.
    pub async fn signing_keys(&self, now_ms: i64) -> anyhow::Result<Vec<StoredKey>> {
        let keys = self.load_signing_keys().await?;
        if !keys.is_empty() {
            return Ok(keys);
        }
        // The first key comes from a seed stored with insert-if-absent, so instances starting
        // together on an empty database derive the same key (same kid: one row), instead of
        // each signing with a key the others have not loaded.
        let seed = self.server_secret("signing_key_seed", now_ms).await?;
        let key = StoredKey::from_seed(&seed, now_ms)?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, private_key, public_key, created_at) \
             VALUES ($1, 'EdDSA', $2, $3, $4) ON CONFLICT (kid) DO NOTHING",
        )
        .bind(&key.kid)
        .bind(self.conceal(&key.pkcs8_b64, &signing_key_context(&key.kid)))
        .bind(&key.public_b64)
        .bind(key.created_at_ms)
        .execute(&self.pool)
        .await?;
        self.load_signing_keys().await
    }

    /// The keys not retired, in no order.
    pub async fn load_signing_keys(&self) -> anyhow::Result<Vec<StoredKey>> {
        let rows = sqlx::query(
            "SELECT kid, private_key, public_key, created_at FROM signing_keys \
             WHERE retired_at IS NULL AND algorithm = 'EdDSA'",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kid: String = r.try_get("kid")?;
                let stored: String = r.try_get("private_key")?;
                Ok(StoredKey {
                    pkcs8_b64: self.reveal(&stored, &signing_key_context(&kid), "signing keys")?,
                    kid,
                    public_b64: r.try_get("public_key")?,
                    created_at_ms: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Every signing key ever stored, retired ones too, without private halves (what an
    /// operator lists).
    pub async fn signing_key_history(&self) -> anyhow::Result<Vec<SigningKeyRow>> {
        let rows = sqlx::query("SELECT kid, algorithm, created_at, retired_at FROM signing_keys")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRow {
                    kid: r.try_get("kid")?,
                    algorithm: r.try_get("algorithm")?,
                    created_at_ms: r.try_get("created_at")?,
                    retired_at_ms: r.try_get("retired_at")?,
                })
            })
            .collect()
    }

    /// Stores a new signing key (sealed with the master key when one is set).
    pub async fn add_signing_key(&self, key: &StoredKey) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, private_key, public_key, created_at) \
             VALUES ($1, 'EdDSA', $2, $3, $4)",
        )
        .bind(&key.kid)
        .bind(self.conceal(&key.pkcs8_b64, &signing_key_context(&key.kid)))
        .bind(&key.public_b64)
        .bind(key.created_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks a key retired: it no longer verifies anywhere once instances reload.
    pub async fn retire_signing_key(&self, kid: &str, now_ms: i64) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE signing_keys SET retired_at = $1 WHERE kid = $2 AND retired_at IS NULL",
        )
        .bind(now_ms)
        .bind(kid)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A named 32-byte server secret, created on first use. Concurrent first uses agree: the
    /// insert does nothing when another instance got there first, and both read the winner's.
    pub async fn server_secret(&self, name: &str, now_ms: i64) -> anyhow::Result<Vec<u8>> {
        use base64::Engine;
        use base64::engine::general_purpose::STANDARD;
        let fresh = STANDARD.encode(crate::secret::random_bytes::<32>());
        sqlx::query(
            "INSERT INTO server_secrets (name, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(self.conceal(&fresh, &server_secret_context(name)))
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        let stored: String = sqlx::query("SELECT secret FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?
            .try_get("secret")?;
        let stored = self.reveal(&stored, &server_secret_context(name), "server secrets")?;
        Ok(STANDARD.decode(stored)?)
    }
}
