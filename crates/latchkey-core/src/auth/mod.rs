//! The authentication domain: accounts, sessions, and the token rules. Called by the HTTP layer
//! with parsed input; returns domain values and `AuthError`s.
//!
//! One `Auth` serves every route; its methods live in areas, each a folder whose `mod.rs` says
//! what it owns, what other areas may call (`pub(in crate::auth)`) and what it calls:
//! `accounts/`, `sessions/`, `api_keys/`, `social/`, `mfa/`, `codes/` and `audit/`. A helper
//! without `pub(in crate::auth)` is private to its area (`pub(super)`) or its file.
//! The files at this level are the shared base every area may use: `principal` (who calls),
//! `publish` (the outbox that writes records to the token store), `catalogue` and `scopes`
//! (which scopes exist and who may grant them), `settings`; and two thin surfaces over the
//! areas: `oauth` (token endpoint, revocation, introspection) and `operator` (deployment-wide
//! rights, signing-key rotation).

mod accounts;
pub mod api_keys;
pub mod audit;
mod catalogue;
mod codes;
mod mfa;
pub mod oauth;
pub mod operator;
mod principal;
mod publish;
pub mod scopes;
mod sessions;
mod settings;
pub mod social;

// The paths the server and the SDK tests name, from before the areas had folders.
pub use accounts::{account, phone, profile};
pub use codes::lockout;
pub use mfa::reauth;
pub use sessions::live;
pub use social::hosted;
pub use social::identities;

use std::sync::Arc;
use std::time::Duration;

pub use accounts::VerificationLink;
pub use accounts::{LoginOutcome, SignupMode};
pub use api_keys::MAX_ROTATION_OVERLAP;
pub use api_keys::{ApiKeyInfo, CreatedKey, MintedToken, NewApiKey};
pub use audit::{ActorKind, AuditEntry, AuditEvent, AuditPage, AuditQuery};
pub use catalogue::CatalogueScope;
pub use codes::{CodeSent, MAX_CODE_ATTEMPTS};
pub use live::{LiveEvent, LiveSession};
pub use mfa::{MAX_MFA_ATTEMPTS, TotpEnrollment};
pub use operator::{KeyRotator, KeyStatus, SigningKeyInfo};
pub use principal::{Credential, Principal};
pub use publish::PUBLISH_RETRY_EVERY;
pub use sessions::SessionInfo;
pub use settings::{Settings, defaults};

use crate::clock::Clock;
use crate::domain::{OrgProfile, User};
use crate::error::{AuthError, AuthResult};
use crate::jwt::Keyring;
use crate::password::PasswordHasher;
use crate::secret::Secret;
use crate::state::StateStore;
use crate::store::Db;
use api_keys::{TokenWrap, Touched};

/// Where a request came from, recorded on the session it opens.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The device token the client showed (`lockout`): a device that signed in before has a
    /// failure budget of its own.
    pub device: Option<Secret>,
}

/// `GET /me`: who is calling.
#[derive(Debug, Clone)]
pub struct Profile {
    pub user_id: String,
    pub email: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub org_id: String,
    /// `None` for an API token.
    pub role: Option<crate::domain::Role>,
    /// The user's scopes, or the key's effective scopes for an API token.
    pub scopes: Vec<String>,
    /// The key an API token was minted from.
    pub key_id: Option<String>,
    /// Whether the user proved their address.
    pub email_verified: bool,
}

/// What login, sign-up and refresh hand out.
#[derive(Debug, Clone)]
pub struct Grant {
    pub access_token: Secret,
    pub access_expires_at: i64,
    /// Absent for a lenient refresh: the client keeps its refresh token.
    pub refresh_token: Option<Secret>,
    /// Milliseconds since the epoch.
    pub refresh_expires_at: Option<i64>,
    pub session_id: String,
    pub user: Arc<User>,
    /// The default API key, shown once in the sign-up response.
    pub api_key: Option<CreatedKey>,
    /// A new sign-in's device token (`lockout`), for the client to show at its next sign-in.
    pub device_token: Option<Secret>,
}

pub struct Auth {
    db: Db,
    state: StateStore,
    /// Swapped whole when a key is added or retired (a fresh verified-token cache with it).
    keys: arc_swap::ArcSwap<Keyring>,
    keys_reloaded: sessions::ReloadThrottle,
    hasher: Arc<PasswordHasher>,
    clock: Clock,
    settings: Settings,
    /// Derives each refresh token from its parent, so a replay of the parent inside the grace
    /// can hand back the same child without the server storing any token.
    chain_key: Vec<u8>,
    wrap: TokenWrap,
    touched: Touched,
    revocations: sessions::Revocations,
    mailer: Option<crate::mail::Mailer>,
    /// Sign-in codes and reset links, sent after the answer (see `outgoing`).
    outgoing: Option<codes::MailQueue>,
    /// Open rows of refused logins, counted in memory between flushes.
    failures: audit::FailureLog,
    /// Keys the hashes of mailed codes.
    code_key: Vec<u8>,
    /// Keys the account references of the audit log (the same key as the logs' references,
    /// so one account's failures can be matched across both).
    ref_key: Vec<u8>,
    /// Revoked session ids, for open sockets: this instance's own and (with Redis) every
    /// other instance's.
    revoked_events: tokio::sync::broadcast::Sender<String>,
}

