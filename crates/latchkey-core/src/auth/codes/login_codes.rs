//! Passwordless sign-in: a one-time code (and a magic link carrying it) sent by mail.

use rand::Rng;

use super::lockout::Target;
use crate::auth::audit::AuditEvent;
use crate::auth::{Auth, ClientInfo, LoginOutcome};
use crate::error::{AuthError, AuthResult};
use crate::input::Email;
use crate::mail::{Mail, html_escape};
use crate::secret::{ct_eq, hmac_b64};

/// Wrong guesses a login allows, the right one included.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

/// `POST /auth/code`: the login to verify and how long its code lives.
#[derive(Debug, Clone)]
pub struct CodeSent {
    pub login_id: String,
    pub expires_in_secs: u64,
}

impl Auth {
    /// Sends a code to `email`. Known and unknown addresses get the same answer in the same
    /// time; a known one gets the mail at its stored address, an unknown one only when a
    /// verified code may sign it up.
    pub async fn send_login_code(&self, email: &str, client: &ClientInfo) -> AuthResult<CodeSent> {
        let email = Email::parse(email).map_err(|_| AuthError::InvalidEmail)?;
        self.count_code_sent(&email, client).await?;
        let login_id = uuid::Uuid::new_v4().simple().to_string();
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
        let now = self.clock.now_ms();
        let ttl = self.settings.login_code_ttl;
        // Known or not, the same work before the answer: the mail is queued, and the queue
        // decides (after the answer) whether and where it goes.
        let mail = self.code_mail(email.as_str(), &login_id, &code, ttl.as_secs() / 60);
        self.queue_mail(super::outgoing::Outgoing::LoginCode {
            mail,
            email_normalized: email.normalized().to_owned(),
            may_sign_up: self.code_may_sign_up(),
        })
        .await?;
        self.db
            .insert_login_code(
                &login_id,
                email.as_str(),
                email.normalized(),
                &self.code_hash(&login_id, &code),
                now,
                now + ttl.as_millis() as i64,
            )
            .await?;
        Ok(CodeSent {
            login_id,
            expires_in_secs: ttl.as_secs(),
        })
    }

