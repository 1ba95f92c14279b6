//! Secrets at rest: private signing keys and server secrets are sealed with the operator's
//! master key when one is configured (see `crate::master_key`), and stay plaintext otherwise.

use sqlx::Row;

use super::Db;
use crate::master_key::{OpenError, reveal};

/// The associated data a signing key's private half is sealed with: its row.
pub(super) fn signing_key_context(kid: &str) -> String {
    format!("signing_key:{kid}")
}

pub(super) fn server_secret_context(name: &str) -> String {
    format!("server_secret:{name}")
}

impl Db {
    /// Run once at start-up, before any key is loaded. Every sealed value must open with the
    /// configured key: a wrong or missing key stops the start here, before anything is written,
    /// so the server never mints a new key over the old ones nor mixes two master keys. Then,
    /// with a master key, plaintext values (from before the key was set) are sealed in place.
    pub async fn protect_secrets_at_rest(&self) -> anyhow::Result<()> {
        let keys: Vec<(String, String)> = sqlx::query("SELECT kid, private_key FROM signing_keys")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("kid")?, r.try_get("private_key")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let secrets: Vec<(String, String)> = sqlx::query("SELECT name, secret FROM server_secrets")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get("secret")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        for (kid, stored) in &keys {
            self.reveal(stored, &signing_key_context(kid), "signing keys")?;
        }
        for (name, stored) in &secrets {
            self.reveal(stored, &server_secret_context(name), "server secrets")?;
        }
        let Some(master) = &self.master_key else {
            return Ok(());
        };
        let mut sealed = 0;
        // Compare-and-set on the old value: instances starting together seal each row once.
        for (kid, stored) in keys
            .iter()
            .filter(|(_, v)| !crate::master_key::is_sealed(v))
        {
            sealed += sqlx::query(
                "UPDATE signing_keys SET private_key = $1 WHERE kid = $2 AND private_key = $3",
            )
            .bind(master.seal(stored, &signing_key_context(kid)))
            .bind(kid)
            .bind(stored)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        for (name, stored) in secrets
            .iter()
            .filter(|(_, v)| !crate::master_key::is_sealed(v))
        {
            sealed += sqlx::query(
                "UPDATE server_secrets SET secret = $1 WHERE name = $2 AND secret = $3",
            )
            .bind(master.seal(stored, &server_secret_context(name)))
            .bind(name)
            .bind(stored)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        if sealed > 0 {
            tracing::info!(values = sealed, "stored secrets sealed with the master key");
        }
        Ok(())
    }

    /// The value to store for `plain`: sealed when a master key is configured.
    pub(super) fn conceal(&self, plain: &str, context: &str) -> String {
        match &self.master_key {
            Some(key) => key.seal(plain, context),
            None => plain.to_owned(),
        }
    }

    /// A stored value as plaintext; `what` names the kind of value in the start-up error.
    pub(super) fn reveal(&self, stored: &str, context: &str, what: &str) -> anyhow::Result<String> {
        reveal(self.master_key.as_deref(), stored, context).map_err(|e| match e {
            OpenError::NoKey => anyhow::anyhow!(
                "the stored {what} are encrypted, but no master key is configured \
                 (set LATCHKEY_MASTER_KEY or LATCHKEY_MASTER_KEY_FILE)"
            ),
            OpenError::WrongKey => anyhow::anyhow!(
                "the master key does not decrypt the stored {what}; start with the key they \
                 were encrypted with"
            ),
        })
    }
}
