//! The token rules and limits (`Settings`) and their defaults. Each field is named like the
//! server's setting it comes from (the TOML key, `LATCHKEY_<NAME>` in the environment), and
//! each default is written once, in `defaults`, which the server's defaults table reuses.

use std::time::Duration;

use super::SignupMode;

/// The defaults of the settings the domain reads, one constant per setting, named like it.
pub mod defaults {
    use std::time::Duration;

    use crate::auth::SignupMode;

    pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
    pub const REFRESH_TOKEN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
    pub const REFRESH_REUSE_GRACE: Duration = Duration::from_secs(10);
    pub const LENIENT_REFRESH_WINDOW: Duration = Duration::from_secs(10 * 60);
    pub const LOGIN_LIMIT_PER_ACCOUNT: u32 = 50;
    pub const LOGIN_LIMIT_PER_ACCOUNT_IP: u32 = 10;
    pub const LOGIN_LIMIT_PER_IP: u32 = 100;
    pub const LOGIN_LIMIT_WINDOW: Duration = Duration::from_secs(15 * 60);
    pub const SIGNUP_LIMIT_PER_IP: u32 = 50;
    pub const SINGLE_ORG: bool = false;
    pub const API_TOKEN_TTL: Duration = Duration::from_secs(3600);
    pub const LOGIN_CODE_TTL: Duration = Duration::from_secs(600);
    pub const LOGIN_CODE_SIGNUP: bool = true;
    pub const LOGIN_CODE_LIMIT_PER_EMAIL: u32 = 5;
    pub const LOGIN_CODE_LIMIT_PER_IP: u32 = 20;
    pub const SIGNUP: SignupMode = SignupMode::Open;
    pub const REQUIRE_VERIFIED_EMAIL: bool = false;
    pub const AUDIT_FAILED_LOGIN_ROWS_PER_IP: u32 = 20;
    pub const PHONE_SENDS_PER_NUMBER: u32 = 5;
    pub const PHONE_SENDS_PER_ORG: u32 = 50;
    pub const PHONE_SEND_WINDOW: Duration = Duration::from_secs(24 * 3600);
    pub const REAUTH_WINDOW: Duration = Duration::from_secs(5 * 60);
    pub const RESET_CLEANUP_WINDOW: Duration = Duration::from_secs(24 * 3600);

    /// `<issuer>/login`.
    pub fn magic_link_url(issuer: &str) -> String {
        format!("{}/login", issuer.trim_end_matches('/'))
    }

    /// `<issuer>/reset-password`.
    pub fn password_reset_url(issuer: &str) -> String {
        format!("{}/reset-password", issuer.trim_end_matches('/'))
    }

    /// `<issuer>/verify-email`.
    pub fn verify_email_url(issuer: &str) -> String {
        format!("{}/verify-email", issuer.trim_end_matches('/'))
    }
}

