//! Configuration: defaults, then a TOML file (`--config`), then `LATCHKEY_*` environment
//! variables, then command-line flags. Every option is listed in the README.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use latchkey_core::master_key::MasterKey;
use serde::{Deserialize, Deserializer, Serialize};

// `deny_unknown_fields`: a misspelt key in the file is an error, not a silently kept default.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `host:port`; a host name is resolved at start.
    #[serde(deserialize_with = "crate::config_checks::deserialize_bind")]
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    /// `postgres://…`; when absent, SQLite under `data_dir`.
    pub database_url: Option<String>,
    pub database_max_connections: u32,
    /// `redis://…`; when set, sessions' revocations, rate-limit counters, user and key records
    /// and API auth tokens live in Redis, so several instances act as one.
    pub redis_url: Option<String>,
    /// Prepended to every Redis key (several deployments or tests can share one Redis).
    pub redis_prefix: String,
    /// Bounds every Redis connection attempt and command: past it the request is answered 503.
    #[serde(with = "duration")]
    pub redis_timeout: Duration,
    /// Start even when Redis's `maxmemory-policy` is not `noeviction`.
    pub redis_allow_eviction: bool,
    /// Lifetime of an API auth token from `/get-token`, slid back to full on every use.
    #[serde(with = "duration")]
    pub api_token_ttl: Duration,
    /// TOML rules for `/api/v1/authorize` (forward-auth); reloaded when the file changes.
    pub policy_file: Option<PathBuf>,
    /// Where forward-auth reads the original method and URI (see `ForwardHeaders`).
    pub forward_headers: ForwardHeaders,
    /// Public base URL; the `iss` of every token. Defaults to `http://<bind>`.
    pub issuer: Option<String>,
    /// The `aud` of access tokens. Defaults to the issuer.
    pub audience: Option<String>,
    #[serde(with = "duration")]
    pub access_token_ttl: Duration,
    #[serde(with = "duration")]
    pub refresh_token_ttl: Duration,
    #[serde(with = "duration")]
    pub refresh_reuse_grace: Duration,
    #[serde(with = "duration")]
    pub lenient_refresh_window: Duration,
    /// Failed sign-in steps per account per window from clients without a device token.
    pub login_limit_per_account: u32,
    /// Failed sign-in steps per account from one client address, or from one known device.
    pub login_limit_per_account_ip: u32,
    pub login_limit_per_ip: u32,
    /// The most attempt counters the in-process store keeps (per-client ones give way first).
    pub memory_max_counters: usize,
    #[serde(with = "duration")]
    pub login_limit_window: Duration,
    pub signup_limit_per_ip: u32,
    #[serde(deserialize_with = "words")]
    pub default_scopes: Vec<String>,
    /// The scope catalogue: the only scopes that can be granted and that tokens may use.
    #[serde(deserialize_with = "words")]
    pub scopes: Vec<String>,
    /// Catalogue scopes an organization admin may grant; the rest only operators grant.
    #[serde(deserialize_with = "words")]
    pub admin_grantable_scopes: Vec<String>,
    /// Sign-ups without a referral code join the one organization (the first founds it).
    pub single_org: bool,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Threads that hash passwords; defaults to the number of cores.
    pub hash_threads: Option<usize>,
    /// Networks of the reverse proxies in front of Latchkey (CIDRs or single addresses). Only
    /// a request from one of them has its `Forwarded` / `X-Forwarded-For` read; empty = the
    /// socket peer is the client.
    #[serde(deserialize_with = "words")]
    pub trusted_proxies: Vec<String>,
    /// A client must send its whole request head within this time; also how long an idle
    /// keep-alive connection stays open.
    #[serde(with = "duration")]
    pub header_read_timeout: Duration,
    /// A request body must arrive whole within this time (408 otherwise).
    #[serde(with = "duration")]
    pub body_read_timeout: Duration,
    /// After SIGTERM, how long requests in flight may run before the remaining connections are
    /// closed.
    #[serde(with = "duration")]
    pub shutdown_timeout: Duration,
    /// `text` or `json`.
    pub log_format: String,
    /// A tracing filter such as `info` or `latchkey=debug`; `RUST_LOG` wins when set.
    pub log_level: String,
    /// 32 bytes (base64 or hex) that seal private signing keys and server secrets in the
    /// database. A secret: never in `Debug`, never logged.
    pub master_key: Option<String>,
    /// A file holding the master key (e.g. a mounted secret), instead of `master_key`.
    pub master_key_file: Option<PathBuf>,
    /// How often each instance retries publishing changes the token store missed.
    #[serde(with = "duration")]
    pub publish_retry_interval: Duration,
    /// Browser origins allowed to call the API (CORS), e.g. `https://app.example.com`.
    #[serde(deserialize_with = "words")]
    pub cors_origins: Vec<String>,
    /// Offer web apps the refresh token in an HttpOnly cookie instead of the response body
    /// (per request, when the client asks with `X-Refresh-Token-Mode: cookie`).
    pub refresh_cookie: bool,
    /// Sign-in providers (Google, Microsoft, any OpenID provider); see `oidc_config`.
    pub oidc_providers: Vec<crate::oidc_config::OidcProvider>,
    /// Where a provider sign-in may hand its result: web origins and app schemes.
    #[serde(deserialize_with = "words")]
    pub oidc_redirect_allow_list: Vec<String>,
    /// Your SMS gateway's webhook for verification codes; without it, messages go to the
    /// `sms-outbox` folder in `data_dir` (development).
    pub sms_webhook_url: Option<String>,
    /// Sent as `Authorization: Bearer` to the webhook. A secret: never logged.
    pub sms_webhook_token: Option<String>,
    /// `smtp://host:port` or `smtps://user:pass@host:465`; without it mail goes to an outbox
    /// folder in the data directory (development only). A secret: redacted in `Debug`.
    pub smtp_url: Option<String>,
    /// The sender of every mail, e.g. `Latchkey <auth@example.com>`.
    pub mail_from: String,
    /// How long a mailed sign-in code lives.
    #[serde(with = "duration")]
    pub login_code_ttl: Duration,
    /// How long a proof of a credential in a session allows sensitive changes.
    #[serde(with = "duration")]
    pub reauth_window: Duration,
    /// What a password change or reset removes as "set up recently"; 0 = nothing.
    #[serde(with = "duration")]
    pub reset_cleanup_window: Duration,
    /// Whether a verified code for an unknown address signs it up.
    pub login_code_signup: bool,
    /// Codes sent per address per login window; 0 = off.
    pub login_code_limit_per_email: u32,
    /// Codes sent per client IP per login window; 0 = off.
    pub login_code_limit_per_ip: u32,
    /// The sign-in page a magic link opens (`?login_id=…&code=…` is appended). Defaults to
    /// `<issuer>/login`.
    pub magic_link_url: Option<String>,
    /// The page a password-reset link opens (`?token=…` is appended). Defaults to
    /// `<issuer>/reset-password`.
    pub password_reset_url: Option<String>,
    /// `open`, `invite` (a referral code is required) or `closed`.
    pub signup: latchkey_core::SignupMode,
    /// The page a verification link opens (`?token=…` is appended). Defaults to
    /// `<issuer>/verify-email`.
    pub verify_email_url: Option<String>,
    /// Refuse logins until the address is verified.
    pub require_verified_email: bool,
    /// How often an open WebSocket or Socket.IO connection re-checks its session (revocations
    /// with Redis are also announced at once; scope changes and disabled accounts are not).
    #[serde(with = "duration")]
    pub socket_check_interval: Duration,
    /// How long audit events are kept; `0` keeps them forever.
    #[serde(with = "duration")]
    pub audit_retention: Duration,
    /// Rows of refused logins one client IP may open in the audit log per login window (its
    /// further failures are counted in one row); 0 = no cap.
    pub audit_failed_login_rows_per_ip: u32,
    /// Text messages to one phone number (whichever accounts ask) per `phone_send_window`;
    /// 0 = off.
    pub phone_sends_per_number: u32,
    /// Text messages for one organization's accounts per `phone_send_window`; 0 = off.
    pub phone_sends_per_org: u32,
    #[serde(with = "duration")]
    pub phone_send_window: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./latchkey-data"),
            database_url: None,
            database_max_connections: 16,
            redis_url: None,
            redis_prefix: "lk:".into(),
            redis_timeout: Duration::from_secs(2),
            redis_allow_eviction: false,
            api_token_ttl: Duration::from_secs(3600),
            policy_file: None,
            forward_headers: ForwardHeaders::Auto,
            issuer: None,
            audience: None,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
            refresh_reuse_grace: Duration::from_secs(10),
            lenient_refresh_window: Duration::from_secs(10 * 60),
            login_limit_per_account: 50,
            login_limit_per_account_ip: 10,
            login_limit_per_ip: 100,
            memory_max_counters: 100_000,
            login_limit_window: Duration::from_secs(15 * 60),
            signup_limit_per_ip: 50,
            default_scopes: Vec::new(),
            scopes: Vec::new(),
            admin_grantable_scopes: Vec::new(),
            single_org: false,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            hash_threads: None,
            trusted_proxies: Vec::new(),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(20),
            shutdown_timeout: Duration::from_secs(30),
            log_format: "text".into(),
            log_level: "info".into(),
            master_key: None,
            master_key_file: None,
            publish_retry_interval: latchkey_core::auth::PUBLISH_RETRY_EVERY,
            cors_origins: Vec::new(),
            refresh_cookie: false,
            oidc_providers: Vec::new(),
            oidc_redirect_allow_list: Vec::new(),
            sms_webhook_url: None,
            sms_webhook_token: None,
            smtp_url: None,
            mail_from: "Latchkey <latchkey@localhost>".into(),
            login_code_ttl: Duration::from_secs(600),
            reauth_window: Duration::from_secs(5 * 60),
            reset_cleanup_window: Duration::from_secs(24 * 3600),
            login_code_signup: true,
            login_code_limit_per_email: 5,
            login_code_limit_per_ip: 20,
            magic_link_url: None,
            password_reset_url: None,
            signup: latchkey_core::SignupMode::Open,
            verify_email_url: None,
            require_verified_email: false,
            socket_check_interval: Duration::from_millis(500),
            audit_retention: Duration::from_secs(90 * 24 * 3600),
            audit_failed_login_rows_per_ip: 20,
            phone_sends_per_number: 5,
            phone_sends_per_org: 50,
            phone_send_window: Duration::from_secs(24 * 3600),
        }
    }
}

