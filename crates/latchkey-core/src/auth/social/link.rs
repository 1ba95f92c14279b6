//! Linking a provider to a signed-in account: a ticket bound to the asking browser and
//! session, a confirmation page, and only then the link.

use super::sign_in::{HANDOFF_TTL_MS, Payload, SIGNUP_STEP_TTL_MS};
use crate::auth::{Auth, ClientInfo};
use crate::error::{AuthError, AuthResult};
use crate::oidc::{ExternalIdentity, LinkAsker};
use crate::secret::{ct_eq, random_token, sha256_hex};
use crate::store::NewIdentity;

/// What the link confirmation page shows, and the token its form posts back.
#[derive(Debug)]
pub struct PendingLink {
    pub confirm_token: String,
    pub account_email: String,
    pub provider: String,
    pub identity_email: Option<String>,
}

impl Auth {
    /// A one-time ticket (2 minutes) for the browser to start linking `provider` to the
    /// caller's account, after a recent re-authentication: a browser navigation cannot carry
    /// the access token itself. The ticket is bound to the browser that asked for it: the
    /// second value goes into a cookie of that browser only (`/start` needs it), so a link
    /// URL sent to someone else links nothing.
    pub async fn link_ticket(
        &self,
        caller: &crate::auth::Principal,
        provider: &str,
    ) -> AuthResult<(String, String)> {
        self.require_recent_auth(caller).await?;
        let sid = caller.require_session()?;
        let binding = random_token::<32>();
        let payload = Payload::LinkTicket {
            user_id: caller.user_id.clone(),
            provider: provider.to_owned(),
            binding: Some(sha256_hex(binding.as_bytes())),
            session_id: Some(sid.to_owned()),
        };
        let ticket = self.put_code(&payload, None, HANDOFF_TTL_MS).await?;
        Ok((ticket, binding))
    }

    /// The user a link ticket was made for and the session that asked, when `binding` is the
    /// cookie of the browser that asked for it and that session still lives; the ticket is
    /// used up either way.
    pub async fn take_link_ticket(
        &self,
        ticket: &str,
        provider: &str,
        binding: Option<&str>,
    ) -> AuthResult<LinkAsker> {
        let invalid =
            || AuthError::ExternalLogin("the link ticket is invalid, expired or already used");
        let handoff = self
            .db
            .take_handoff(&sha256_hex(ticket.as_bytes()))
            .await?
            .ok_or_else(invalid)?;
        match serde_json::from_str::<Payload>(&handoff.payload) {
            Ok(Payload::LinkTicket {
                user_id,
                provider: p,
                binding: Some(expected),
                session_id: Some(session_id),
            }) if p == provider && handoff.expires_at > self.clock.now_ms() => {
                if !bound_to(binding, &expected) {
                    return Err(AuthError::ExternalLogin(
                        "this link was asked for in another browser: open it in the browser \
                         where you are signed in and asked for it",
                    ));
                }
                self.require_link_session(&user_id, &session_id).await?;
                Ok(LinkAsker {
                    user_id,
                    session_id,
                })
            }
            _ => Err(invalid()),
        }
    }

    /// After the provider's sign-in of a link: nothing is linked yet. Returns what the
    /// confirmation page shows and the one-time token its form posts back (10 minutes),
    /// bound to the same browser cookie.
    pub async fn pending_link(
        &self,
        asker: &LinkAsker,
        who: &ExternalIdentity,
        redirect_to: &str,
        binding: Option<&str>,
    ) -> AuthResult<PendingLink> {
        let binding = binding.ok_or(AuthError::ExternalLogin(
            "this link was asked for in another browser",
        ))?;
        let user_id = asker.user_id.as_str();
        self.require_link_session(user_id, &asker.session_id)
            .await?;
        if let Some(owner) = self
            .db
            .identity_user(&who.provider, &who.claims.subject)
            .await?
            && owner != user_id
        {
            return Err(AuthError::Conflict(
                "this sign-in is already linked to another account",
            ));
        }
        let account = self
            .db
            .user_by_id(user_id)
            .await?
            .ok_or(AuthError::ExternalLogin("the account is gone"))?;
        let payload = Payload::LinkConfirm {
            user_id: user_id.to_owned(),
            provider: who.provider.clone(),
            subject: who.claims.subject.clone(),
            email: who.claims.email.clone(),
            redirect_to: redirect_to.to_owned(),
            binding: sha256_hex(binding.as_bytes()),
            session_id: asker.session_id.clone(),
        };
        let token = self.put_code(&payload, None, SIGNUP_STEP_TTL_MS).await?;
        Ok(PendingLink {
            confirm_token: token,
            account_email: account.email,
            provider: who.provider.clone(),
            identity_email: who.claims.email.clone(),
        })
    }

