//! Sessions and their refresh-token chains.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Backend, Db};
use crate::error::AuthResult;

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub revoked_at: Option<i64>,
}

/// A refresh token as stored: its hash, never the token.
#[derive(Debug, Clone)]
pub struct RefreshRow {
    pub id: String,
    pub session_id: String,
    pub generation: i64,
    pub access_claims: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub child_id: Option<String>,
}

/// The next token of a chain, before the store knows its parent's generation.
pub struct NewChild {
    pub id: String,
    pub token_hash: String,
    pub access_claims: String,
    pub expires_at: i64,
}

pub struct NewRefresh {
    pub id: String,
    pub token_hash: String,
    pub generation: i64,
    pub parent_id: Option<String>,
    pub access_claims: String,
    pub expires_at: i64,
}

macro_rules! session_columns {
    () => {
        "id, user_id, created_at, last_used_at, expires_at, user_agent, ip, revoked_at"
    };
}
macro_rules! refresh_columns {
    () => {
        "id, session_id, generation, access_claims, expires_at, used_at, child_id"
    };
}

fn session_from_row(row: &AnyRow) -> Result<SessionRow, sqlx::Error> {
    Ok(SessionRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
        user_agent: row.try_get("user_agent")?,
        ip: row.try_get("ip")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn refresh_from_row(row: &AnyRow) -> Result<RefreshRow, sqlx::Error> {
    Ok(RefreshRow {
        id: row.try_get("id")?,
        session_id: row.try_get("session_id")?,
        generation: row.try_get("generation")?,
        access_claims: row.try_get("access_claims")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
        child_id: row.try_get("child_id")?,
    })
}

/// A session row is rewritten by a refresh at most this often: its `last_used_at` and
/// `expires_at` serve listings and clean-up, where a minute does not matter, while a write per
/// refresh was a fifth of the database's work. A refresh token's own expiry is exact.
const SESSION_TOUCH_EVERY_MS: i64 = 60_000;

/// A refresh token with what deciding on it needs: its session's state and its owner.
#[derive(Debug, Clone)]
pub struct RefreshContext {
    pub token: RefreshRow,
    pub session_revoked: bool,
    pub user: crate::domain::User,
}

/// The update that ends every live session of a user (`$1` when, `$2` why, `$3` the user).
macro_rules! revoke_of_user {
    () => {
        "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 \
         WHERE user_id = $3 AND revoked_at IS NULL"
    };
}

impl Db {
    /// The token, its session and its user in one round trip (refresh is a hot path).
    pub async fn refresh_context(&self, token_hash: &str) -> AuthResult<Option<RefreshContext>> {
        let row = sqlx::query(
            "SELECT rt.id AS rt_id, rt.session_id, rt.generation, rt.access_claims, \
             rt.expires_at AS rt_expires_at, rt.used_at, rt.child_id, s.revoked_at AS s_revoked_at, \
             u.id, u.org_id, u.email, u.name, u.phone, u.role, \
             u.scopes, u.disabled_at, u.email_verified_at, u.version \
             FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id \
             JOIN users u ON u.id = s.user_id WHERE rt.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(RefreshContext {
            token: RefreshRow {
                id: row.try_get("rt_id")?,
                session_id: row.try_get("session_id")?,
                generation: row.try_get("generation")?,
                access_claims: row.try_get("access_claims")?,
                expires_at: row.try_get("rt_expires_at")?,
                used_at: row.try_get("used_at")?,
                child_id: row.try_get("child_id")?,
            },
            session_revoked: row.try_get::<Option<i64>, _>("s_revoked_at")?.is_some(),
            user: super::accounts::user_from_row(&row)?,
        }))
    }

    /// Stores a new session with the first token of its chain.
    pub async fn create_session(&self, s: &SessionRow, first: &NewRefresh) -> AuthResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.id)
        .bind(&s.user_id)
        .bind(s.created_at)
        .bind(s.last_used_at)
        .bind(s.expires_at)
        .bind(&s.user_agent)
        .bind(&s.ip)
        .execute(&mut *tx)
        .await?;
        insert_refresh(&mut tx, &s.id, first, s.created_at).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn session(&self, id: &str) -> AuthResult<Option<SessionRow>> {
        let sql = concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE id = $1"
        );
        let row = sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(session_from_row).transpose()?)
    }

    /// The user's sessions that are neither revoked nor expired, newest first.
    pub async fn live_sessions_of(
        &self,
        user_id: &str,
        now_ms: i64,
    ) -> AuthResult<Vec<SessionRow>> {
        let sql = concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC"
        );
        let rows = sqlx::query(sql)
            .bind(user_id)
            .bind(now_ms)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(session_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Revokes one session; false when it was already revoked (or does not exist).
    /// `entries` are written with the revocation, only when it revoked the session.
    pub async fn revoke_session(
        &self,
        id: &str,
        reason: &str,
        now_ms: i64,
        entries: &[crate::audit::AuditEntry],
    ) -> AuthResult<bool> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 \
             WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(now_ms)
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 1 {
            super::audit::insert_all(&mut tx, entries).await?;
        }
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    /// Revokes every live session of a user; returns their ids.
    pub async fn revoke_sessions_of(
        &self,
        user_id: &str,
        reason: &str,
        now_ms: i64,
        revoked: Option<crate::audit::AuditEntry>,
    ) -> AuthResult<Vec<String>> {
        self.revoke_sessions_except(user_id, None, reason, now_ms, revoked)
            .await
    }

    /// `revoke_sessions_of`, sparing the session `keep` when given (the caller's own).
    pub async fn revoke_sessions_except(
        &self,
        user_id: &str,
        keep: Option<&str>,
        reason: &str,
        now_ms: i64,
        revoked: Option<crate::audit::AuditEntry>,
    ) -> AuthResult<Vec<String>> {
        let mut tx = self.begin_write().await?;
        let sql = match keep {
            Some(_) => concat!(revoke_of_user!(), " AND id <> $4 RETURNING id"),
            None => concat!(revoke_of_user!(), " RETURNING id"),
        };
        let mut query = sqlx::query(sql).bind(now_ms).bind(reason).bind(user_id);
        if let Some(keep) = keep {
            query = query.bind(keep);
        }
        let rows = query.fetch_all(&mut *tx).await?;
        let ids: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String, _>("id"))
            .collect::<Result<_, _>>()?;
        if let Some(entry) = revoked {
            super::audit::insert(&mut tx, &entry.detail("count", ids.len())).await?;
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Sessions revoked since `since_ms`: loaded into the state store at start and whenever it
    /// lost its list (Redis restarted or evicted it), so a restart
    /// does not re-admit their still-unexpired access tokens.
    pub async fn sessions_revoked_since(&self, since_ms: i64) -> AuthResult<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT id, revoked_at FROM sessions WHERE revoked_at > $1")
            .bind(since_ms)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("revoked_at")?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    pub async fn refresh_by_hash(&self, token_hash: &str) -> AuthResult<Option<RefreshRow>> {
        let sql = concat!(
            "SELECT ",
            refresh_columns!(),
            " FROM refresh_tokens WHERE token_hash = $1"
        );
        let row = sqlx::query(sql)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(refresh_from_row).transpose()?)
    }

    /// Replaces the access claims stored with a refresh token (a narrowed grant), so its
    /// rotation and a replay inside the grace keep the narrowing.
    pub async fn set_refresh_claims(&self, token_hash: &str, claims: &str) -> AuthResult<()> {
        sqlx::query("UPDATE refresh_tokens SET access_claims = $1 WHERE token_hash = $2")
            .bind(claims)
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn refresh_by_id(&self, id: &str) -> AuthResult<Option<RefreshRow>> {
        let sql = concat!(
            "SELECT ",
            refresh_columns!(),
            " FROM refresh_tokens WHERE id = $1"
        );
        let row = sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(refresh_from_row).transpose()?)
    }

    /// Check-and-rotate as one compare-and-set: marks the token with `token_hash` used only if
    /// it is unspent, unexpired and its session `session_id` is live, and stores its child
    /// (generation: the parent's + 1) in the same statement (PostgreSQL, data-modifying CTEs:
    /// one round trip, one commit) or transaction (SQLite). A concurrent loser waits for the
    /// winner's commit (row lock / write lock) before it sees false, so the child it then
    /// reads is already there. With `uncapped_only`, a parent whose stored claims carry a
    /// `cap` (a narrowed grant) is not rotated either: the caller built the child without
    /// reading the parent, so it must take the path that reads the cap.
    pub async fn rotate_by_hash(
        &self,
        token_hash: &str,
        session_id: &str,
        child: &NewChild,
        now_ms: i64,
        uncapped_only: bool,
    ) -> AuthResult<bool> {
        macro_rules! claim {
            ($extra:expr) => {
                concat!(
                    "UPDATE refresh_tokens SET used_at = $1, child_id = $2 \
                     WHERE token_hash = $3 AND used_at IS NULL AND expires_at > $1 \
                     AND session_id = $4 ",
                    $extra,
                    " AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = $4 AND s.revoked_at IS NULL) \
                     RETURNING id, generation"
                )
            };
        }
        // The claims are compact JSON written by this server: inside a string value every `"`
        // is escaped, so `"cap":` can only be the key. A false match only costs the full path.
        macro_rules! uncapped {
            () => {
                "AND access_claims NOT LIKE '%\"cap\":%'"
            };
        }
        macro_rules! pg_rotate {
            ($extra:expr) => {
                concat!(
                    "WITH claimed AS (",
                    claim!($extra),
                    "), \
                     child AS ( \
                        INSERT INTO refresh_tokens (id, session_id, token_hash, generation, parent_id, \
                            access_claims, created_at, expires_at) \
                        SELECT $2, $4, $5, generation + 1, id, $6, $1, $7 FROM claimed RETURNING id), \
                     touched AS ( \
                        UPDATE sessions SET last_used_at = $1, expires_at = $7 \
                        WHERE id = $4 AND last_used_at < $8 AND EXISTS (SELECT 1 FROM claimed) \
                        RETURNING id) \
                     SELECT (SELECT COUNT(*) FROM child) AS rotated, (SELECT COUNT(*) FROM touched) AS t"
                )
            };
        }
        if self.backend == Backend::Postgres {
            let sql = if uncapped_only {
                pg_rotate!(uncapped!())
            } else {
                pg_rotate!("")
            };
            let row = sqlx::query(sql)
                .bind(now_ms)
                .bind(&child.id)
                .bind(token_hash)
                .bind(session_id)
                .bind(&child.token_hash)
                .bind(&child.access_claims)
                .bind(child.expires_at)
                .bind(now_ms - SESSION_TOUCH_EVERY_MS)
                .fetch_one(&self.pool)
                .await?;
            return Ok(row.try_get::<i64, _>("rotated")? == 1);
        }
        let claim_sql = if uncapped_only {
            claim!(uncapped!())
        } else {
            claim!("")
        };
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query(claim_sql)
            .bind(now_ms)
            .bind(&child.id)
            .bind(token_hash)
            .bind(session_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(parent) = claimed else {
            tx.rollback().await?;
            return Ok(false);
        };
        let parent_id: String = parent.try_get("id")?;
        let generation: i64 = parent.try_get("generation")?;
        let child = NewRefresh {
            id: child.id.clone(),
            token_hash: child.token_hash.clone(),
            generation: generation + 1,
            parent_id: Some(parent_id),
            access_claims: child.access_claims.clone(),
            expires_at: child.expires_at,
        };
        insert_refresh(&mut tx, session_id, &child, now_ms).await?;
        touch_session_in(&mut tx, session_id, child.expires_at, now_ms).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records that an expired access token was exchanged; false if it already was.
    pub async fn claim_lenient_refresh(
        &self,
        jti: &str,
        session_id: &str,
        now_ms: i64,
    ) -> AuthResult<bool> {
        let r = sqlx::query(
            "INSERT INTO lenient_refreshes (jti, session_id, used_at) VALUES ($1, $2, $3) \
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(session_id)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn touch_session(&self, id: &str, now_ms: i64) -> AuthResult<()> {
        sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE id = $2")
            .bind(now_ms)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes sessions that expired or were revoked before `before_ms` (their chains and
    /// lenient records go with them).
    pub async fn purge_sessions(&self, before_ms: i64) -> AuthResult<u64> {
        let r = sqlx::query(
            "DELETE FROM sessions WHERE expires_at < $1 OR (revoked_at IS NOT NULL AND revoked_at < $1)",
        )
        .bind(before_ms)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }
}

/// Moves the session's expiry to its newest token's, at most once a minute.
async fn touch_session_in(
    conn: &mut AnyConnection,
    session_id: &str,
    expires_at: i64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sessions SET last_used_at = $1, expires_at = $2 \
         WHERE id = $3 AND last_used_at < $4",
    )
    .bind(now_ms)
    .bind(expires_at)
    .bind(session_id)
    .bind(now_ms - SESSION_TOUCH_EVERY_MS)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_refresh(
    conn: &mut AnyConnection,
    session_id: &str,
    r: &NewRefresh,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, session_id, token_hash, generation, parent_id, \
         access_claims, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&r.id)
    .bind(session_id)
    .bind(&r.token_hash)
    .bind(r.generation)
    .bind(&r.parent_id)
    .bind(&r.access_claims)
    .bind(now_ms)
    .bind(r.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
