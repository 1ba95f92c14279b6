//! The defaults table: every setting's default, written once. The settings the domain reads
//! take theirs from `latchkey_core::auth::defaults`, which `Settings::for_issuer` uses too.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use latchkey_core::auth::defaults as shared;

use super::{Config, ForwardHeaders};

impl Default for Config {
    fn default() -> Self {
        // `shared::…`: the domain's defaults, also `Settings::for_issuer`'s.
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./latchkey-data"),
            database_url: None,
            database_max_connections: 16,
            redis_url: None,
            redis_prefix: "lk:".into(),
            redis_timeout: Duration::from_secs(2),
            redis_allow_eviction: false,
            api_token_ttl: shared::API_TOKEN_TTL,
            policy_file: None,
            forward_headers: ForwardHeaders::Auto,
            issuer: None,
            audience: None,
            access_token_ttl: shared::ACCESS_TOKEN_TTL,
            refresh_token_ttl: shared::REFRESH_TOKEN_TTL,
            refresh_reuse_grace: shared::REFRESH_REUSE_GRACE,
            lenient_refresh_window: shared::LENIENT_REFRESH_WINDOW,
            login_limit_per_account: shared::LOGIN_LIMIT_PER_ACCOUNT,
            login_limit_per_account_ip: shared::LOGIN_LIMIT_PER_ACCOUNT_IP,
            login_limit_per_ip: shared::LOGIN_LIMIT_PER_IP,
            memory_max_counters: 100_000,
            login_limit_window: shared::LOGIN_LIMIT_WINDOW,
            signup_limit_per_ip: shared::SIGNUP_LIMIT_PER_IP,
            default_scopes: Vec::new(),
            scopes: Vec::new(),
            admin_grantable_scopes: Vec::new(),
            single_org: shared::SINGLE_ORG,
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
            login_code_ttl: shared::LOGIN_CODE_TTL,
            reauth_window: shared::REAUTH_WINDOW,
            reset_cleanup_window: shared::RESET_CLEANUP_WINDOW,
            login_code_signup: shared::LOGIN_CODE_SIGNUP,
            login_code_limit_per_email: shared::LOGIN_CODE_LIMIT_PER_EMAIL,
            login_code_limit_per_ip: shared::LOGIN_CODE_LIMIT_PER_IP,
            magic_link_url: None,
            password_reset_url: None,
            signup: shared::SIGNUP,
            verify_email_url: None,
            require_verified_email: shared::REQUIRE_VERIFIED_EMAIL,
            socket_check_interval: Duration::from_millis(500),
            audit_retention: Duration::from_secs(90 * 24 * 3600),
            audit_failed_login_rows_per_ip: shared::AUDIT_FAILED_LOGIN_ROWS_PER_IP,
            phone_sends_per_number: shared::PHONE_SENDS_PER_NUMBER,
            phone_sends_per_org: shared::PHONE_SENDS_PER_ORG,
            phone_send_window: shared::PHONE_SEND_WINDOW,
            product_name: "Latchkey".into(),
            accent_color: "#2f55d4".into(),
            web_session_idle: Duration::from_secs(12 * 3600),
            web_session_absolute: Duration::from_secs(7 * 24 * 3600),
        }
    }
}
