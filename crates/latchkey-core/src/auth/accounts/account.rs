//! Sign-up and password login.

use crate::auth::audit::{AuditEntry, AuditEvent};
use crate::auth::codes::Target;
use crate::auth::{Auth, ClientInfo, CreatedKey, Grant, NewApiKey};
use crate::domain::{Role, User};
use crate::error::{AuthError, AuthResult};
use crate::input::{Email, Phone, parse_name};
use crate::password::check_policy;
use crate::secret::Secret;
use crate::store::NewUser;

/// How a login with the right password ends. Only tokens today; more outcomes (a second factor
/// asked for) will come, so callers must handle ones they do not know by refusing.
#[derive(Debug)]
#[non_exhaustive]
// Not boxed: one value per login, and callers on other branches match `Signed(grant)`.
#[expect(
    clippy::large_enum_variant,
    reason = "one value per login; callers match `Signed(grant)` by value"
)]
pub enum LoginOutcome {
    /// A new session and its tokens.
    Signed(Grant),
    /// The password (or mailed code) was right and the account asks for a second factor:
    /// a password login gets a token for `/auth/mfa/verify`; a code login sends its code again
    /// with the second factor.
    MfaRequired { mfa_token: Option<Secret> },
}

/// Who may create an account by themselves (`latchkey users create` always may).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignupMode {
    /// Anyone; without a referral code they found an organization.
    #[default]
    Open,
    /// Only with an organization's referral code.
    Invite,
    /// Nobody.
    Closed,
}

pub struct Signup {
    pub email: String,
    pub password: Secret,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub referral_code: Option<String>,
}

impl Signup {
    /// The input rules of sign-up (email, name, phone, password policy), checked without
    /// touching storage: `latchkey users create` runs them before it makes up a password.
    pub fn check(&self) -> AuthResult<()> {
        let email = Email::parse(&self.email)?;
        parse_name(self.name.as_deref())?;
        self.phone.as_deref().map(Phone::parse).transpose()?;
        check_policy(self.password.expose(), email.as_str())
    }
}

impl Auth {
    /// Creates an account and opens its first session. Without a referral code the user
    /// founds an organization and is its admin (in single-organization mode: joins the one
    /// organization as a member, the very first user founding it); with one they join it as a
    /// member.
    pub async fn signup(&self, req: Signup, client: &ClientInfo) -> AuthResult<Grant> {
        if let Some(ip) = client.ip_bucket() {
            // Sign-ups are where referral codes could be guessed and accounts mass-created.
            self.take_attempt(
                &format!("signup:ip:{ip}"),
                self.settings.signup_limit_per_ip,
            )
            .await?;
        }
        self.signup_allowed(req.referral_code.as_deref())?;
        let entry = self
            .audit_user_to_be(client, AuditEvent::UserSignedUp)
            .detail("method", "password");
        let (user, key) = self.register(req, entry).await?;
        self.send_verification(&user).await;
        self.require_verified(&user.id).await?;
        let mut grant = self.open_session(user.into(), client).await?;
        grant.api_key = Some(key);
        Ok(grant)
    }

    /// `LATCHKEY_SIGNUP`: whether someone may create an account by themselves, with this
    /// referral code or none. Every way of signing up asks (a password, a provider).
    pub(in crate::auth) fn signup_allowed(&self, referral_code: Option<&str>) -> AuthResult<()> {
        match self.settings.signup {
            SignupMode::Open => Ok(()),
            SignupMode::Closed => Err(AuthError::Forbidden("sign-up is closed")),
            SignupMode::Invite if referral_code.is_some_and(|c| !c.trim().is_empty()) => Ok(()),
            SignupMode::Invite => Err(AuthError::Forbidden(
                "sign-up needs an invitation: send the organization's referral_code",
            )),
        }
    }

