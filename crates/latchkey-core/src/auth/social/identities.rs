//! The provider identities linked to an account, as their owner sees them and removes them;
//! and what a password change or reset removes (recent links, keys and second factors, and
//! every earlier reset link).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::auth::audit::{AuditEntry, AuditEvent};
use crate::auth::{Auth, Principal};
use crate::error::{AuthError, AuthResult};

/// A linked identity. `id` is opaque (the provider and its subject, encoded).
#[derive(Debug, Clone)]
pub struct LinkedIdentity {
    pub id: String,
    pub provider: String,
    pub email: Option<String>,
    pub linked_at: i64,
}

/// Why a password was replaced: a reset ends every API key, a change only recent ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    Change,
    Reset,
}

fn identity_id(provider: &str, subject: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{provider}\n{subject}"))
}

fn parse_identity_id(id: &str) -> Option<(String, String)> {
    let raw = URL_SAFE_NO_PAD.decode(id).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (p, s) = text.split_once('\n')?;
    Some((p.to_owned(), s.to_owned()))
}

impl Auth {
    pub async fn identities(&self, caller: &Principal) -> AuthResult<Vec<LinkedIdentity>> {
        caller.require_session()?;
        let rows = self.db.identities_of(&caller.user_id).await?;
        Ok(rows
            .into_iter()
            .map(|r| LinkedIdentity {
                id: identity_id(&r.provider, &r.subject),
                provider: r.provider,
                email: r.email,
                linked_at: r.created_at,
            })
            .collect())
    }

    /// Removes a link (after a recent re-authentication); never the last way to sign in.
    pub async fn unlink_identity(&self, caller: &Principal, id: &str) -> AuthResult<()> {
        self.require_recent_auth(caller).await?;
        let (provider, subject) = parse_identity_id(id).ok_or(AuthError::NotFound("identity"))?;
        let entry = self
            .audit_by(caller, AuditEvent::IdentityUnlinked)
            .subject(&caller.user_id)
            .detail("provider", provider.clone())
            .detail("by", "account");
        if !self
            .db
            .unlink_identity(&caller.user_id, &provider, &subject, &[entry])
            .await?
        {
            return Err(AuthError::NotFound("identity"));
        }
        tracing::info!(user_id = %caller.user_id, %provider, "identity unlinked");
        self.notify_change(
            &caller.user_id,
            &format!("The sign-in through {provider} was removed from your account."),
        )
        .await;
        Ok(())
    }

    /// After a password change or reset: ends every unused reset link; with `remove_recent`,
    /// removes provider links, API keys and the second factor set up within
    /// `reset_cleanup_window` (someone who had the account may have added their own way
    /// back in); a reset also ends every API key. Returns a sentence for the notice mail.
    /// `by` names who replaced the password (its event is replaced per removal), so each
    /// removal is recorded with that actor and client address.
    pub(in crate::auth) async fn after_password_replaced(
        &self,
        user_id: &str,
        why: Replaced,
        remove_recent: bool,
        by: &AuditEntry,
    ) -> AuthResult<String> {
        let entry = |event: AuditEvent| {
            let mut e = by.clone();
            e.event = event;
            e.detail.clear();
            e.subject(user_id)
        };
        let now = self.clock.now_ms();
        self.db.end_password_resets(user_id, now).await?;
        let window = self.settings.reset_cleanup_window.as_millis() as i64;
        let recent = remove_recent && window > 0;
        let since = now - window;
        let mut removed = Vec::new();
        let keys = self.db.api_keys_of(user_id).await?;
        let mut ended_keys = 0;
        for key in keys {
            if why == Replaced::Reset || (recent && key.created_at >= since) {
                let entry = entry(AuditEvent::ApiKeyDeleted)
                    .detail("key_id", key.id.clone())
                    .detail("reason", "password-replaced");
                self.delete_api_key(user_id, &key.id, entry).await?;
                ended_keys += 1;
            }
        }
        if ended_keys > 0 {
            removed.push(format!("{ended_keys} API key(s)"));
        }
        if recent {
            let gone = self.db.remove_recent_sign_ins(user_id, since, &[]).await?;
            for provider in &gone.identities {
                let entry = entry(AuditEvent::IdentityUnlinked)
                    .detail("provider", provider.clone())
                    .detail("by", "password-replaced");
                self.record(entry).await;
                removed.push(format!("the sign-in through {provider}"));
            }
            if gone.totp {
                let entry = entry(AuditEvent::MfaTotpDisabled).detail("by", "password-replaced");
                self.record(entry).await;
                removed.push("two-factor authentication".to_owned());
            }
        }
        Ok(if removed.is_empty() {
            String::new()
        } else {
            format!("Removed with it: {}.", removed.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_ids_round_trip_and_junk_is_none() {
        let id = identity_id("microsoft", "tenant:oid/with\nodd chars");
        assert_eq!(
            parse_identity_id(&id),
            Some(("microsoft".into(), "tenant:oid/with\nodd chars".into()))
        );
        for junk in ["", "!!", "bm9wZQ", "%00"] {
            assert_eq!(parse_identity_id(junk), None, "{junk:?}");
        }
    }
}
