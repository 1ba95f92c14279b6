//! Wiring: configuration in, a running server out. Built once; handlers share it through
//! `AppState`. Tests use `start` with a manual clock.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use latchkey_core::password::{HashCost, PasswordHasher};
use latchkey_core::state::StateStore;
use latchkey_core::store::Db;
use latchkey_core::{Auth, Clock};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::policy::PolicyStore;

pub struct App {
    pub auth: Auth,
    pub config: Config,
    pub policy: Arc<PolicyStore>,
}

pub type AppState = Arc<App>;

/// Opens storage (creating the data directory for SQLite) and loads keys.
pub async fn build(config: &Config, clock: Clock) -> anyhow::Result<AppState> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            anyhow::anyhow!("cannot create data dir {}: {e}", config.data_dir.display())
        })?;
    }
    let db = Db::connect(&config.database_url(), config.database_max_connections).await?;
    let threads = config.hash_threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
    });
    let hasher = PasswordHasher::new(
        HashCost {
            memory_kib: config.argon2_memory_kib,
            iterations: config.argon2_iterations,
            parallelism: config.argon2_parallelism,
        },
        threads,
    )?;
    let policy = PolicyStore::load(config.policy_file.as_deref())?;
    let state = match &config.redis_url {
        Some(url) => StateStore::redis(url, &config.redis_prefix).await?,
        None => StateStore::in_memory(clock.clone()),
    };
    let auth = Auth::new(db, state, hasher, clock, config.settings()).await?;
    Ok(Arc::new(App {
        auth,
        config: config.clone(),
        policy,
    }))
}

/// A server running in this process.
pub struct Running {
    pub addr: SocketAddr,
    pub app: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, and closes storage.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await??;
        self.app.auth.db().close().await;
        Ok(())
    }
}

/// Binds `config.bind` (port 0 picks a free one) and serves until `stop`.
pub async fn start(config: Config, clock: Clock) -> anyhow::Result<Running> {
    let app = build(&config, clock).await?;
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot bind {}: {e}", config.bind))?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let router = crate::http::router(app.clone());
    let purge = spawn_purge(app.clone());
    let publisher = spawn_publisher(app.clone());
    let watch = app.policy.watch();
    let task = tokio::spawn(async move {
        let result = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        })
        .await;
        purge.abort();
        publisher.abort();
        if let Some(w) = watch {
            w.abort();
        }
        result
    });
    Ok(Running {
        addr,
        app,
        shutdown: Some(tx),
        task,
    })
}

/// Hourly removal of sessions that ended long ago.
fn spawn_purge(app: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match app.auth.purge().await {
                Ok(n) if n > 0 => tracing::info!(sessions = n, "purged ended sessions"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purge failed"),
            }
        }
    })
}

/// Publishes changes left behind when the token store was unreachable (or an instance stopped
/// between commit and publish). Every instance runs it; publishing twice is harmless.
fn spawn_publisher(app: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(app.config.publish_retry_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tick.tick().await;
            match app.auth.publish_pending().await {
                Ok(n) => {
                    if n > 0 || failing {
                        tracing::info!(published = n, "pending changes published");
                    }
                    failing = false;
                }
                // Once per outage, not every tick.
                Err(e) if !failing => {
                    tracing::warn!(error = %e, "pending changes not published yet; retrying");
                    failing = true;
                }
                Err(_) => {}
            }
        }
    })
}
