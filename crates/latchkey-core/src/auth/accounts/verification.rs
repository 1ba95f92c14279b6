//! Email verification: a link mailed at sign-up; a sign-in code proves the address too.

use std::time::Duration;

use crate::auth::publish::new_batch;
use crate::auth::{Auth, Principal};
use crate::domain::User;
use crate::error::{AuthError, AuthResult};
use crate::mail::{Mail, html_escape};
use crate::secret::{random_token, sha256_hex};

/// How long a verification link works.
pub const VERIFY_TTL: Duration = Duration::from_secs(24 * 3600);

/// A live verification link, as its page describes it.
#[derive(Debug, Clone)]
pub struct VerificationLink {
    /// The account's address (the link's holder reads that mailbox).
    pub email: String,
    /// Proven already: confirming changes nothing and takes nothing over.
    pub verified: bool,
    /// The browser's session is the account's own.
    pub own: bool,
}

/// Who presents a verification token besides the mailbox's owner.
enum Holder<'a> {
    /// The link alone.
    Mailbox,
    Password(&'a crate::secret::Secret),
    /// A user session (not an API token, not a narrowed token) of some account.
    Session(&'a Principal),
}

/// `session` is the user's own, full sign-in to `user_id`.
fn holds_session_of(session: &Principal, user_id: &str) -> bool {
    session.require_session().is_ok() && session.user_id == user_id
}

impl Auth {
    /// Mails a verification link. Best effort: the account stands when the mail cannot go
    /// (the user can still prove the address with a sign-in code).
    pub(super) async fn send_verification(&self, user: &User) {
        if let Err(e) = self.try_send_verification(user).await {
            tracing::warn!(user_id = %user.id, error = %e, "verification mail not sent");
        }
    }

    pub(super) async fn try_send_verification(&self, user: &User) -> AuthResult<()> {
        let token = format!("lkv_{}", random_token::<32>());
        let now = self.clock.now_ms();
        let base = &self.settings.verify_email_url;
        let sep = if base.contains('?') { '&' } else { '?' };
        let link = format!("{base}{sep}token={token}");
        self.mail(Mail {
            to: user.email.clone(),
            subject: "Confirm your email address".into(),
            text: format!(
                "Open this link to confirm your address:\n{link}\n\nOr use this token: \
                 {token}\n\nIt works once, for 24 hours.\n"
            ),
            html: format!(
                "<p><a href=\"{href}\">Confirm your email address</a></p>\
                 <p>It works once, for 24 hours.</p>",
                href = html_escape(&link)
            ),
            dev_log: Some("email verification link written to the outbox".into()),
        })
        .await?;
        self.db
            .insert_email_verification(
                &sha256_hex(token.as_bytes()),
                &user.id,
                now,
                now + VERIFY_TTL.as_millis() as i64,
            )
            .await
    }

    /// What the page of a verification link shows before anything is spent: whose address,
    /// whether it is proven already, and whether `signed_in` (the user of the browser's
    /// session) is that account. Reading spends nothing: mail scanners open links first.
    pub async fn verification_link(
        &self,
        token: &str,
        signed_in: Option<&Principal>,
    ) -> AuthResult<VerificationLink> {
        let user = self.verification_user(token).await?;
        Ok(VerificationLink {
            own: signed_in.is_some_and(|p| holds_session_of(p, &user.id)),
            email: user.email,
            verified: user.email_verified,
        })
    }

    /// `POST /auth/email/verify`. The link alone proves the mailbox, not that its holder set
    /// the account up: on an unproven account it takes the account over (everything set up
    /// before goes). With the account's password too, the person who signed up confirms their
    /// own address and keeps what they set up; a wrong password spends nothing and is counted
    /// like a login.
    pub async fn verify_email(
        &self,
        token: &str,
        password: Option<&crate::secret::Secret>,
        client: &crate::auth::ClientInfo,
    ) -> AuthResult<()> {
        let holder = match password {
            Some(password) => Holder::Password(password),
            None => Holder::Mailbox,
        };
        self.verify_email_by(token, holder, client).await
    }

    /// The verification page's button in a browser signed in to the very account: its user
    /// session came from the account's password (an unproven account has no other way in), so
    /// it proves what the password would, and the person keeps what they set up. Another
    /// account's session proves nothing here: `invalid_credentials`, and the token stays.
    pub async fn verify_email_in_session(
        &self,
        token: &str,
        session: &Principal,
        client: &crate::auth::ClientInfo,
    ) -> AuthResult<()> {
        self.verify_email_by(token, Holder::Session(session), client)
            .await
    }

    async fn verification_user(&self, token: &str) -> AuthResult<User> {
        let id = sha256_hex(token.trim().as_bytes());
        let user_id = self
            .db
            .email_verification_user(&id, self.clock.now_ms())
            .await?
            .ok_or(AuthError::InvalidVerificationToken)?;
        self.db
            .user_by_id(&user_id)
            .await?
            .ok_or(AuthError::InvalidVerificationToken)
    }

    async fn verify_email_by(
        &self,
        token: &str,
        holder: Holder<'_>,
        client: &crate::auth::ClientInfo,
    ) -> AuthResult<()> {
        let id = sha256_hex(token.trim().as_bytes());
        let now = self.clock.now_ms();
        let user = self.verification_user(token).await?;
        let user_id = user.id.clone();
        let keeps = match holder {
            // Already proven: nothing to take over, the password does not matter.
            _ if user.email_verified => true,
            Holder::Session(session) => {
                if !holds_session_of(session, &user_id) {
                    return Err(AuthError::InvalidCredentials);
                }
                true
            }
            Holder::Password(password) => {
                self.take_attempt(
                    &format!("password:user:{user_id}"),
                    self.settings.login_limit_per_account,
                )
                .await?;
                let stored = self.db.password_hash_of(&user_id).await?;
                if !self.hasher.verify(password, stored.as_deref()).await? {
                    return Err(AuthError::InvalidCredentials);
                }
                true
            }
            Holder::Mailbox => false,
        };
        if !keeps && !user.email_verified && !user.disabled {
            // The takeover removes every pending link, this one included.
            if self.take_over(&user, "link", client).await? {
                return Ok(());
            }
        }
        let batch = new_batch();
        // The holder of the mailed link proves the mailbox: the account's owner.
        let entry = self
            .audit_user_to_be(client, crate::auth::AuditEvent::EmailVerified)
            .detail("method", "link");
        self.db
            .spend_email_verification(&id, now, &batch, entry)
            .await?
            .ok_or(AuthError::InvalidVerificationToken)?;
        // `/me` reads the flag from the cached record.
        self.flush(&batch).await
    }

    /// A mailed code reached the mailbox (or a provider vouched for it): the address is proven. The sign-in goes on when the
    /// record cannot be published now (the outbox retry does it; `/me` lags until then).
    pub(in crate::auth) async fn mark_verified(
        &self,
        user: &mut User,
        now: i64,
        client: &crate::auth::ClientInfo,
        method: &str,
    ) -> AuthResult<()> {
        let batch = new_batch();
        let verified = self
            .audit_as(&user.id, client, crate::auth::AuditEvent::EmailVerified)
            .detail("method", method);
        if self
            .db
            .mark_email_verified(&user.id, now, &batch, &[verified])
            .await?
        {
            let _ = self.flush(&batch).await;
            user.version += 1;
        }
        user.email_verified = true;
        Ok(())
    }

    /// Refuses a login before a session opens when verified addresses are required.
    pub(in crate::auth) async fn require_verified(&self, user_id: &str) -> AuthResult<()> {
        if self.settings.require_verified_email && !self.db.email_verified(user_id).await? {
            return Err(AuthError::EmailNotVerified);
        }
        Ok(())
    }
}
