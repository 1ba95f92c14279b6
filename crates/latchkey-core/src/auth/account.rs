//! Sign-up and password login.

use super::{Auth, ClientInfo, CreatedKey, Grant, NewApiKey};
use crate::error::{AuthError, AuthResult};
use crate::input::{Email, Phone, parse_name};
use crate::password::check_policy;
use crate::secret::Secret;
use crate::state::RetryAfter;
use crate::store::{NewUser, Role, User};

pub struct Signup {
    pub email: String,
    pub password: Secret,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub referral_code: Option<String>,
}

impl Auth {
    /// Creates an account and opens its first session. Without a referral code the user
    /// founds an organization and is its admin; with one they join it as a member (seed 002).
    pub async fn signup(&self, req: Signup, client: &ClientInfo) -> AuthResult<Grant> {
        if let Some(ip) = &client.ip {
            // Sign-ups are where referral codes could be guessed and accounts mass-created.
            self.take_attempt(
                &format!("signup:ip:{ip}"),
                self.settings.signup_limit_per_ip,
            )
            .await?;
        }
        let (user, key) = self.register(req).await?;
        let mut grant = self.open_session(user.into(), client).await?;
        grant.api_key = Some(key);
        Ok(grant)
    }

    /// The account itself: validated input, the organization rule, the password hash, and
    /// (seed 002) a default API key, shown once.
    async fn register(&self, req: Signup) -> AuthResult<(User, CreatedKey)> {
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
        let org_name = format!(
            "{}'s organization",
            name.as_deref().unwrap_or(email.as_str())
        );
        let (user, _org) = self
            .db
            .create_user(
                NewUser {
                    email: email.as_str(),
                    email_normalized: email.normalized(),
                    name: name.as_deref(),
                    phone: phone.as_ref().map(Phone::as_str),
                    password_hash: Some(&hash),
                    scopes: &self.settings.default_scopes,
                    referral_code: referral.as_deref(),
                    new_org_name: &org_name,
                },
                self.clock.now_ms(),
            )
            .await?;
        tracing::info!(user_id = %user.id, org_id = %user.org_id, role = user.role.as_str(), "user signed up");
        let key = self
            .create_key_for(
                &user.id,
                NewApiKey {
                    name: "default".into(),
                    scopes: None,
                    expires_at: None,
                },
            )
            .await?;
        Ok((user, key))
    }

    /// Email + password. Attempts are counted per IP, then per account, *before* the password
    /// is checked, so a burst of parallel guesses cannot all be evaluated. Only accounts that
    /// exist get a counter: made-up addresses must not grow the store (unknown ones still cost
    /// a dummy hash, so timing does not tell them apart). Sign-up answers `email_taken`
    /// anyway, so the per-account limit reveals nothing new.
    pub async fn login(
        &self,
        email: &str,
        password: &Secret,
        client: &ClientInfo,
    ) -> AuthResult<Grant> {
        // A malformed address cannot match an account: same answer as a wrong password.
        let email = Email::parse(email).map_err(|_| AuthError::InvalidCredentials)?;
        let ip_key = client.ip.as_ref().map(|ip| format!("login:ip:{ip}"));
        if let Some(ip_key) = &ip_key {
            self.take_attempt(ip_key, self.settings.login_limit_per_ip)
                .await?;
        }
        let user = self.db.user_by_email(email.normalized()).await?;
        let account_key = user
            .as_ref()
            .map(|_| format!("login:acct:{}", email.normalized()));
        if let Some(account_key) = &account_key
            && let Err(e) = self
                .take_attempt(account_key, self.settings.login_limit_per_account)
                .await
        {
            if let Some(ip_key) = &ip_key {
                self.state.give_back(ip_key).await?;
            }
            return Err(e);
        }
        let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
        if !self.hasher.verify(password, stored).await? {
            tracing::info!("login failed");
            return Err(AuthError::InvalidCredentials);
        }
        let (Some(user), Some(account_key)) = (user, account_key) else {
            return Err(AuthError::InvalidCredentials);
        };
        self.state.reset(&account_key).await?;
        if let Some(ip_key) = &ip_key {
            self.state.give_back(ip_key).await?;
        }
        if user.disabled {
            return Err(AuthError::AccountDisabled);
        }
        self.open_session(user.into(), client).await
    }

    async fn take_attempt(&self, key: &str, limit: u32) -> AuthResult<()> {
        match self
            .state
            .take(key, limit, self.settings.login_window)
            .await?
        {
            Ok(()) => Ok(()),
            Err(RetryAfter(retry_after)) => Err(AuthError::RateLimited { retry_after }),
        }
    }
}

impl Auth {
    /// `latchkey users create`: the sign-up rules without a session or rate limit; `admin`
    /// also promotes a user who joins by referral.
    pub async fn create_user_cli(&self, req: Signup, admin: bool) -> AuthResult<User> {
        let (mut user, _key) = self.register(req).await?;
        if admin && user.role != Role::Admin {
            let batch = super::publish::new_batch();
            self.db
                .set_user_role(&user.id, Role::Admin, self.clock.now_ms(), &batch)
                .await?;
            self.flush(&batch).await?;
            user.role = Role::Admin;
        }
        Ok(user)
    }
}
