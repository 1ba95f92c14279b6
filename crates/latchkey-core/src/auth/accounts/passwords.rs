//! Changing a password, and resetting a forgotten one by mail.

use std::time::Duration;

use crate::auth::audit::AuditEvent;
use crate::auth::social::Replaced;
use crate::auth::{Auth, ClientInfo, Principal};
use crate::error::{AuthError, AuthResult};
use crate::input::Email;
use crate::mail::{Mail, html_escape};
use crate::password::check_policy;
use crate::secret::{Secret, random_token, sha256_hex};

/// How long a mailed reset link works.
pub const RESET_TTL: Duration = Duration::from_secs(30 * 60);

impl Auth {
    /// A signed-in user's new password; their other sessions end, and so do earlier reset
    /// links (with `remove_recent`, what was set up lately too: see `after_password_replaced`).
    /// The current password is the re-authentication.
    pub async fn change_password(
        &self,
        caller: &Principal,
        current: &Secret,
        new: &Secret,
        remove_recent: bool,
    ) -> AuthResult<()> {
        let sid = caller.require_session()?;
        // Counted like logins: a stolen session cannot guess the current password freely.
        self.take_lock_attempt(
            &format!("password:user:{}", caller.user_id),
            self.settings.login_limit_per_account,
        )
        .await?;
        let stored = self.db.password_hash_of(&caller.user_id).await?;
        if !self.hasher.verify(current, stored.as_deref()).await? {
            return Err(AuthError::InvalidCredentials);
        }
        let rec = self.user_record(&caller.user_id).await?;
        check_policy(new.expose(), &rec.email.to_lowercase())?;
        let hash = self.hasher.hash(new).await?;
        let entry = self
            .audit_by(caller, AuditEvent::PasswordChanged)
            .subject(&caller.user_id);
        self.db
            .set_password_hash(&caller.user_id, &hash, &[entry])
            .await?;
        self.end_other_sessions(&caller.user_id, sid, "password-changed")
            .await?;
        tracing::info!(user_id = %caller.user_id, "password changed");
        let removed = self
            .after_password_replaced(
                &caller.user_id,
                Replaced::Change,
                remove_recent,
                &self.audit_by(caller, AuditEvent::PasswordChanged),
            )
            .await?;
        self.notify_change(
            &caller.user_id,
            &format!(
                "Your password was changed and your other sessions were signed out. {removed}"
            ),
        )
        .await;
        Ok(())
    }

    /// Mails a reset link to an existing account; every valid address gets the same answer,
    /// in the same time.
    pub async fn forgot_password(&self, email: &str, client: &ClientInfo) -> AuthResult<()> {
        let email = Email::parse(email).map_err(|_| AuthError::InvalidEmail)?;
        if let Some(ip) = client.ip_bucket() {
            self.take_attempt(
                &format!("reset:ip:{ip}"),
                self.settings.login_code_limit_per_ip,
            )
            .await?;
        }
        self.take_attempt(
            &format!("reset:email:{}", email.normalized()),
            self.settings.login_code_limit_per_email,
        )
        .await?;
        // Known or not, the same work before the answer: the account is looked up, the link
        // stored and the mail sent by the queue, after the answer.
        let token = format!("lkp_{}", random_token::<32>());
        let base = &self.settings.password_reset_url;
        let sep = if base.contains('?') { '&' } else { '?' };
        let link = format!("{base}{sep}token={token}");
        let minutes = RESET_TTL.as_secs() / 60;
        let mail = Mail {
            // Set by the queue to the account's stored address.
            to: String::new(),
            subject: "Reset your password".into(),
            text: format!(
                "Open this link to choose a new password:\n{link}\n\nOr use this reset \
                 token: {token}\n\nIt works once, for {minutes} minutes. If you did not ask \
                 for it, ignore this mail: your password stays as it is.\n"
            ),
            html: format!(
                "<p><a href=\"{href}\">Choose a new password</a></p>\
                 <p>It works once, for {minutes} minutes. If you did not ask for it, ignore \
                 this mail: your password stays as it is.</p>",
                href = html_escape(&link)
            ),
            dev_log: Some(format!("password reset token {token}")),
        };
        self.queue_mail(crate::auth::codes::Outgoing::Reset {
            mail,
            token_hash: sha256_hex(token.as_bytes()),
            email_normalized: email.normalized().to_owned(),
            expires_in_ms: RESET_TTL.as_millis() as i64,
        })
        .await?;
        Ok(())
    }

