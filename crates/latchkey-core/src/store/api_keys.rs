//! API keys.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Db, audit, outbox};
use crate::audit::AuditEntry;
use crate::error::AuthResult;

#[derive(Debug, Clone)]
pub struct ApiKeyRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub secret_hash: String,
    pub generation: i64,
    pub previous_hash: Option<String>,
    pub previous_until: Option<i64>,
    /// `None`: follows the owner's scopes.
    pub scopes: Option<Vec<String>>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
}

macro_rules! key_columns {
    () => {
        "id, user_id, name, secret_hash, generation, previous_hash, previous_until, scopes, \
         created_at, last_used_at, expires_at"
    };
}

fn key_from_row(row: &AnyRow) -> Result<ApiKeyRow, sqlx::Error> {
    let scopes: Option<String> = row.try_get("scopes")?;
    Ok(ApiKeyRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        secret_hash: row.try_get("secret_hash")?,
        generation: row.try_get("generation")?,
        previous_hash: row.try_get("previous_hash")?,
        previous_until: row.try_get("previous_until")?,
        scopes: scopes.map(|s| s.split_ascii_whitespace().map(str::to_owned).collect()),
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn join(scopes: &Option<Vec<String>>) -> Option<String> {
    scopes.as_ref().map(|s| s.join(" "))
}

/// Key changes bump the owner's version, in the same transaction (see migration 0003).
async fn bump_owner(conn: &mut AnyConnection, key_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET version = version + 1 \
         WHERE id = (SELECT user_id FROM api_keys WHERE id = $1)",
    )
    .bind(key_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Db {
    pub async fn insert_api_key(&self, k: &ApiKeyRow, entries: &[AuditEntry]) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, secret_hash, generation, scopes, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&k.id)
        .bind(&k.user_id)
        .bind(&k.name)
        .bind(&k.secret_hash)
        .bind(k.generation)
        .bind(join(&k.scopes))
        .bind(k.created_at)
        .bind(k.expires_at)
        .execute(&mut *tx)
        .await?;
        bump_owner(&mut tx, &k.id).await?;
        audit::insert_all(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn api_key(&self, id: &str) -> AuthResult<Option<ApiKeyRow>> {
        let sql = concat!("SELECT ", key_columns!(), " FROM api_keys WHERE id = $1");
        let row = sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(key_from_row).transpose()?)
    }

    pub async fn api_keys_of(&self, user_id: &str) -> AuthResult<Vec<ApiKeyRow>> {
        let sql = concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys WHERE user_id = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(sql).bind(user_id).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(key_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn update_api_key(
        &self,
        id: &str,
        name: &str,
        scopes: &Option<Vec<String>>,
        now_ms: i64,
        batch: &str,
        entries: &[AuditEntry],
    ) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query("UPDATE api_keys SET name = $1, scopes = $2 WHERE id = $3")
            .bind(name)
            .bind(join(scopes))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        bump_owner(&mut tx, id).await?;
        outbox::enqueue_key(&mut tx, batch, id, now_ms).await?;
        if r.rows_affected() == 1 {
            audit::insert_all(&mut tx, entries).await?;
        }
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    /// Replaces the secret. Compare-and-set on the generation, so two rotations at once cannot
    /// both win.
    #[expect(
        clippy::too_many_arguments,
        reason = "one statement's values, plus its outbox and audit"
    )]
    pub async fn rotate_api_key(
        &self,
        id: &str,
        from_generation: i64,
        new_hash: &str,
        previous_until: Option<i64>,
        now_ms: i64,
        batch: &str,
        entries: &[AuditEntry],
    ) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "UPDATE api_keys SET previous_hash = CASE WHEN CAST($1 AS BIGINT) IS NULL THEN NULL ELSE secret_hash END, \
             previous_until = $1, secret_hash = $2, generation = generation + 1, rotated_at = $3 \
             WHERE id = $4 AND generation = $5",
        )
        .bind(previous_until)
        .bind(new_hash)
        .bind(now_ms)
        .bind(id)
        .bind(from_generation)
        .execute(&mut *tx)
        .await?;
        bump_owner(&mut tx, id).await?;
        outbox::enqueue_key(&mut tx, batch, id, now_ms).await?;
        if r.rows_affected() == 1 {
            audit::insert_all(&mut tx, entries).await?;
        }
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn delete_api_key(
        &self,
        id: &str,
        now_ms: i64,
        batch: &str,
        entries: &[AuditEntry],
    ) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        bump_owner(&mut tx, id).await?;
        outbox::enqueue_key(&mut tx, batch, id, now_ms).await?;
        let r = sqlx::query("DELETE FROM api_keys WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 1 {
            audit::insert_all(&mut tx, entries).await?;
        }
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn touch_api_key(&self, id: &str, now_ms: i64) -> AuthResult<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(now_ms)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