    /// The person confirmed on the page: links the identity (in the browser that asked, with
    /// the token of that page). Answers where the browser goes next.
    pub async fn confirm_link(
        &self,
        token: &str,
        provider: &str,
        binding: Option<&str>,
        client: &ClientInfo,
    ) -> AuthResult<String> {
        let LinkConfirmed {
            user_id,
            provider: p,
            subject,
            email,
            redirect_to,
            session_id,
        } = self.take_link_confirm(token, provider, binding).await?;
        self.require_link_session(&user_id, &session_id).await?;
        match self.db.identity_user(&p, &subject).await? {
            Some(owner) if owner == user_id => return Ok(redirect_to),
            Some(_) => {
                return Err(AuthError::Conflict(
                    "this sign-in is already linked to another account",
                ));
            }
            None => {}
        }
        let identity = NewIdentity {
            provider: &p,
            subject: &subject,
            email: email.as_deref(),
        };
        let entry = self
            .audit_as(&user_id, client, crate::auth::AuditEvent::IdentityLinked)
            .detail("provider", p.clone())
            .detail("by", "account");
        self.db
            .link_identity(&identity, &user_id, self.clock.now_ms(), &[entry])
            .await?;
        tracing::info!(%user_id, provider = %p, "identity linked from the account");
        let shown = email.as_deref().unwrap_or("an account");
        self.notify_change(
            &user_id,
            &format!("A sign-in through {p} ({shown}) was linked to your account."),
        )
        .await;
        Ok(redirect_to)
    }

    /// The person refused the link on the page: the token is spent, nothing is linked.
    pub async fn cancel_link(
        &self,
        token: &str,
        provider: &str,
        binding: Option<&str>,
    ) -> AuthResult<String> {
        Ok(self
            .take_link_confirm(token, provider, binding)
            .await?
            .redirect_to)
    }

    /// Spends the confirmation page's token; what it holds when it is for `provider`,
    /// unexpired, and posted by the browser it was made for.
    async fn take_link_confirm(
        &self,
        token: &str,
        provider: &str,
        binding: Option<&str>,
    ) -> AuthResult<LinkConfirmed> {
        let invalid =
            || AuthError::ExternalLogin("the confirmation is invalid, expired or already used");
        let handoff = self
            .db
            .take_handoff(&sha256_hex(token.as_bytes()))
            .await?
            .ok_or_else(invalid)?;
        match serde_json::from_str::<Payload>(&handoff.payload) {
            Ok(Payload::LinkConfirm {
                user_id,
                provider: p,
                subject,
                email,
                redirect_to,
                binding: expected,
                session_id,
            }) if p == provider
                && handoff.expires_at > self.clock.now_ms()
                && bound_to(binding, &expected) =>
            {
                Ok(LinkConfirmed {
                    user_id,
                    provider: p,
                    subject,
                    email,
                    redirect_to,
                    session_id,
                })
            }
            _ => Err(invalid()),
        }
    }

    /// A link goes through only while the session that asked for it lives: ending it (a
    /// logout, a password reset, a takeover of the account) ends the links it started.
    async fn require_link_session(&self, user_id: &str, session_id: &str) -> AuthResult<()> {
        let live = self.db.session(session_id).await?.is_some_and(|row| {
            row.user_id == user_id
                && row.revoked_at.is_none()
                && row.expires_at > self.clock.now_ms()
        });
        if live {
            Ok(())
        } else {
            Err(AuthError::ExternalLogin(
                "the session that asked for this link has ended: sign in and ask again",
            ))
        }
    }
}

/// What a confirmation page's token held.
struct LinkConfirmed {
    user_id: String,
    provider: String,
    subject: String,
    email: Option<String>,
    redirect_to: String,
    session_id: String,
}

/// Whether the browser's link cookie is the one the ticket or page was made for (its hash is
/// stored; compared in constant time, the cookie being that browser's secret).
fn bound_to(binding: Option<&str>, expected_hash: &str) -> bool {
    binding.is_some_and(|b| {
        ct_eq(
            sha256_hex(b.as_bytes()).as_bytes(),
            expected_hash.as_bytes(),
        )
    })
}