// Hand-written so the database URL (which may carry a password) never reaches a log.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self
                    .database_url
                    .as_deref()
                    .map(latchkey_core::store::redact_url),
            )
            .field(
                "redis_url",
                &self
                    .redis_url
                    .as_deref()
                    .map(latchkey_core::store::redact_url),
            )
            .field(
                "smtp_url",
                &self
                    .smtp_url
                    .as_deref()
                    .map(latchkey_core::store::redact_url),
            )
            .field("redis_prefix", &self.redis_prefix)
            .field("redis_timeout", &self.redis_timeout)
            .field("policy_file", &self.policy_file)
            .field("forward_headers", &self.forward_headers)
            .field("issuer", &self.issuer())
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("refresh_reuse_grace", &self.refresh_reuse_grace)
            .field("lenient_refresh_window", &self.lenient_refresh_window)
            .field("master_key_file", &self.master_key_file)
            .finish_non_exhaustive()
    }
}

/// Which proxy's description of the original request forward-auth trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForwardHeaders {
    /// Exactly one of the three forms below must be present; two at once are refused.
    Auto,
    /// `X-Original-Method` + `X-Original-URI`.
    Nginx,
    /// `X-Forwarded-Method` + `X-Forwarded-Uri`.
    Traefik,
    /// The check request itself: its method, and the path after `/api/v1/authorize`.
    Envoy,
}