/// The token rules and limits, already validated by the configuration layer.
#[derive(Debug, Clone)]
pub struct Settings {
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// How long the immediate parent of the current refresh token is still answered with the
    /// current pair (lost responses, parallel tabs). Capped at 5 minutes.
    pub refresh_reuse_grace: Duration,
    /// How long after expiry an access token may still be exchanged once for a new one;
    /// zero turns the lenient refresh off.
    pub lenient_refresh_window: Duration,
    /// Failed sign-in steps per account per window, from every client without a device
    /// token together; 0 = off.
    pub login_limit_per_account: u32,
    /// Failed sign-in steps per account from one client address (or one known device).
    pub login_limit_per_account_ip: u32,
    pub login_limit_per_ip: u32,
    pub login_limit_window: Duration,
    pub signup_limit_per_ip: u32,
    /// Scopes a new user starts with; all in the catalogue.
    pub default_scopes: Vec<String>,
    /// The scope catalogue: every scope that may be granted or honoured; empty means none.
    pub scopes: Vec<String>,
    /// Catalogue scopes an organization admin may grant (besides `default_scopes`); every
    /// other catalogue scope only an operator grants.
    pub admin_grantable_scopes: Vec<String>,
    /// Sign-ups without a referral code join the deployment's one organization as members
    /// (the first one founds it and is its admin).
    pub single_org: bool,
    /// Lifetime of an API auth token, slid back to full on every use.
    pub api_token_ttl: Duration,
    /// How long a mailed sign-in code lives.
    pub login_code_ttl: Duration,
    /// Whether a verified code for an unknown address signs it up.
    pub login_code_signup: bool,
    /// Codes sent per address, and per client IP, per `login_limit_window`; 0 = off.
    pub login_code_limit_per_email: u32,
    pub login_code_limit_per_ip: u32,
    /// The sign-in page a magic link opens, with `login_id` and `code` in its query.
    pub magic_link_url: String,
    /// The page a password-reset link opens, with `token` in its query.
    pub password_reset_url: String,
    /// Who may create an account by themselves.
    pub signup: SignupMode,
    /// The page a verification link opens, with `token` in its query.
    pub verify_email_url: String,
    /// Refuse logins of accounts whose address is not verified.
    pub require_verified_email: bool,
    /// Rows of refused logins one client IP may open in the audit log per
    /// `login_limit_window` (see `failures`); 0 = no cap.
    pub audit_failed_login_rows_per_ip: u32,
    /// Text messages per destination number, and per organization, per `phone_send_window`;
    /// 0 = off.
    pub phone_sends_per_number: u32,
    pub phone_sends_per_org: u32,
    pub phone_send_window: Duration,

    /// How long a proof of a credential in a session allows sensitive changes.
    pub reauth_window: Duration,
    /// What a password change or reset removes as "set up recently"; zero: nothing.
    pub reset_cleanup_window: Duration,
}

impl Settings {
    pub const MAX_REUSE_GRACE: Duration = Duration::from_secs(300);

    /// The defaults, for `issuer` (also the audience).
    pub fn for_issuer(issuer: &str) -> Settings {
        use defaults as d;
        Settings {
            issuer: issuer.to_owned(),
            audience: issuer.to_owned(),
            access_token_ttl: d::ACCESS_TOKEN_TTL,
            refresh_token_ttl: d::REFRESH_TOKEN_TTL,
            refresh_reuse_grace: d::REFRESH_REUSE_GRACE,
            lenient_refresh_window: d::LENIENT_REFRESH_WINDOW,
            login_limit_per_account: d::LOGIN_LIMIT_PER_ACCOUNT,
            login_limit_per_account_ip: d::LOGIN_LIMIT_PER_ACCOUNT_IP,
            login_limit_per_ip: d::LOGIN_LIMIT_PER_IP,
            login_limit_window: d::LOGIN_LIMIT_WINDOW,
            signup_limit_per_ip: d::SIGNUP_LIMIT_PER_IP,
            default_scopes: Vec::new(),
            scopes: Vec::new(),
            admin_grantable_scopes: Vec::new(),
            single_org: d::SINGLE_ORG,
            api_token_ttl: d::API_TOKEN_TTL,
            login_code_ttl: d::LOGIN_CODE_TTL,
            login_code_signup: d::LOGIN_CODE_SIGNUP,
            login_code_limit_per_email: d::LOGIN_CODE_LIMIT_PER_EMAIL,
            login_code_limit_per_ip: d::LOGIN_CODE_LIMIT_PER_IP,
            magic_link_url: d::magic_link_url(issuer),
            password_reset_url: d::password_reset_url(issuer),
            signup: d::SIGNUP,
            verify_email_url: d::verify_email_url(issuer),
            require_verified_email: d::REQUIRE_VERIFIED_EMAIL,
            audit_failed_login_rows_per_ip: d::AUDIT_FAILED_LOGIN_ROWS_PER_IP,
            phone_sends_per_number: d::PHONE_SENDS_PER_NUMBER,
            phone_sends_per_org: d::PHONE_SENDS_PER_ORG,
            phone_send_window: d::PHONE_SEND_WINDOW,
            reauth_window: d::REAUTH_WINDOW,
            reset_cleanup_window: d::RESET_CLEANUP_WINDOW,
        }
    }
}
