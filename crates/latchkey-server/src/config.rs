//! Configuration: defaults, then a TOML file (`--config`), then `LATCHKEY_*` environment
//! variables, then command-line flags. Every option is listed in the README.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
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
    /// Lifetime of an API auth token from `/get-token`, slid back to full on every use.
    #[serde(with = "duration")]
    pub api_token_ttl: Duration,
    /// TOML rules for `/api/v1/authorize` (forward-auth); reloaded when the file changes.
    pub policy_file: Option<PathBuf>,
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
    pub login_limit_per_account: u32,
    pub login_limit_per_ip: u32,
    #[serde(with = "duration")]
    pub login_limit_window: Duration,
    pub signup_limit_per_ip: u32,
    #[serde(deserialize_with = "words")]
    pub default_scopes: Vec<String>,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Threads that hash passwords; defaults to the number of cores.
    pub hash_threads: Option<usize>,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_proxy_headers: bool,
    /// `text` or `json`.
    pub log_format: String,
    /// A tracing filter such as `info` or `latchkey=debug`; `RUST_LOG` wins when set.
    pub log_level: String,
    /// How often each instance retries publishing changes the token store missed.
    #[serde(with = "duration")]
    pub publish_retry_interval: Duration,
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
            api_token_ttl: Duration::from_secs(3600),
            policy_file: None,
            issuer: None,
            audience: None,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
            refresh_reuse_grace: Duration::from_secs(10),
            lenient_refresh_window: Duration::from_secs(10 * 60),
            login_limit_per_account: 10,
            login_limit_per_ip: 100,
            login_limit_window: Duration::from_secs(15 * 60),
            signup_limit_per_ip: 50,
            default_scopes: Vec::new(),
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            hash_threads: None,
            trust_proxy_headers: false,
            log_format: "text".into(),
            log_level: "info".into(),
            publish_retry_interval: latchkey_core::auth::PUBLISH_RETRY_EVERY,
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
            .field("redis_prefix", &self.redis_prefix)
            .field("policy_file", &self.policy_file)
            .field("issuer", &self.issuer())
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("refresh_reuse_grace", &self.refresh_reuse_grace)
            .field("lenient_refresh_window", &self.lenient_refresh_window)
            .finish_non_exhaustive()
    }
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
        // Variables for the test harness share the prefix but are not settings.
        let env = Env::prefixed("LATCHKEY_").filter(|k| !k.as_str().starts_with("test_"));
        let config: Config = fig
            .merge(env)
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
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
            (Duration::from_secs(1)..=Duration::from_secs(3600))
                .contains(&self.publish_retry_interval),
            "publish_retry_interval must be between 1s and 1h"
        );
        anyhow::ensure!(
            matches!(self.log_format.as_str(), "text" | "json"),
            "log_format must be text or json"
        );
        // Below OWASP's 19 MiB only for tests and tiny machines; `serve` warns about it.
        anyhow::ensure!(
            self.argon2_memory_kib >= 1024,
            "argon2_memory_kib must be at least 1024"
        );
        Ok(())
    }

    pub fn issuer(&self) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_owned()
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

    pub fn settings(&self) -> latchkey_core::Settings {
        let issuer = self.issuer();
        latchkey_core::Settings {
            audience: self.audience.clone().unwrap_or_else(|| issuer.clone()),
            issuer,
            access_ttl: self.access_token_ttl,
            refresh_ttl: self.refresh_token_ttl,
            reuse_grace: self.refresh_reuse_grace,
            lenient_window: self.lenient_refresh_window,
            login_limit_per_account: self.login_limit_per_account,
            login_limit_per_ip: self.login_limit_per_ip,
            login_window: self.login_limit_window,
            signup_limit_per_ip: self.signup_limit_per_ip,
            default_scopes: self.default_scopes.clone(),
            api_token_ttl: self.api_token_ttl,
        }
    }
}

/// Durations as `15m`, `4s`, `7d`, `1h 30m`, or a bare number of seconds.
mod duration {
    use super::*;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(n) => Ok(Duration::from_secs(n)),
            Raw::Text(t) => parse(&t).map_err(serde::de::Error::custom),
        }
    }

    pub fn parse(t: &str) -> Result<Duration, String> {
        let t = t.trim();
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
            "access_token_ttl = \"5m\"\nrefresh_reuse_grace = 30\ndefault_scopes = [\"a:read\"]\nbind = \"127.0.0.1:9000\"\n",
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
        assert_eq!(c.bind.port(), 9100);
        assert_eq!(c.issuer(), "http://127.0.0.1:9100");
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
    fn debug_redacts_the_database_password() {
        let c = Config {
            database_url: Some("postgres://u:hunter2@db/x".into()),
            ..Config::default()
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