/// Flags that override the file and the environment.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

impl Config {
    pub fn load(file: Option<&std::path::Path>, overrides: &Overrides) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            anyhow::ensure!(
                path.exists(),
                "config file {} does not exist",
                path.display()
            );
            fig = fig.merge(Toml::file(path));
        }
        // The old on/off switch trusted whatever the client wrote: refuse it by name rather
        // than let an operator believe it still does something.
        anyhow::ensure!(
            std::env::var_os("LATCHKEY_TRUST_PROXY_HEADERS").is_none()
                && fig.find_value("trust_proxy_headers").is_err(),
            "configuration: trust_proxy_headers (LATCHKEY_TRUST_PROXY_HEADERS) was replaced by \
             trusted_proxies (LATCHKEY_TRUSTED_PROXIES), a list of your proxies' networks"
        );
        crate::config_checks::check_env_names(
            std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()),
        )?;
        // Variables that share the prefix but are not settings (the file's path, the test
        // harness's and the load tool's).
        let env = Env::prefixed("LATCHKEY_").filter(|k| {
            let name = format!("LATCHKEY_{}", k.as_str().to_ascii_uppercase());
            !crate::config_checks::exempt(&name)
        });
        let fig = fig.merge(env);
        let config: Config = fig
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| crate::config_checks::describe(e, file))?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.access_token_ttl >= Duration::from_secs(10),
            "access_token_ttl must be at least 10s"
        );
        anyhow::ensure!(
            self.refresh_token_ttl > self.access_token_ttl,
            "refresh_token_ttl must be longer than access_token_ttl"
        );
        anyhow::ensure!(
            self.refresh_reuse_grace <= latchkey_core::Settings::MAX_REUSE_GRACE,
            "refresh_reuse_grace is capped at 5m"
        );
        anyhow::ensure!(
            self.api_token_ttl >= Duration::from_secs(10),
            "api_token_ttl must be at least 10s"
        );
        anyhow::ensure!(
            (Duration::from_secs(60)..=Duration::from_secs(3600)).contains(&self.login_code_ttl),
            "login_code_ttl must be between 1m and 1h"
        );
        anyhow::ensure!(
            (Duration::from_secs(10)..=Duration::from_secs(3600)).contains(&self.reauth_window),
            "reauth_window must be between 10s and 1h"
        );
        anyhow::ensure!(
            self.redis_timeout >= Duration::from_millis(50),
            "redis_timeout must be at least 50ms"
        );
        anyhow::ensure!(
            (Duration::from_secs(1)..=Duration::from_secs(3600))
                .contains(&self.publish_retry_interval),
            "publish_retry_interval must be between 1s and 1h"
        );
        for origin in &self.cors_origins {
            crate::http::cors::check_origin(origin).map_err(anyhow::Error::msg)?;
        }
        anyhow::ensure!(
            (Duration::from_millis(100)..=Duration::from_secs(60))
                .contains(&self.socket_check_interval),
            "socket_check_interval must be between 100ms and 60s"
        );
        anyhow::ensure!(
            self.audit_retention.is_zero() || self.audit_retention >= Duration::from_secs(3600),
            "audit_retention must be 0 (keep forever) or at least 1h"
        );
        anyhow::ensure!(
            self.phone_send_window >= Duration::from_secs(60),
            "phone_send_window must be at least 1m"
        );
        anyhow::ensure!(
            matches!(self.log_format.as_str(), "text" | "json"),
            "log_format must be text or json"
        );
        self.trusted_proxy_networks()?;
        anyhow::ensure!(
            self.header_read_timeout >= Duration::from_secs(1),
            "header_read_timeout must be at least 1s"
        );
        anyhow::ensure!(
            self.body_read_timeout >= Duration::from_secs(1)
                && self.body_read_timeout < crate::http::REQUEST_DEADLINE,
            "body_read_timeout must be at least 1s and under 30s"
        );
        // Below OWASP's 19 MiB only for tests and tiny machines; `serve` warns about it.
        anyhow::ensure!(
            self.argon2_memory_kib >= 1024,
            "argon2_memory_kib must be at least 1024"
        );
        // Upper bounds: beyond them one hash takes seconds or the pool outgrows any server.
        in_range(
            "argon2_memory_kib",
            self.argon2_memory_kib,
            1024,
            4 * 1024 * 1024,
        )?;
        in_range("argon2_iterations", self.argon2_iterations, 1, 100)?;
        in_range("argon2_parallelism", self.argon2_parallelism, 1, 64)?;
        in_range(
            "database_max_connections",
            self.database_max_connections,
            1,
            1000,
        )?;
        if let Some(n) = self.hash_threads {
            in_range("hash_threads", n, 1, 1024)?;
        }
        anyhow::ensure!(
            self.login_limit_window >= Duration::from_secs(1),
            "login_limit_window must be at least 1s (set a limit to 0 to turn it off)"
        );
        crate::config_checks::check_log_filter(&self.log_level).map_err(anyhow::Error::msg)?;
        self.settings().check_scopes()?;
        crate::oidc_config::provider_settings(&self.oidc_providers)?;
        // The flow cookie of a form_post answer must be `SameSite=None; Secure`.
        anyhow::ensure!(
            !self.oidc_providers.iter().any(|p| p.form_post)
                || self.issuer().starts_with("https://"),
            "oidc_providers: form_post needs an https:// issuer (LATCHKEY_ISSUER)"
        );
        crate::oidc_config::check_redirects(&self.oidc_redirect_allow_list)?;
        if let Some(url) = &self.sms_webhook_url {
            anyhow::ensure!(
                url.starts_with("https://") || url.starts_with("http://"),
                "sms_webhook_url must be an http(s) URL"
            );
        }
        Ok(())
    }

    /// `trusted_proxies` parsed; a bare address is a network of one.
    pub fn trusted_proxy_networks(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        self.trusted_proxies
            .iter()
            .map(|s| {
                s.parse::<ipnet::IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "trusted_proxies: {s:?} is not an address or a network like 10.0.0.0/8"
                        )
                    })
            })
            .collect()
    }

    pub fn issuer(&self) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_owned()
    }

    /// The database for messages: a redacted URL, or the SQLite file.
    pub fn database_description(&self) -> String {
        match &self.database_url {
            Some(url) => latchkey_core::store::redact_url(url),
            None => format!("SQLite at {}", self.data_dir.join("latchkey.db").display()),
        }
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("latchkey.db").display()
            ),
        }
    }

    /// The master key from `master_key` or `master_key_file`, if either is set.
    pub fn master_key(&self) -> anyhow::Result<Option<MasterKey>> {
        let text = match (&self.master_key, &self.master_key_file) {
            (Some(_), Some(_)) => anyhow::bail!(
                "set either LATCHKEY_MASTER_KEY or LATCHKEY_MASTER_KEY_FILE, not both"
            ),
            (Some(text), None) => text.clone(),
            (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("cannot read the master key file {}: {e}", path.display())
            })?,
            (None, None) => return Ok(None),
        };
        MasterKey::parse(&text).map(Some)
    }

    pub fn redis_options(&self) -> latchkey_core::state::RedisOptions {
        latchkey_core::state::RedisOptions {
            timeout: self.redis_timeout,
            allow_eviction: self.redis_allow_eviction,
        }
    }

    pub fn settings(&self) -> latchkey_core::Settings {
        let issuer = self.issuer();
        let magic_link_url = self
            .magic_link_url
            .clone()
            .unwrap_or_else(|| format!("{}/login", issuer.trim_end_matches('/')));
        let reset_link_url = self
            .password_reset_url
            .clone()
            .unwrap_or_else(|| format!("{}/reset-password", issuer.trim_end_matches('/')));
        let verify_link_url = self
            .verify_email_url
            .clone()
            .unwrap_or_else(|| format!("{}/verify-email", issuer.trim_end_matches('/')));
        latchkey_core::Settings {
            audience: self.audience.clone().unwrap_or_else(|| issuer.clone()),
            issuer,
            access_ttl: self.access_token_ttl,
            refresh_ttl: self.refresh_token_ttl,
            reuse_grace: self.refresh_reuse_grace,
            lenient_window: self.lenient_refresh_window,
            login_limit_per_account: self.login_limit_per_account,
            login_limit_per_account_ip: self.login_limit_per_account_ip,
            login_limit_per_ip: self.login_limit_per_ip,
            login_window: self.login_limit_window,
            signup_limit_per_ip: self.signup_limit_per_ip,
            default_scopes: self.default_scopes.clone(),
            scope_catalogue: self.scopes.clone(),
            admin_grantable_scopes: self.admin_grantable_scopes.clone(),
            single_org: self.single_org,
            api_token_ttl: self.api_token_ttl,
            code_ttl: self.login_code_ttl,
            code_signup: self.login_code_signup,
            code_limit_per_email: self.login_code_limit_per_email,
            code_limit_per_ip: self.login_code_limit_per_ip,
            magic_link_url,
            reset_link_url,
            signup: self.signup,
            verify_link_url,
            require_verified_email: self.require_verified_email,
            failed_login_rows_per_ip: self.audit_failed_login_rows_per_ip,
            phone_sends_per_number: self.phone_sends_per_number,
            phone_sends_per_org: self.phone_sends_per_org,
            phone_send_window: self.phone_send_window,

            reauth_window: self.reauth_window,
            reset_cleanup_window: self.reset_cleanup_window,
        }
    }
}

