//! Wiring: configuration in, a running server out. Built once; handlers share it through
//! `AppState`. Tests use `start` with a manual clock.

use std::net::SocketAddr;
use std::sync::Arc;

use latchkey_core::mail::Mailer;
use latchkey_core::password::{HashCost, PasswordHasher};
use latchkey_core::state::StateStore;
use latchkey_core::store::{Db, Migrated};
use latchkey_core::{Auth, Clock};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::jobs;
use crate::policy::PolicyStore;
use crate::state::{App, AppState};

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
    let web_key = auth.db().server_secret("web_pages", now).await?;
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
        web_key,
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
    let router = crate::http::router(app.clone(), crate::web::router(&app));
    let purge = jobs::spawn_purge(app.clone());
    let upkeep = jobs::spawn_revocation_upkeep(app.clone());
    let publisher = jobs::spawn_publisher(app.clone());
    let key_reload = jobs::spawn_key_reload(app.clone());
    let audit_prune = jobs::spawn_audit_prune(app.clone());
    let audit_flush = jobs::spawn_audit_flush(app.clone());
    let listener_task = config
        .redis_url
        .is_some()
        .then(|| jobs::spawn_revocation_listener(app.clone()));
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
