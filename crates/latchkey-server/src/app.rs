//! Wiring: configuration in, a running server out. Built once; handlers share it through
//! `AppState`. Tests use `start` with a manual clock.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use latchkey_core::mail::Mailer;
use latchkey_core::password::{HashCost, PasswordHasher};
use latchkey_core::state::StateStore;
use latchkey_core::store::{Db, Migrated};
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
    /// `config.trusted_proxies`, parsed once.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Keys the account references in logs (see `telemetry::account_ref`).
    pub log_key: Vec<u8>,
    /// Sign-in through external OpenID providers.
    pub oidc: latchkey_core::oidc::Oidc,
    /// Sends phone verification codes.
    pub sms: latchkey_core::sms::SmsSender,
    /// Set at shutdown: open WebSockets close with 1001 (the server loop no longer owns them).
    pub closing: tokio::sync::watch::Sender<bool>,
}

pub type AppState = Arc<App>;

/// Opens the configured database (creating the data directory for SQLite, readable by this
/// user only) and brings its schema up to date: the one resolution every command shares.
/// Sealed keys are opened with the master key.
pub async fn open_database(config: &Config) -> anyhow::Result<(Db, Migrated)> {
    let master_key = config.master_key()?;
    if config.database_url.is_none() {
        crate::data_dir::prepare(&config.data_dir)?;
    }
    if master_key.is_none() && !config.bind.ip().is_loopback() {
        tracing::warn!(
            "no master key: private signing keys and server secrets are stored in plaintext \
             in the database; set LATCHKEY_MASTER_KEY or LATCHKEY_MASTER_KEY_FILE"
        );
    }
    let (db, migrated) =
        Db::connect_and_migrate(&config.database_url(), config.database_max_connections).await?;
    let db = db.with_master_key(master_key);
    if config.database_url.is_none() {
        crate::data_dir::restrict_files(&config.data_dir)?;
    }
    Ok((db, migrated))
}

/// Opens storage and loads keys.
pub async fn build(config: &Config, clock: Clock) -> anyhow::Result<AppState> {
    let (db, _) = open_database(config).await?;
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
    let policy = PolicyStore::load(
        config.policy_file.as_deref(),
        &config.scopes,
        config.signup == latchkey_core::SignupMode::Open && !config.single_org,
    )?;
    let state = match &config.redis_url {
        Some(url) => {
            StateStore::redis_with(url, &config.redis_prefix, &config.redis_options()).await?
        }
        None => StateStore::in_memory(clock.clone()),
    };
    let mut state = state;
    state.set_counter_cap(config.memory_max_counters);
    let trusted_proxies = config.trusted_proxy_networks()?;
    let now = clock.now_ms();
    let auth = Auth::new(db, state, hasher, clock, config.settings())
        .await?
        .with_mailer(mailer(config)?);
    let log_key = auth.db().server_secret("log_account_ref", now).await?;
    let sms = match &config.sms_webhook_url {
        Some(url) => latchkey_core::sms::SmsSender::webhook(
            url.clone(),
            config
                .sms_webhook_token
                .clone()
                .map(latchkey_core::secret::Secret::new),
        )?,
        None => {
            let outbox = config.data_dir.join("sms-outbox");
            tracing::warn!(
                outbox = %outbox.display(),
                "no LATCHKEY_SMS_WEBHOOK_URL: phone verification codes are written to a local \
                 folder instead of being sent (development only)"
            );
            latchkey_core::sms::SmsSender::Outbox(outbox)
        }
    };
    let oidc = latchkey_core::oidc::Oidc::new(
        crate::oidc_config::provider_settings(&config.oidc_providers)?,
        config.oidc_redirect_allow_list.clone(),
        &config.issuer(),
        auth.db().server_secret("oidc_flow", now).await?,
    )?;
    Ok(Arc::new(App {
        auth,
        config: config.clone(),
        policy,
        trusted_proxies,
        log_key,
        oidc,
        sms,
        closing: tokio::sync::watch::Sender::new(false),
    }))
}

