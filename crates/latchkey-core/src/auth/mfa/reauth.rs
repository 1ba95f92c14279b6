//! Recent re-authentication: a stolen access token (15 minutes) must not turn into a lasting
//! takeover, so changes that add a way in or remove a protection need a credential proved in
//! this session within `reauth_window`, read from the database (the truth) on every call.
//! Each such change also mails a notice to the account's address, sent in the background.

use crate::auth::audit::AuditEvent;
use crate::auth::{Auth, Principal};
use crate::error::{AuthError, AuthResult};
use crate::mail::{Mail, html_escape};
use crate::secret::{Secret, ct_eq};

/// What the person proves at `POST /auth/reauthenticate`.
pub enum Proof {
    Password(Secret),
    /// A current TOTP code or an unused recovery code.
    SecondFactor(String),
    /// A code mailed by `POST /auth/code` to the account's own address.
    MailedCode {
        login_id: String,
        code: String,
    },
}

/// A key that can do more than read: any scope that does not end in `:read`. A key that
/// follows its owner's scopes counts with the owner's scopes of now.
pub fn beyond_read(scopes: &[String]) -> bool {
    scopes.iter().any(|s| !s.ends_with(":read"))
}

impl Auth {
    /// Records that the caller proved a credential now; answers until when it counts (ms).
    pub async fn reauthenticate(&self, caller: &Principal, proof: Proof) -> AuthResult<i64> {
        let sid = caller.require_session()?;
        let uid = caller.user_id.as_str();
        match proof {
            Proof::Password(password) => {
                // Counted like logins: a stolen session cannot guess the password freely.
                self.take_attempt(
                    &format!("password:user:{uid}"),
                    self.settings.login_limit_per_account,
                )
                .await?;
                let stored = self.db.password_hash_of(uid).await?;
                if !self.hasher.verify(&password, stored.as_deref()).await? {
                    return Err(AuthError::InvalidCredentials);
                }
            }
            Proof::SecondFactor(code) => {
                self.take_attempt(
                    &format!("mfa:user:{uid}"),
                    self.settings.login_limit_per_account,
                )
                .await?;
                let recovery = self
                    .audit_by(caller, AuditEvent::MfaRecoveryCodeUsed)
                    .subject(uid);
                if !self.check_second_factor(uid, &code, recovery).await? {
                    return Err(AuthError::InvalidMfaCode {
                        attempts_left: None,
                    });
                }
            }
            Proof::MailedCode { login_id, code } => {
                self.spend_code_of(uid, &login_id, &code).await?
            }
        }
        if !self.db.set_reauth(sid, self.clock.now_ms()).await? {
            return Err(AuthError::InvalidToken(crate::error::TokenProblem::Revoked));
        }
        tracing::info!(user_id = %uid, "re-authenticated");
        Ok(self.clock.now_ms() + self.settings.reauth_window.as_millis() as i64)
    }

    /// A mailed sign-in code, when it was sent to this user's own address.
    async fn spend_code_of(&self, uid: &str, login_id: &str, code: &str) -> AuthResult<()> {
        let well_formed = login_id.len() == 32 && login_id.bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            return Err(AuthError::InvalidSessionCode);
        }
        let now = self.clock.now_ms();
        let row = self
            .db
            .attempt_login_code(login_id, now, crate::auth::MAX_CODE_ATTEMPTS)
            .await?
            .ok_or(AuthError::InvalidSessionCode)?;
        let expected = self.code_hash(login_id, code.trim());
        let owner = self.db.user_by_email(&row.email_normalized).await?;
        // One answer for a wrong code and a code of another address.
        if !ct_eq(expected.as_bytes(), row.code_hash.as_bytes())
            || owner.is_none_or(|o| o.user.id != uid)
        {
            return Err(AuthError::InvalidSessionCode);
        }
        if !self.db.spend_login_code(login_id, now).await? {
            return Err(AuthError::InvalidSessionCode);
        }
        Ok(())
    }

    /// Refuses a sensitive change unless the caller's session proved a credential within
    /// `reauth_window`. Read from the database on every call: a revocation or a clock on
    /// another instance cannot stretch it.
    pub async fn require_recent_auth(&self, caller: &Principal) -> AuthResult<()> {
        let sid = caller.require_session()?;
        let Some((owner, at)) = self.db.session_auth_time(sid).await? else {
            return Err(AuthError::InvalidToken(crate::error::TokenProblem::Revoked));
        };
        let window = self.settings.reauth_window.as_millis() as i64;
        if owner != caller.user_id || self.clock.now_ms() - at > window {
            return Err(AuthError::ReauthenticationRequired);
        }
        Ok(())
    }

    /// Mails `what` happened to the account's address, in the background: the change stands
    /// and answers at once, whether or not the mail server is quick (or up).
    pub(in crate::auth) async fn notify_change(&self, user_id: &str, what: &str) {
        let to = match self.db.user_by_id(user_id).await {
            Ok(Some(user)) => user.email,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(%user_id, error = %e, "security notice not sent");
                return;
            }
        };
        self.notify_address(&to, user_id, what);
    }

    /// `notify_change` to a given address (one the account had before a change).
    pub(in crate::auth) fn notify_address(&self, to: &str, user_id: &str, what: &str) {
        let text = format!(
            "{what}\n\nIf this was you, nothing else is needed. If it was not, reset your \
             password at once: a reset signs out every session and removes what was set up \
             recently.\n"
        );
        let html = format!(
            "<p>{}</p><p>If this was you, nothing else is needed. If it was not, reset your \
             password at once: a reset signs out every session and removes what was set up \
             recently.</p>",
            html_escape(what)
        );
        self.mail_in_background(
            Mail {
                to: to.to_owned(),
                subject: "Security notice: your account changed".into(),
                text,
                html,
                dev_log: None,
            },
            user_id,
        );
    }

    /// Sends `mail` from a spawned task; a failure is logged, never answered.
    pub(in crate::auth) fn mail_in_background(&self, mail: Mail, user_id: &str) {
        let Some(mailer) = self.mailer.clone() else {
            return;
        };
        let user_id = user_id.to_owned();
        tokio::spawn(async move {
            if let Err(e) = mailer.send(mail).await {
                tracing::warn!(%user_id, error = %e, "security notice not sent");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::beyond_read;

    #[test]
    fn only_read_scopes_are_read() {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for (scopes, beyond) in [
            (v(&[]), false),
            (v(&["orders:read"]), false),
            (v(&["orders:read", "billing:read"]), false),
            (v(&["orders:write"]), true),
            (v(&["orders:read", "orders:write"]), true),
            (v(&["admin"]), true),
            (v(&["orders:reader"]), true),
            (v(&["read"]), true),
        ] {
            assert_eq!(beyond_read(&scopes), beyond, "{scopes:?}");
        }
    }
}