    /// The address a live reset token belongs to, for its page (a password manager saves the
    /// new password under it). Reading spends nothing: mail scanners open links first.
    pub async fn reset_link(&self, token: &str) -> AuthResult<String> {
        let id = sha256_hex(token.trim().as_bytes());
        let user_id = self
            .db
            .password_reset_user(&id, self.clock.now_ms())
            .await?
            .ok_or(AuthError::InvalidResetToken)?;
        let user = self
            .db
            .user_by_id(&user_id)
            .await?
            .ok_or(AuthError::InvalidResetToken)?;
        Ok(user.email)
    }

    /// Sets the new password from a mailed token, ends every session of the user (and with
    /// them their refresh tokens), and mails a notice.
    pub async fn reset_password(
        &self,
        token: &str,
        new: &Secret,
        remove_recent: bool,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let id = sha256_hex(token.trim().as_bytes());
        let now = self.clock.now_ms();
        let user_id = self
            .db
            .password_reset_user(&id, now)
            .await?
            .ok_or(AuthError::InvalidResetToken)?;
        let user = self
            .db
            .user_by_id(&user_id)
            .await?
            .ok_or(AuthError::InvalidResetToken)?;
        // The policy first: a refused password leaves the token usable.
        check_policy(new.expose(), &user.email.to_lowercase())?;
        let hash = self.hasher.hash(new).await?;
        if !self.db.spend_password_reset(&id, now).await? {
            return Err(AuthError::InvalidResetToken);
        }
        // The link proved the mailbox: an account whose address was never proven is the
        // link holder's, without what was set up on it before (see `take_over`).
        if !user.email_verified && !user.disabled {
            self.take_over(&user, "password_reset", client).await?;
        }
        // Whoever holds the mailed link: the owner of the mailbox, not a signed-in user.
        let entry = self
            .audit_anonymous(client, AuditEvent::PasswordReset)
            .subject(&user_id);
        self.db.set_password_hash(&user_id, &hash, &[entry]).await?;
        self.revoke_all_sessions(&user_id, "password-reset", None)
            .await?;
        // The mailbox's owner set a new password: an attacker's failures no longer lock them out.
        self.clear_lock(&user_id, client).await?;
        tracing::info!(user_id = %user_id, "password reset");
        // Earlier reset links end, and every API key (whoever had the password may have made
        // them); with `remove_recent`, recent links and second factors go too.
        let removed = self
            .after_password_replaced(
                &user_id,
                Replaced::Reset,
                remove_recent,
                &self.audit_anonymous(client, AuditEvent::PasswordReset),
            )
            .await?;
        let notice = Mail {
            to: user.email.clone(),
            subject: "Your password was changed".into(),
            text: format!(
                "Your password was just reset and every session was signed out. {removed}\n\n\
                 If this was not you, reset it again at once and contact your administrator.\n"
            ),
            html: format!(
                "<p>Your password was just reset and every session was signed out. {}</p>\
                 <p>If this was not you, reset it again at once and contact your \
                 administrator.</p>",
                html_escape(&removed)
            ),
            dev_log: None,
        };
        // The reset stands even when the notice cannot be sent.
        if let Err(e) = self.mail(notice).await {
            tracing::warn!(user_id = %user_id, error = %e, "password-reset notice not sent");
        }
        Ok(())
    }
}
