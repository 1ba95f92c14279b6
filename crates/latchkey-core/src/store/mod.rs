//! Persistent storage over PostgreSQL or SQLite.
//!
//! Both backends run the same SQL through sqlx's `Any` driver: the schema keeps to types both
//! speak (TEXT ids, BIGINT millisecond times), so one implementation and one migration folder
//! serve both, and one behaviour suite tests both.

mod accounts;
mod api_keys;
mod at_rest;
pub(crate) mod audit;
mod identities;
mod login_codes;
mod mfa;
mod one_time;
mod operators;
mod outbox;
mod passwords;
mod phone;
mod profile;
mod reauth;
mod sessions;
mod signing_keys;
mod takeover;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Kept here too for code written before the domain types moved to `crate::domain`.
pub use crate::domain::{Org, User};
pub use accounts::{NewUser, UserRow};
pub use api_keys::ApiKeyRow;
pub use audit::{AuditFilter, new_id as new_audit_id};
pub use identities::{Handoff, NewIdentity};
pub use login_codes::LoginCodeRow;
pub use mfa::TotpRow;
pub use outbox::{Pending, PendingKind};
pub use profile::OrgAfterDeletion;
pub use reauth::{IdentityRow, Removed};
pub use sessions::{NewChild, NewRefresh, RefreshContext, RefreshRow, SessionRow};
pub use signing_keys::SigningKeyRow;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyConnection, AnyPool, Executor};
pub use takeover::TakenOver;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time; its busy handler waits by sleeping (up to 100 ms a
    /// turn), which under parallel refreshes gave second-long tails. Writers queue here
    /// instead, in order and without sleeping.
    writers: Option<Arc<tokio::sync::Mutex<()>>>,
    /// Seals private signing keys and server secrets at rest, when the operator set one.
    master_key: Option<Arc<crate::master_key::MasterKey>>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long the first connection to PostgreSQL may take before start-up gives up: an
/// unreachable server should be reported at once, not after the pool's acquire timeout.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// A schema migration, as `latchkey migrate` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub version: i64,
    pub description: String,
}

/// What one run of the migrations did.
#[derive(Debug, Clone)]
pub struct Migrated {
    /// Applied by this run, oldest first; empty when the schema was already up to date.
    pub applied: Vec<Migration>,
    /// All migrations this version of Latchkey knows.
    pub total: usize,
}

impl Db {
    /// Connects to `url` (`postgres://…` or `sqlite://…`) and brings the schema up to date.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Db> {
        Ok(Self::connect_and_migrate(url, max_connections).await?.0)
    }

    /// `connect`, also telling which migrations it applied.
    pub async fn connect_and_migrate(
        url: &str,
        max_connections: u32,
    ) -> anyhow::Result<(Db, Migrated)> {
        install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("unsupported database URL scheme (use postgres:// or sqlite://)");
        };
        if backend == Backend::Postgres {
            probe_postgres(url).await?;
        }
        let mut options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers run beside the writer; writers queue on busy_timeout
                    // instead of failing at once.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                    )
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = options
            .connect(url)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the database ({}): {e}", redact_url(url)))?;
        let writers = (backend == Backend::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(())));
        let db = Db {
            pool,
            backend,
            writers,
            master_key: None,
        };
        let migrated = db.migrate().await?;
        for m in &migrated.applied {
            tracing::info!(version = m.version, description = %m.description, "applied migration");
        }
        Ok((db, migrated))
    }

    /// Brings the schema up to date, reporting what this run applied.
    pub async fn migrate(&self) -> anyhow::Result<Migrated> {
        let before = self.applied_versions().await;
        MIGRATOR.run(&self.pool).await?;
        let applied = MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration() && !before.contains(&m.version))
            .map(|m| Migration {
                version: m.version,
                description: m.description.to_string(),
            })
            .collect();
        Ok(Migrated {
            applied,
            total: MIGRATOR
                .iter()
                .filter(|m| m.migration_type.is_up_migration())
                .count(),
        })
    }

    /// Versions already recorded; none when the bookkeeping table does not exist yet (a new
    /// database). A concurrent instance migrating at the same moment may make the report
    /// name a migration it applied: harmless, the schema is the same.
    async fn applied_versions(&self) -> Vec<i64> {
        sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&self.pool)
            .await
            .unwrap_or_default()
    }

    /// A transaction that will write; every write transaction starts here. On SQLite the
    /// writer first waits for its turn in this process, then takes the database's write lock
    /// up front (`BEGIN IMMEDIATE`), so writers queue in order instead of one failing on a
    /// stale snapshot or sleeping in the busy handler. PostgreSQL locks rows instead.
    pub(crate) async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let turn = match &self.writers {
            Some(m) => Some(m.clone().lock_owned().await),
            None => None,
        };
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx { tx, _turn: turn })
    }

    /// Secrets written from now on are sealed with `key`; see `protect_secrets_at_rest`.
    pub fn with_master_key(mut self, key: Option<crate::master_key::MasterKey>) -> Db {
        self.master_key = key.map(Arc::new);
        self
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// One connection with a short timeout before the pool is built, so an unreachable server is
/// named with its address and reason instead of surfacing as a pool timeout.
async fn probe_postgres(url: &str) -> anyhow::Result<()> {
    use sqlx::{ConnectOptions, Connection};
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .map_err(|e| anyhow::anyhow!("invalid database URL ({}): {e}", redact_url(url)))?;
    let at = format!("{}:{}", options.get_host(), options.get_port());
    match tokio::time::timeout(PROBE_TIMEOUT, options.connect()).await {
        Err(_) => anyhow::bail!(
            "cannot connect to PostgreSQL at {at}: no answer within {}s",
            PROBE_TIMEOUT.as_secs()
        ),
        Ok(Err(e)) => anyhow::bail!(
            "cannot connect to PostgreSQL at {at}: {}",
            connect_failure(&e)
        ),
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
    }
}

fn connect_failure(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is PostgreSQL running and listening there?)".to_owned()
        }
        sqlx::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// An open write transaction, used as a connection (`&mut *tx`). Dropped without `commit`, it
/// rolls back. Field order matters: the transaction ends before the writer turn is released.
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        let WriteTx { tx, _turn } = self;
        tx.commit().await
    }

    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        let WriteTx { tx, _turn } = self;
        tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}://{user}:***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_owned(),
    }
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Parses a stored enum-like column, turning corruption into an internal error.
pub fn parse_column<T: FromStr>(value: &str, column: &str) -> anyhow::Result<T> {
    value
        .parse()
        .map_err(|_| anyhow::anyhow!("unexpected value in column {column}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_url_hides_the_password() {
        assert_eq!(
            super::redact_url("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
