//! Email verification: a link mailed at sign-up; a sign-in code proves the address too.

use std::time::Duration;

use crate::auth::Auth;
use crate::auth::publish::new_batch;
use crate::domain::User;
use crate::error::{AuthError, AuthResult};
use crate::mail::{Mail, html_escape};
use crate::secret::{random_token, sha256_hex};

/// How long a verification link works.
pub const VERIFY_TTL: Duration = Duration::from_secs(24 * 3600);

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
        let id = sha256_hex(token.trim().as_bytes());
        let now = self.clock.now_ms();
        let user_id = self
            .db
            .email_verification_user(&id, now)
            .await?
            .ok_or(AuthError::InvalidVerificationToken)?;
        let user = self
            .db
            .user_by_id(&user_id)
            .await?
            .ok_or(AuthError::InvalidVerificationToken)?;
        let keeps = match password {
            // Already proven: nothing to take over, the password does not matter.
            _ if user.email_verified => true,
            Some(password) => {
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
            None => false,
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
