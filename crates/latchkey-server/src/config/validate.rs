//! Validation of a loaded configuration: ranges, formats and the rules between settings.

use std::time::Duration;

use crate::limits::REQUEST_DEADLINE;
use crate::origin::check_origin;

use super::{Config, checks};

impl Config {
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
            check_origin(origin).map_err(anyhow::Error::msg)?;
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
        self.validate_pages()?;
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
                && self.body_read_timeout < REQUEST_DEADLINE,
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
        checks::check_log_filter(&self.log_level).map_err(anyhow::Error::msg)?;
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

impl Config {
    /// The hosted pages' settings: the accent colour goes into a stylesheet, so only a colour
    /// in hex is accepted; the web session's limits must leave room to work.
    fn validate_pages(&self) -> anyhow::Result<()> {
        let hex = self.accent_color.strip_prefix('#').unwrap_or("");
        anyhow::ensure!(
            matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()),
            "accent_color must be a colour such as #2f55d4 or #25d"
        );
        let name = self.product_name.trim();
        anyhow::ensure!(
            !name.is_empty() && name.chars().count() <= 60,
            "product_name must be 1 to 60 characters"
        );
        anyhow::ensure!(
            self.web_session_idle >= Duration::from_secs(60),
            "web_session_idle must be at least 1m"
        );
        anyhow::ensure!(
            self.web_session_absolute >= self.web_session_idle,
            "web_session_absolute must be at least web_session_idle"
        );
        Ok(())
    }
}
