//! Hosted sign-in for apps: a person signs in on Latchkey's own pages (any way, every factor),
//! and the app receives a one-time code on its redirect, which it exchanges at
//! `POST /auth/exchange` exactly like the code of a provider sign-in (same hand-off table,
//! same lifetime, same PKCE check). The app's session is a session of its own: signing out of
//! the pages does not end it.

use super::sign_in::{Exchanged, HANDOFF_TTL_MS, Payload};
use crate::auth::audit::AuditEvent;
use crate::auth::{Auth, ClientInfo, Principal};
use crate::error::{AuthError, AuthResult};

/// A PKCE S256 challenge: base64url of a SHA-256, 43 characters.
pub fn valid_code_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Auth {
    /// The one-time code handing the caller's sign-in to an app. The caller must be a user's
    /// own session (the pages' web session); `code_challenge` is the app's PKCE challenge,
    /// required: the code travels in a URL.
    pub async fn hosted_sign_in_code(
        &self,
        caller: &Principal,
        code_challenge: &str,
    ) -> AuthResult<String> {
        caller.require_session()?;
        if !valid_code_challenge(code_challenge) {
            return Err(AuthError::invalid_field(
                "code_challenge",
                "must be an S256 challenge (43 base64url characters)",
            ));
        }
        let payload = Payload::Hosted {
            user_id: caller.user_id.clone(),
        };
        self.put_code(&payload, Some(code_challenge), HANDOFF_TTL_MS)
            .await
    }

    /// `exchange_code` of a hosted sign-in: a new session for the app.
    pub(super) async fn exchange_hosted(
        &self,
        user_id: &str,
        client: &ClientInfo,
    ) -> AuthResult<Exchanged> {
        let invalid = AuthError::ExternalLogin("the code is invalid, expired or already used");
        let user = self.db.user_by_id(user_id).await?.ok_or(invalid)?;
        if user.disabled {
            return Err(AuthError::AccountDisabled);
        }
        let grant = self.open_session(user.into(), client).await?;
        let entry = self
            .audit_as(user_id, client, AuditEvent::LoginSucceeded)
            .detail("method", "hosted")
            .detail("session_id", grant.session_id.clone());
        self.record(entry).await;
        Ok(Exchanged::Signed(Box::new(grant)))
    }
}
