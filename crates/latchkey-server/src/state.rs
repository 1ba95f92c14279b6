//! What every handler shares: the domain, the configuration and the server's own parts, built
//! once by `app::build` and handed out as `AppState`.

use std::sync::Arc;

use latchkey_core::Auth;

use crate::config::Config;
use crate::policy::PolicyStore;

pub struct App {
    pub auth: Auth,
    pub config: Config,
    pub policy: Arc<PolicyStore>,
    /// `config.trusted_proxies`, parsed once.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Keys the account references in logs (see `latchkey_core::audit::account_ref`).
    pub log_key: Vec<u8>,
    /// Sign-in through external OpenID providers.
    pub oidc: latchkey_core::oidc::Oidc,
    /// Sends phone verification codes.
    pub sms: latchkey_core::sms::SmsSender,
    /// Signs the pages' session cookies and form tokens (`web::session`, `web::csrf`).
    pub web_key: Vec<u8>,
    /// Set at shutdown: open WebSockets close with 1001 (the server loop no longer owns them).
    pub closing: tokio::sync::watch::Sender<bool>,
}

pub type AppState = Arc<App>;