fn in_range<T: PartialOrd + std::fmt::Display>(
    name: &str,
    v: T,
    min: T,
    max: T,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        v >= min && v <= max,
        "{name} (LATCHKEY_{}) must be between {min} and {max} (got {v})",
        name.to_ascii_uppercase()
    );
    Ok(())
}

/// Durations as `15m`, `4s`, `7d`, `1h 30m`, or a bare number of seconds.
mod duration {
    use super::*;

    /// Longer durations overflow millisecond arithmetic and mean nothing for tokens anyway.
    const MAX: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Signed(i64),
            Float(f64),
            Text(String),
        }
        let d = match Raw::deserialize(d)? {
            Raw::Secs(n) => Duration::from_secs(n),
            Raw::Signed(n) => return Err(serde::de::Error::custom(negative(&n.to_string()))),
            Raw::Float(f) if f < 0.0 => {
                return Err(serde::de::Error::custom(negative(&f.to_string())));
            }
            Raw::Float(f) => Duration::try_from_secs_f64(f).map_err(serde::de::Error::custom)?,
            Raw::Text(t) => parse(&t).map_err(serde::de::Error::custom)?,
        };
        if d > MAX {
            return Err(serde::de::Error::custom(format!(
                "duration {} is longer than the supported maximum of 10 years",
                humantime::format_duration(d)
            )));
        }
        Ok(d)
    }

    fn negative(t: &str) -> String {
        format!("a duration cannot be negative (got {t}); use forms like 15m, 4s, 7d")
    }

    pub fn parse(t: &str) -> Result<Duration, String> {
        let t = t.trim();
        if t.starts_with('-') {
            return Err(negative(t));
        }
        if let Ok(n) = t.parse::<u64>() {
            return Ok(Duration::from_secs(n));
        }
        humantime::parse_duration(t)
            .map_err(|e| format!("invalid duration {t:?} ({e}); use forms like 15m, 4s, 7d"))
    }
}