/// SMTP when configured; otherwise the development outbox, said loudly at start-up.
fn mailer(config: &Config) -> anyhow::Result<Mailer> {
    match &config.smtp_url {
        Some(url) => Mailer::smtp(url, &config.mail_from)
            .map_err(|e| anyhow::anyhow!("{e} ({})", latchkey_core::store::redact_url(url))),
        None => {
            let dir = config.data_dir.join("outbox");
            tracing::warn!(
                outbox = %dir.display(),
                "no LATCHKEY_SMTP_URL: mail is written to the outbox folder and sign-in codes \
                 to this log; for development only"
            );
            Mailer::outbox(dir, &config.mail_from)
        }
    }
}

/// A server running in this process.
pub struct Running {
    pub addr: SocketAddr,
    pub app: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish (for up to `shutdown_timeout`, then the
    /// remaining connections are closed), waits (as long again at most) for queued mail to be
    /// sent, and closes storage.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await??;
        // Queued sign-in codes and reset links go out before storage closes.
        if !self
            .app
            .auth
            .mail_idle(self.app.config.shutdown_timeout)
            .await
        {
            tracing::warn!("shutting down with mail still queued: it is lost");
        }
        self.app.auth.flush_audit().await;
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
    let upkeep = spawn_revocation_upkeep(app.clone());
    let publisher = spawn_publisher(app.clone());
    let key_reload = spawn_key_reload(app.clone());
    let audit_prune = spawn_audit_prune(app.clone());
    let audit_flush = spawn_audit_flush(app.clone());
    let listener_task = config
        .redis_url
        .is_some()
        .then(|| spawn_revocation_listener(app.clone()));
    let watch = app.policy.watch();
    let limits = crate::serve::Limits {
        header_read_timeout: config.header_read_timeout,
        shutdown_timeout: config.shutdown_timeout,
    };
    let sockets = app.clone();
    let task = tokio::spawn(async move {
        let result = crate::serve::serve(listener, router, limits, async {
            let _ = rx.await;
            sockets.closing.send_replace(true);
        })
        .await;
        purge.abort();
        upkeep.abort();
        publisher.abort();
        key_reload.abort();
        audit_prune.abort();
        audit_flush.abort();
        if let Some(l) = listener_task {
            l.abort();
        }
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

/// Every few seconds: the counts of refused logins (aggregated in memory, one row per
/// account, IP and window) are written to their rows.
fn spawn_audit_flush(app: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            app.auth.flush_audit().await;
        }
    })
}

/// Hourly (and at start) removal of audit events older than `audit_retention`, in bounded
/// batches so the database's writers are never held up for long.
fn spawn_audit_prune(app: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match app.auth.prune_audit(app.config.audit_retention).await {
                Ok(n) if n > 0 => tracing::info!(events = n, "pruned old audit events"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "audit pruning failed"),
            }
        }
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

/// Every second: rebuilds a lost or doubtful revocation list without waiting for a request to
/// notice. Every minute: prunes revocations whose access tokens have all expired.
fn spawn_revocation_upkeep(app: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut warned: Option<std::time::Instant> = None;
        for n in 0u64.. {
            tick.tick().await;
            if let Err(e) = app.auth.revocation_upkeep().await {
                // Once a minute at most: while Redis is away every tick fails.
                if warned.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
                    tracing::warn!(error = %e, "revocation upkeep failed");
                    warned = Some(std::time::Instant::now());
                }
                continue;
            }
            if n % 60 == 59 {
                match app.auth.prune_revocations().await {
                    Ok(n) if n > 0 => tracing::debug!(pruned = n, "expired revocations pruned"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "pruning revocations failed"),
                }
            }
        }
    })
}

/// Follows signing-key rotations made by the CLI or another instance, and retires keys whose
/// tokens have all expired.
fn spawn_key_reload(app: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tick.tick().await;
            match app.auth.reload_signing_keys().await {
                Ok(()) => failing = false,
                Err(e) if !failing => {
                    tracing::warn!(error = %e, "signing keys not reloaded; retrying");
                    failing = true;
                }
                Err(_) => {}
            }
        }
    })
}

/// With Redis: subscribes to revocations announced by every instance, for open sockets, and
/// subscribes again (once a second) whenever the subscription drops.
fn spawn_revocation_listener(app: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            match app.auth.listen_revocations().await {
                Ok(()) => failing = false,
                // Once per outage: sockets still poll the list meanwhile.
                Err(e) if !failing => {
                    tracing::warn!(error = %e, "revocation announcements unavailable; retrying");
                    failing = true;
                }
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
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