    /// The account itself: validated input, the organization rule, the password hash, and a
    /// default API key, shown once.
    async fn register(&self, req: Signup, signed_up: AuditEntry) -> AuthResult<(User, CreatedKey)> {
        let email = Email::parse(&req.email)?;
        let name = parse_name(req.name.as_deref())?;
        let phone = req.phone.as_deref().map(Phone::parse).transpose()?;
        check_policy(req.password.expose(), email.as_str())?;
        let referral = req
            .referral_code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_uppercase);
        let hash = self.hasher.hash(&req.password).await?;
        self.create_account(
            NewUser {
                email: email.as_str(),
                email_normalized: email.normalized(),
                name: name.as_deref(),
                phone: phone.as_ref().map(Phone::as_str),
                password_hash: Some(&hash),
                scopes: &self.settings.default_scopes,
                referral_code: referral.as_deref(),
                new_org_name: "",
                identity: None,
            },
            signed_up,
        )
        .await
    }

    /// A passwordless account for an address a mailed code just proved: it founds an
    /// organization and is its admin, as a sign-up without referral does.
    pub(in crate::auth) async fn register_verified(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> AuthResult<(User, CreatedKey)> {
        let email = Email::parse(email)?;
        let entry = self
            .audit_user_to_be(client, AuditEvent::UserSignedUp)
            .detail("method", "code");
        self.create_account(
            NewUser {
                email: email.as_str(),
                email_normalized: email.normalized(),
                name: None,
                phone: None,
                password_hash: None,
                scopes: &self.settings.default_scopes,
                referral_code: None,
                new_org_name: "",
                identity: None,
            },
            entry,
        )
        .await
    }

    /// Stores the user (with a new organization when there is no referral) and its default
    /// API key. `new_org_name` is filled in here. `signed_up` (`user.signed_up` with its
    /// method) is completed with the user, whether they joined by referral, and their role;
    /// the new user is its actor unless one is set (the operator).
    pub(in crate::auth) async fn create_account(
        &self,
        new: NewUser<'_>,
        signed_up: AuditEntry,
    ) -> AuthResult<(User, CreatedKey)> {
        let org_name = format!("{}'s organization", new.name.unwrap_or(new.email));
        let new = NewUser {
            new_org_name: &org_name,
            ..new
        };
        let signed_up = signed_up.detail("referral", new.referral_code.is_some());
        let key_entry = AuditEntry {
            event: AuditEvent::ApiKeyCreated,
            detail: Default::default(),
            ..signed_up.clone()
        };
        let (user, _org) = self
            .db
            .create_user(
                new,
                self.clock.now_ms(),
                signed_up,
                self.settings.single_org,
            )
            .await?;
        let mut key_entry = key_entry;
        if key_entry.actor_kind == crate::auth::ActorKind::User {
            key_entry.actor_id.get_or_insert_with(|| user.id.clone());
        }
        tracing::info!(user_id = %user.id, org_id = %user.org_id, role = user.role.as_str(), "user signed up");
        let key = self
            .create_key_for(
                &user.id,
                NewApiKey {
                    name: "default".into(),
                    scopes: None,
                    expires_at: None,
                },
                key_entry,
            )
            .await?;
        Ok((user, key))
    }

    /// Email + password. Attempts are counted per IP, then per account (`lockout`), *before*
    /// the password is checked, so a burst of parallel guesses cannot all be evaluated. Only
    /// accounts that exist get a counter: made-up addresses must not grow the store (unknown
    /// ones still cost a dummy hash, so timing does not tell them apart). Sign-up answers
    /// `email_taken` anyway, so the per-account limit reveals nothing new.
    pub async fn login(
        &self,
        email: &str,
        password: &Secret,
        client: &ClientInfo,
    ) -> AuthResult<LoginOutcome> {
        self.login_by(email, password, client, "password").await
    }

    /// `login`, audited as `method` (`password`, `oauth_password`): a success, or a failure
    /// with its reason. An unknown address is named by its keyed reference, never stored.
    pub(in crate::auth) async fn login_by(
        &self,
        email: &str,
        password: &Secret,
        client: &ClientInfo,
        method: &str,
    ) -> AuthResult<LoginOutcome> {
        let mut found = None;
        let result = self
            .login_checked(email, password, client, &mut found)
            .await;
        match &result {
            Ok(LoginOutcome::Signed(grant)) => {
                let entry = self
                    .audit_as(&grant.user.id, client, AuditEvent::LoginSucceeded)
                    .detail("method", method)
                    .detail("session_id", grant.session_id.clone());
                self.record(entry).await;
            }
            // The second step is audited when it succeeds or fails.
            Ok(_) => {}
            Err(e) => {
                self.record_login_failure(e, found.as_ref(), email, client, method)
                    .await
            }
        }
        result
    }

    /// A refused login, with the reason an operator needs; infrastructure faults are not
    /// login failures and are left out. A per-account lockout also records `account.locked`,
    /// once per window (a one-slot counter decides, on every instance alike).
    async fn record_login_failure(
        &self,
        e: &AuthError,
        found: Option<&User>,
        email: &str,
        client: &ClientInfo,
        method: &str,
    ) {
        let reason = match (e, found) {
            (AuthError::InvalidCredentials, Some(_)) => "bad_credentials",
            (AuthError::InvalidCredentials, None) => "unknown_account",
            (AuthError::AccountDisabled, _) => "disabled",
            (AuthError::EmailNotVerified, _) => "email_not_verified",
            (AuthError::RateLimited { .. }, Some(_)) => "locked",
            (AuthError::RateLimited { .. }, None) => "rate_limited",
            _ => return,
        };
        let mut entry = self
            .audit_anonymous(client, AuditEvent::LoginFailed)
            .detail("method", method)
            .detail("reason", reason);
        match found {
            Some(user) => entry = entry.subject(&user.id).org(&user.org_id),
            None => {
                entry = entry.detail(
                    "account_ref",
                    crate::auth::audit::account_ref(&self.ref_key, email),
                )
            }
        }
        self.record(entry).await;
        if let (AuthError::RateLimited { .. }, Some(user)) = (e, found) {
            let once = self
                .state
                .take(
                    &format!("audit:locked:{}", user.id),
                    1,
                    self.settings.login_limit_window,
                )
                .await;
            if matches!(once, Ok(Ok(()))) {
                let entry = self
                    .audit_anonymous(client, AuditEvent::AccountLocked)
                    .subject(&user.id)
                    .org(&user.org_id)
                    .detail("window_seconds", self.settings.login_limit_window.as_secs());
                self.record(entry).await;
            }
        }
    }

    /// The checks of a password login; `found` is the account the address named, if any.
    async fn login_checked(
        &self,
        email: &str,
        password: &Secret,
        client: &ClientInfo,
        found: &mut Option<User>,
    ) -> AuthResult<LoginOutcome> {
        // A malformed address cannot match an account: same answer as a wrong password.
        let email = Email::parse(email).map_err(|_| AuthError::InvalidCredentials)?;
        // Per IP first: made-up emails must leave no per-account counters behind.
        let charge = self.charge_ip(client).await?;
        let row = self.db.user_by_email(email.normalized()).await?;
        *found = row.as_ref().map(|r| r.user.clone());
        // Only existing accounts are counted per account; unknown ones still pay the dummy hash.
        let charge = match &row {
            Some(row) => {
                self.charge_target(charge, Target::Account(&row.user.id), client)
                    .await?
            }
            None => charge,
        };
        let stored = row.as_ref().and_then(|r| r.password_hash.as_deref());
        if !self.hasher.verify(password, stored).await? {
            return Err(AuthError::InvalidCredentials);
        }
        let Some(row) = row else {
            return Err(AuthError::InvalidCredentials);
        };
        let checked = row.password_hash;
        let user = row.user;
        if user.disabled {
            return Err(AuthError::AccountDisabled);
        }
        self.require_verified(&user.id).await?;
        // The hash checked above must still be the account's: a takeover (or a reset) that
        // committed while it was being checked removed or replaced it.
        if self.db.password_hash_of(&user.id).await? != checked {
            return Err(AuthError::InvalidCredentials);
        }
        // The right password alone gives nothing back: the second factor's guesses are
        // counted in the same budgets, which a fresh challenge must not refill.
        if self.mfa_enabled(&user.id).await? {
            return self.mfa_challenge(&user.id).await;
        }
        self.relieve(&charge, 1).await?;
        let grant = self.open_session(user.into(), client).await?;
        Ok(LoginOutcome::Signed(grant))
    }
}

impl Auth {
    /// `latchkey users create`: the sign-up rules without a session or rate limit; `admin`
    /// also promotes a user who joins by referral. Returns the default API key (shown once).
    pub async fn create_user_cli(
        &self,
        req: Signup,
        admin: bool,
    ) -> AuthResult<(User, CreatedKey)> {
        let entry = self
            .audit_system(AuditEvent::UserSignedUp)
            .detail("method", "cli");
        let (mut user, key) = self.register(req, entry).await?;
        if admin && user.role != Role::Admin {
            let batch = crate::auth::publish::new_batch();
            let entry = self
                .audit_system(AuditEvent::MemberRoleChanged)
                .subject(&user.id)
                .detail("old", user.role.as_str())
                .detail("new", Role::Admin.as_str());
            self.db
                .set_user_role(&user.id, Role::Admin, self.clock.now_ms(), &batch, &[entry])
                .await?;
            self.flush(&batch).await?;
            user.role = Role::Admin;
        }
        Ok((user, key))
    }
}