    /// Spends a login's code and opens a session; an unknown address is signed up (a new
    /// organization, as its admin) when the setting allows. Every failure looks the same.
    pub async fn verify_login_code(
        &self,
        login_id: &str,
        code: &str,
        mfa_code: Option<&str>,
        client: &ClientInfo,
    ) -> AuthResult<LoginOutcome> {
        let well_formed = login_id.len() == 32 && login_id.bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            return Err(AuthError::InvalidSessionCode);
        }
        let now = self.clock.now_ms();
        // Counted like passwords, per IP and then per account across all its logins, before
        // the code is compared: a login's own tries bound one code, these bound the sprays.
        let charge = self.charge_ip(client).await?;
        let row = self
            .db
            .attempt_login_code(login_id, now, MAX_CODE_ATTEMPTS)
            .await?
            .ok_or(AuthError::InvalidSessionCode)?;
        let found = self.db.user_by_email(&row.email_normalized).await?;
        let target = match &found {
            Some(f) => Target::Account(&f.user.id),
            None => Target::Address(&row.email_normalized),
        };
        let charge = self.charge_target(charge, target, client).await?;
        let expected = self.code_hash(login_id, code.trim());
        if !ct_eq(expected.as_bytes(), row.code_hash.as_bytes()) {
            // A wrong code is a failed login of the account the address names (if any).
            let mut entry = self
                .audit_anonymous(client, AuditEvent::LoginFailed)
                .detail("method", "code")
                .detail("reason", "bad_code");
            entry = match &found {
                Some(f) => entry.subject(&f.user.id).org(&f.user.org_id),
                None => entry.detail(
                    "account_ref",
                    crate::auth::audit::account_ref(&self.ref_key, &row.email_normalized),
                ),
            };
            self.record(entry).await;
            return Err(AuthError::InvalidSessionCode);
        }
        // Only wrong codes use up tries: the MFA step sends this one again.
        self.db.refund_login_code_attempt(login_id).await?;
        // A sign-in with a second factor took two counted requests (code, then code + factor).
        let mut steps = 1;
        // An account whose address was never proven: this code proves it, and the account
        // is taken over below. Its second factor, like everything else set up on it, was set
        // up by whoever created it and is not asked for.
        let claims = found
            .as_ref()
            .is_some_and(|f| !f.user.email_verified && !f.user.disabled);
        if let Some(found) = &found
            && !claims
            && self.mfa_enabled(&found.user.id).await?
        {
            let Some(mfa_code) = mfa_code else {
                return Ok(LoginOutcome::MfaRequired { mfa_token: None });
            };
            steps = 2;
            let used = self
                .db
                .attempt_login_mfa(login_id, now, crate::auth::MAX_MFA_ATTEMPTS)
                .await?
                .ok_or(AuthError::InvalidSessionCode)?;
            let recovery = self.audit_as(&found.user.id, client, AuditEvent::MfaRecoveryCodeUsed);
            if !self
                .check_second_factor(&found.user.id, mfa_code, recovery)
                .await?
            {
                if used >= crate::auth::MAX_MFA_ATTEMPTS {
                    // Out of tries: the login is dead.
                    self.db.spend_login_code(login_id, now).await?;
                }
                self.record_mfa_failure(&found.user.id, client, "code")
                    .await;
                return Err(AuthError::InvalidMfaCode {
                    attempts_left: Some((crate::auth::MAX_MFA_ATTEMPTS - used).max(0) as u32),
                });
            }
        }
        if !self.db.spend_login_code(login_id, now).await? {
            return Err(AuthError::InvalidSessionCode);
        }
        match found {
            Some(mut found) => {
                let uid = found.user.id.clone();
                if found.user.disabled {
                    let entry = self
                        .audit_anonymous(client, AuditEvent::LoginFailed)
                        .subject(&uid)
                        .detail("method", "code")
                        .detail("reason", "disabled");
                    self.record(entry).await;
                    return Err(AuthError::AccountDisabled);
                }
                if claims && !self.take_over(&found.user, "code", client).await? {
                    // Proven meanwhile by another way in, which may have kept a second
                    // factor this login did not ask for: sign in again.
                    return Err(AuthError::InvalidSessionCode);
                }
                if claims {
                    found.user = self
                        .db
                        .user_by_id(&uid)
                        .await?
                        .ok_or(AuthError::InvalidSessionCode)?;
                }
                // The code reached the mailbox: the address is proven.
                self.mark_verified(&mut found.user, now, client, "code")
                    .await?;
                self.relieve(&charge, steps).await?;
                let grant = self.open_session(found.user.into(), client).await?;
                let entry = self
                    .audit_as(&uid, client, AuditEvent::LoginSucceeded)
                    .detail("method", "code")
                    .detail("session_id", grant.session_id.clone());
                self.record(entry).await;
                Ok(LoginOutcome::Signed(grant))
            }
            None if self.code_may_sign_up() => {
                self.relieve(&charge, steps).await?;
                let (mut user, key) = self.register_verified(&row.email, client).await?;
                self.mark_verified(&mut user, now, client, "code").await?;
                let mut grant = self.open_session(user.into(), client).await?;
                grant.api_key = Some(key);
                Ok(LoginOutcome::Signed(grant))
            }
            None => Err(AuthError::InvalidSessionCode),
        }
    }

    /// Counts one code mailed to `email`: per client address (an IPv6 client by its /64)
    /// first, as for logins, so one client cannot grow a counter per made-up address; then
    /// per address.
    async fn count_code_sent(&self, email: &Email, client: &ClientInfo) -> AuthResult<()> {
        if let Some(ip) = client.ip_bucket() {
            self.take_attempt(
                &format!("code:ip:{ip}"),
                self.settings.login_code_limit_per_ip,
            )
            .await?;
        }
        self.take_attempt(
            &format!("code:email:{}", email.normalized()),
            self.settings.login_code_limit_per_email,
        )
        .await?;
        Ok(())
    }

    /// Mails a code proving `email` for a sign-up through a provider that does not vouch for
    /// the address; counted like sign-in codes. The code is a sign-in code like any other
    /// (whoever receives it holds the mailbox); its login id is returned.
    pub(in crate::auth) async fn send_address_code(
        &self,
        email: &Email,
        client: &ClientInfo,
    ) -> AuthResult<String> {
        self.count_code_sent(email, client).await?;
        let login_id = uuid::Uuid::new_v4().simple().to_string();
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
        let now = self.clock.now_ms();
        let ttl = self.settings.login_code_ttl;
        let minutes = ttl.as_secs() / 60;
        self.mail(Mail {
            to: email.as_str().to_owned(),
            subject: "Confirm your email address".into(),
            text: format!(
                "Your code to confirm this address is {code}\n\nEnter it to finish signing up. \
                 It works once and expires in {minutes} minutes. If you did not ask for it, \
                 ignore this mail.\n"
            ),
            html: format!(
                "<p>Your code to confirm this address is <strong>{code}</strong></p>\
                 <p>Enter it to finish signing up. It works once and expires in {minutes} \
                 minutes. If you did not ask for it, ignore this mail.</p>"
            ),
            dev_log: Some(format!("address code {code} for login {login_id}")),
        })
        .await?;
        self.db
            .insert_login_code(
                &login_id,
                email.as_str(),
                email.normalized(),
                &self.code_hash(&login_id, &code),
                now,
                now + ttl.as_millis() as i64,
            )
            .await?;
        Ok(login_id)
    }

    /// Spends the code of `send_address_code` for `email_normalized`; wrong codes use up the
    /// login's tries (5), as for sign-in codes.
    pub(in crate::auth) async fn check_address_code(
        &self,
        login_id: &str,
        code: &str,
        email_normalized: &str,
    ) -> AuthResult<()> {
        let now = self.clock.now_ms();
        let row = self
            .db
            .attempt_login_code(login_id, now, MAX_CODE_ATTEMPTS)
            .await?
            .ok_or(AuthError::InvalidSessionCode)?;
        let expected = self.code_hash(login_id, code.trim());
        if !ct_eq(expected.as_bytes(), row.code_hash.as_bytes())
            || row.email_normalized != email_normalized
        {
            return Err(AuthError::InvalidSessionCode);
        }
        if !self.db.spend_login_code(login_id, now).await? {
            return Err(AuthError::InvalidSessionCode);
        }
        Ok(())
    }

    /// Whether a verified code may create an account for an unknown address.
    fn code_may_sign_up(&self) -> bool {
        self.settings.login_code_signup && self.settings.signup == crate::auth::SignupMode::Open
    }

    /// Keyed, so a copy of the table does not give the six digits away to a brute force.
    pub(in crate::auth) fn code_hash(&self, login_id: &str, code: &str) -> String {
        hmac_b64(&self.code_key, format!("{login_id}:{code}").as_bytes())
    }

    fn code_mail(&self, to: &str, login_id: &str, code: &str, minutes: u64) -> Mail {
        let base = &self.settings.magic_link_url;
        let sep = if base.contains('?') { '&' } else { '?' };
        let link = format!("{base}{sep}login_id={login_id}&code={code}");
        Mail {
            to: to.to_owned(),
            subject: "Your sign-in code".into(),
            text: format!(
                "Your sign-in code is {code}\n\nOr open this link to sign in:\n{link}\n\n\
                 The code works once and expires in {minutes} minutes. If you did not ask \
                 for it, ignore this mail.\n"
            ),
            html: format!(
                "<p>Your sign-in code is <strong>{code}</strong></p>\
                 <p><a href=\"{href}\">Sign in</a></p>\
                 <p>The code works once and expires in {minutes} minutes. If you did not ask \
                 for it, ignore this mail.</p>",
                href = html_escape(&link)
            ),
            dev_log: Some(format!("sign-in code {code} for login {login_id}")),
        }
    }
}