/// A list given as a TOML array or as one string of space- or comma-separated words (env).
fn words<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::List(v) => v,
        Raw::Text(t) => t
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_the_documented_forms() {
        for (text, secs) in [
            ("15m", 900),
            ("4s", 4),
            ("7d", 604_800),
            ("90", 90),
            ("1h 30m", 5400),
        ] {
            assert_eq!(
                duration::parse(text).unwrap(),
                Duration::from_secs(secs),
                "{text}"
            );
        }
        assert!(duration::parse("soon").is_err());
    }

    #[test]
    fn file_then_flags_override_defaults() {
        let dir = std::env::temp_dir().join(format!("lk-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("latchkey.toml");
        std::fs::write(
            &file,
            "access_token_ttl = \"5m\"\nrefresh_reuse_grace = 30\ndefault_scopes = [\"a:read\"]\nscopes = [\"a:read\", \"a:write\"]\nforward_headers = \"envoy\"\nbind = \"127.0.0.1:9000\"\n",
        )
        .unwrap();
        let flags = Overrides {
            bind: Some("127.0.0.1:9100".parse().unwrap()),
            data_dir: None,
        };
        let c = Config::load(Some(&file), &flags).unwrap();
        assert_eq!(c.access_token_ttl, Duration::from_secs(300));
        assert_eq!(c.refresh_reuse_grace, Duration::from_secs(30));
        assert_eq!(c.default_scopes, vec!["a:read"]);
        assert_eq!(c.scopes, vec!["a:read", "a:write"]);
        assert_eq!(c.forward_headers, ForwardHeaders::Envoy);
        std::fs::write(&file, "forward_headers = \"any\"\n").unwrap();
        let e = Config::load(Some(&file), &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("forward_headers"), "{e}");
        assert_eq!(c.bind.port(), 9100);
        assert_eq!(c.issuer(), "http://127.0.0.1:9100");
    }

    #[test]
    fn default_scopes_outside_the_catalogue_are_refused() {
        let c = Config {
            default_scopes: vec!["orders:read".into()],
            ..Config::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("orders:read"), "{e}");
        let c = Config {
            scopes: vec!["orders:read".into()],
            ..c
        };
        assert!(c.validate().is_ok());
    }

    #[test]
    fn cors_origins_must_be_plain_origins() {
        let ok = Config {
            cors_origins: vec![
                "https://app.example.com".into(),
                "http://localhost:3000".into(),
            ],
            ..Config::default()
        };
        assert!(ok.validate().is_ok());
        for bad in [
            "*",
            "https://app.example.com/",
            "app.example.com",
            "https://*.example.com",
        ] {
            let c = Config {
                cors_origins: vec![bad.into()],
                ..Config::default()
            };
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains("cors_origins"), "{bad}: {e}");
        }
    }

    #[test]
    fn grace_over_the_cap_is_refused() {
        let c = Config {
            refresh_reuse_grace: Duration::from_secs(301),
            ..Config::default()
        };
        assert!(c.validate().is_err());
    }

    #[test]
    fn audit_retention_is_zero_or_at_least_an_hour() {
        for (secs, ok) in [
            (0, true),
            (59 * 60, false),
            (3600, true),
            (90 * 86400, true),
        ] {
            let c = Config {
                audit_retention: Duration::from_secs(secs),
                ..Config::default()
            };
            assert_eq!(c.validate().is_ok(), ok, "{secs}s");
        }
    }

    #[test]
    fn trusted_proxies_take_networks_and_addresses() {
        let c = Config {
            trusted_proxies: vec![
                "10.0.0.0/8".into(),
                "2001:db8::/32".into(),
                "192.0.2.7".into(),
            ],
            ..Config::default()
        };
        let nets = c.trusted_proxy_networks().unwrap();
        assert_eq!(nets.len(), 3);
        assert!(nets[2].contains(&"192.0.2.7".parse::<std::net::IpAddr>().unwrap()));
        let bad = Config {
            trusted_proxies: vec!["10.0.0.0/33".into()],
            ..Config::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn the_old_proxy_switch_is_refused_with_its_replacement_named() {
        let dir = std::env::temp_dir().join(format!("lk-config-proxy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("latchkey.toml");
        std::fs::write(&file, "trust_proxy_headers = true\n").unwrap();
        let err = Config::load(Some(&file), &Overrides::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("trusted_proxies"), "{err}");
        std::fs::write(&file, "trusted_proxies = [\"10.0.0.0/8\"]\n").unwrap();
        let c = Config::load(Some(&file), &Overrides::default()).unwrap();
        assert_eq!(c.trusted_proxy_networks().unwrap().len(), 1);
    }

    #[test]
    fn debug_redacts_the_database_password() {
        let c = Config {
            database_url: Some("postgres://u:hunter2@db/x".into()),
            master_key: Some("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=".into()),
            ..Config::default()
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{c:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn master_key_comes_from_the_value_or_the_file_not_both() {
        let b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let file = std::env::temp_dir().join(format!("lk-master-{}", std::process::id()));
        std::fs::write(&file, format!("{b64}\n")).unwrap();
        let from_value = Config {
            master_key: Some(b64.into()),
            ..Config::default()
        };
        let from_file = Config {
            master_key_file: Some(file.clone()),
            ..Config::default()
        };
        let sealed = from_value.master_key().unwrap().unwrap().seal("v", "x");
        let opened = from_file.master_key().unwrap().unwrap().open(&sealed, "x");
        assert_eq!(opened.unwrap(), "v");
        assert!(Config::default().master_key().unwrap().is_none());
        let both = Config {
            master_key: Some(b64.into()),
            master_key_file: Some(file.clone()),
            ..Config::default()
        };
        assert!(
            both.master_key()
                .unwrap_err()
                .to_string()
                .contains("not both")
        );
        let missing = Config {
            master_key_file: Some(file.join("nope")),
            ..Config::default()
        };
        assert!(missing.master_key().is_err());
        std::fs::remove_file(file).unwrap();
    }
}
