//! Configuration: defaults (`defaults`), then a TOML file (`--config`), then `LATCHKEY_*`
//! environment variables, then command-line flags (`load`); checked by `validate`. Every
//! option is listed in the README: a field's name is its TOML key and, upper-cased after
//! `LATCHKEY_`, its environment variable, so renaming one changes the public interface.

mod checks;
mod defaults;
mod durations;
mod load;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use latchkey_core::master_key::MasterKey;
use serde::{Deserialize, Deserializer, Serialize};

pub use checks::resolve_bind;
pub use load::Overrides;

// `deny_unknown_fields`: a misspelt key in the file is an error, not a silently kept default.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `host:port`; a host name is resolved at start.
    #[serde(deserialize_with = "checks::deserialize_bind")]
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
    #[serde(with = "durations")]
    pub redis_timeout: Duration,
    /// Start even when Redis's `maxmemory-policy` is not `noeviction`.
    pub redis_allow_eviction: bool,
    /// Lifetime of an API auth token from `/get-token`, slid back to full on every use.
    #[serde(with = "durations")]
    pub api_token_ttl: Duration,
    /// TOML rules for `/api/v1/authorize` (forward-auth); reloaded when the file changes.
    pub policy_file: Option<PathBuf>,
    /// Where forward-auth reads the original method and URI (see `ForwardHeaders`).
    pub forward_headers: ForwardHeaders,
    /// Public base URL; the `iss` of every token. Defaults to `http://<bind>`.
    pub issuer: Option<String>,
    /// The `aud` of access tokens. Defaults to the issuer.
    pub audience: Option<String>,
    #[serde(with = "durations")]
    pub access_token_ttl: Duration,
    #[serde(with = "durations")]
    pub refresh_token_ttl: Duration,
    #[serde(with = "durations")]
    pub refresh_reuse_grace: Duration,
    #[serde(with = "durations")]
    pub lenient_refresh_window: Duration,
    /// Failed sign-in steps per account per window from clients without a device token.
    pub login_limit_per_account: u32,
    /// Failed sign-in steps per account from one client address, or from one known device.
    pub login_limit_per_account_ip: u32,
    pub login_limit_per_ip: u32,
    /// The most attempt counters the in-process store keeps (per-client ones give way first).
    pub memory_max_counters: usize,
    #[serde(with = "durations")]
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
    #[serde(with = "durations")]
    pub header_read_timeout: Duration,
    /// A request body must arrive whole within this time (408 otherwise).
    #[serde(with = "durations")]
    pub body_read_timeout: Duration,
    /// After SIGTERM, how long requests in flight may run before the remaining connections are
    /// closed.
    #[serde(with = "durations")]
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
    #[serde(with = "durations")]
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
    #[serde(with = "durations")]
    pub login_code_ttl: Duration,
    /// How long a proof of a credential in a session allows sensitive changes.
    #[serde(with = "durations")]
    pub reauth_window: Duration,
    /// What a password change or reset removes as "set up recently"; 0 = nothing.
    #[serde(with = "durations")]
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
    #[serde(with = "durations")]
    pub socket_check_interval: Duration,
    /// How long audit events are kept; `0` keeps them forever.
    #[serde(with = "durations")]
    pub audit_retention: Duration,
    /// Rows of refused logins one client IP may open in the audit log per login window (its
    /// further failures are counted in one row); 0 = no cap.
    pub audit_failed_login_rows_per_ip: u32,
    /// Text messages to one phone number (whichever accounts ask) per `phone_send_window`;
    /// 0 = off.
    pub phone_sends_per_number: u32,
    /// Text messages for one organization's accounts per `phone_send_window`; 0 = off.
    pub phone_sends_per_org: u32,
    #[serde(with = "durations")]
    pub phone_send_window: Duration,
    // ---- the hosted pages (web/) ----
    /// The product name the pages show in their header and titles.
    pub product_name: String,
    /// The pages' accent colour, `#rgb` or `#rrggbb`.
    pub accent_color: String,
    /// A browser's web session ends after this long without a page request.
    #[serde(with = "durations")]
    pub web_session_idle: Duration,
    /// A browser's web session ends this long after sign-in, however active.
    #[serde(with = "durations")]
    pub web_session_absolute: Duration,
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

impl Config {
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

    /// The domain's settings: the fields of the same names, with the issuer and the link
    /// pages resolved.
    pub fn settings(&self) -> latchkey_core::Settings {
        use latchkey_core::auth::defaults;
        let issuer = self.issuer();
        let link = |set: &Option<String>, default: fn(&str) -> String| {
            set.clone().unwrap_or_else(|| default(&issuer))
        };
        latchkey_core::Settings {
            audience: self.audience.clone().unwrap_or_else(|| issuer.clone()),
            magic_link_url: link(&self.magic_link_url, defaults::magic_link_url),
            password_reset_url: link(&self.password_reset_url, defaults::password_reset_url),
            verify_email_url: link(&self.verify_email_url, defaults::verify_email_url),
            access_token_ttl: self.access_token_ttl,
            refresh_token_ttl: self.refresh_token_ttl,
            refresh_reuse_grace: self.refresh_reuse_grace,
            lenient_refresh_window: self.lenient_refresh_window,
            login_limit_per_account: self.login_limit_per_account,
            login_limit_per_account_ip: self.login_limit_per_account_ip,
            login_limit_per_ip: self.login_limit_per_ip,
            login_limit_window: self.login_limit_window,
            signup_limit_per_ip: self.signup_limit_per_ip,
            default_scopes: self.default_scopes.clone(),
            scopes: self.scopes.clone(),
            admin_grantable_scopes: self.admin_grantable_scopes.clone(),
            single_org: self.single_org,
            api_token_ttl: self.api_token_ttl,
            login_code_ttl: self.login_code_ttl,
            login_code_signup: self.login_code_signup,
            login_code_limit_per_email: self.login_code_limit_per_email,
            login_code_limit_per_ip: self.login_code_limit_per_ip,
            signup: self.signup,
            require_verified_email: self.require_verified_email,
            audit_failed_login_rows_per_ip: self.audit_failed_login_rows_per_ip,
            phone_sends_per_number: self.phone_sends_per_number,
            phone_sends_per_org: self.phone_sends_per_org,
            phone_send_window: self.phone_send_window,
            reauth_window: self.reauth_window,
            reset_cleanup_window: self.reset_cleanup_window,
            issuer,
        }
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
mod tests;