impl Auth {
    /// Loads keys and secrets (creating them on first start) and the recent revocations.
    pub async fn new(
        db: Db,
        state: StateStore,
        hasher: Arc<PasswordHasher>,
        clock: Clock,
        mut settings: Settings,
    ) -> anyhow::Result<Auth> {
        settings.refresh_reuse_grace = settings.refresh_reuse_grace.min(Settings::MAX_REUSE_GRACE);
        settings.check_scopes()?;
        db.protect_secrets_at_rest().await?;
        let mut state = state;
        // A record whose change was never published cannot outlive one access token.
        state.set_record_ttl(settings.access_token_ttl);
        let now = clock.now_ms();
        let keys = Keyring::new(
            &db.signing_keys(now).await?,
            &settings.issuer,
            &settings.audience,
        )?;
        let chain_key = db.server_secret("refresh_chain", now).await?;
        let wrap = TokenWrap::new(&db.server_secret("token_wrap", now).await?)?;
        let code_key = db.server_secret("login_code", now).await?;
        let ref_key = db.server_secret("log_account_ref", now).await?;
        let auth = Auth {
            db,
            state,
            keys: arc_swap::ArcSwap::from_pointee(keys),
            keys_reloaded: Default::default(),
            hasher,
            clock,
            settings,
            chain_key,
            wrap,
            touched: Touched::default(),
            revocations: Default::default(),
            mailer: None,
            outgoing: None,
            failures: Default::default(),
            code_key,
            ref_key,
            revoked_events: tokio::sync::broadcast::Sender::new(1024),
        };
        auth.rebuild_revocations().await?;
        Ok(auth)
    }

    /// Where mail goes; without one, flows that send mail fail.
    /// Starts the mail queue's workers: call on a Tokio runtime.
    pub fn with_mailer(mut self, mailer: crate::mail::Mailer) -> Auth {
        self.outgoing = Some(codes::MailQueue::start(
            self.db.clone(),
            self.clock.clone(),
            mailer.clone(),
        ));
        self.mailer = Some(mailer);
        self
    }

    /// Waits (at most `timeout`) until every queued mail was sent or given up: at shutdown,
    /// so what was queued is not lost. Whether the queue emptied.
    pub async fn mail_idle(&self, timeout: Duration) -> bool {
        match &self.outgoing {
            Some(queue) => queue.idle(timeout).await,
            None => true,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }
    pub fn clock(&self) -> &Clock {
        &self.clock
    }
    pub fn db(&self) -> &Db {
        &self.db
    }
    pub fn jwks(&self) -> serde_json::Value {
        self.keys().jwks()
    }

    /// The caller's own profile, as every instance currently sees it, from the cached record
    /// alone (no database read on this hot path). Scopes are the effective ones, those the
    /// caller's credential is honoured with: the catalogue's, within a narrowed grant's cap;
    /// for an API token the key's, with the owner's identity and no role (the token is not
    /// the user).
    pub async fn me(&self, caller: &Principal) -> AuthResult<Profile> {
        let rec = match &caller.record {
            Some(rec) => rec.as_ref().clone(),
            None => self.user_record(&caller.user_id).await?,
        };
        let key_id = caller.key_id().map(str::to_owned);
        let email_verified = match rec.email_verified {
            Some(verified) => verified,
            // A record written by an older build: only until it is rewritten.
            None => self.db.email_verified(&caller.user_id).await?,
        };
        Ok(Profile {
            user_id: caller.user_id.clone(),
            email: rec.email,
            name: rec.name,
            phone: rec.phone,
            org_id: rec.org_id,
            // The token's role: a narrowed token is no admin (see `authenticate_session`).
            role: key_id.is_none().then_some(caller.role),
            scopes: caller.scopes.clone(),
            key_id,
            email_verified,
        })
    }

    /// The caller's organization, to a user session only; the referral code only for its admins.
    pub async fn org(&self, caller: &Principal) -> AuthResult<OrgProfile> {
        caller.require_session()?;
        let org = self
            .db
            .org_by_id(&caller.org_id)
            .await?
            .ok_or(AuthError::NotFound("organization"))?;
        Ok(OrgProfile::for_role(org, caller.role))
    }

    pub fn state(&self) -> &StateStore {
        &self.state
    }

    pub async fn ready(&self) -> anyhow::Result<()> {
        self.db.ping().await?;
        self.state.ping().await
    }

    /// Deletes sessions that ended more than a refresh lifetime ago.
    pub async fn purge(&self) -> AuthResult<u64> {
        let before = self.clock.now_ms() - self.settings.refresh_token_ttl.as_millis() as i64;
        self.db.purge_sessions(before).await
    }
}
