//! The owner's own account: name and phone, a change of address (confirmed from the new
//! mailbox, announced to the old one), another confirmation mail, and deleting the account.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::auth::audit::AuditEvent;
use crate::auth::publish::new_batch;
use crate::auth::{Auth, ClientInfo, Principal, Profile};
use crate::error::{AuthError, AuthResult};
use crate::input::{Email, Phone, parse_name};
use crate::mail::{Mail, html_escape};
use crate::secret::{random_token, sha256_hex};
use crate::sms::SmsSender;
pub use crate::store::OrgAfterDeletion;

/// How long a link confirming a new address works. Pending changes are hand-offs, whose table
/// is swept of rows an hour older than a new row's expiry: an hour keeps every live row.
pub const EMAIL_CHANGE_TTL: Duration = Duration::from_secs(3600);
/// Changes of address asked for per account and login window.
const EMAIL_CHANGES_PER_WINDOW: u32 = 5;
/// One confirmation mail per account a minute, and a few per login window.
pub const VERIFICATION_RESEND_AFTER: Duration = Duration::from_secs(60);
const VERIFICATION_MAILS_PER_WINDOW: u32 = 5;
/// The start of a pending change's payload: its hand-offs are found (and replaced) by it.
const EMAIL_CHANGE_KIND: &str = r#"{"kind":"email_change","#;

/// `PATCH /me`: `None` leaves a field as it is, `Some(None)` (or blank) clears it.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub name: Option<Option<String>>,
    pub phone: Option<Option<String>>,
}

/// A pending change of address, kept as a hand-off (the takeover sweep and account deletion
/// find it by its `user_id`).
#[derive(Serialize, Deserialize)]
struct PendingEmail {
    kind: String,
    user_id: String,
    email: String,
}

/// Hashed with a prefix of its own: a confirmation token shown to `/auth/exchange` (or a
/// hand-off code shown here) finds nothing.
fn change_hash(token: &str) -> String {
    sha256_hex(format!("email-change:{}", token.trim()).as_bytes())
}

impl Auth {
    /// Changes the caller's name and phone. A new phone number is unverified and is sent a
    /// code at once when it can be (whether it was is the second value).
    pub async fn update_profile(
        &self,
        caller: &Principal,
        change: ProfileChange,
        sms: &SmsSender,
        client: &ClientInfo,
    ) -> AuthResult<(Profile, bool)> {
        caller.require_session()?;
        let name = match &change.name {
            Some(raw) => Some(parse_name(raw.as_deref())?),
            None => None,
        };
        let phone = match &change.phone {
            Some(raw) => Some(
                raw.as_deref()
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(Phone::parse)
                    .transpose()?
                    .map(|p| p.as_str().to_owned()),
            ),
            None => None,
        };
        let current = self.user_record(&caller.user_id).await?;
        // An unchanged number keeps its verification.
        let phone = phone.filter(|p| *p != current.phone);
        let name = name.filter(|n| *n != current.name);
        let mut fields = Vec::new();
        if name.is_some() {
            fields.push("name");
        }
        if phone.is_some() {
            fields.push("phone");
        }
        if !fields.is_empty() {
            let batch = new_batch();
            let entry = self
                .audit_by(caller, AuditEvent::ProfileUpdated)
                .subject(&caller.user_id)
                .detail("fields", fields);
            let saved = self
                .db
                .update_profile(
                    &caller.user_id,
                    name.as_ref().map(Option::as_deref),
                    phone.as_ref().map(Option::as_deref),
                    self.clock.now_ms(),
                    &batch,
                    &[entry],
                )
                .await?;
            if !saved {
                return Err(AuthError::NotFound("user"));
            }
            self.flush(&batch).await?;
        }
        let code_sent = match &phone {
            Some(Some(_)) => match self.phone_verify_start(caller, sms, client).await {
                Ok(()) => true,
                // The number stands; the person asks for a code again later.
                Err(AuthError::RateLimited { .. }) => false,
                Err(e) => {
                    tracing::warn!(user_id = %caller.user_id, error = %e, "phone code not sent");
                    false
                }
            },
            _ => false,
        };
        let mut fresh = caller.clone();
        fresh.record = None;
        Ok((self.me(&fresh).await?, code_sent))
    }

    /// Mails a confirmation link to `new_email` and a notice to the current address. The
    /// address changes only when the link is used (`confirm_email_change`). Needs a recent
    /// re-authentication: whoever controls the address controls the account.
    pub async fn request_email_change(
        &self,
        caller: &Principal,
        new_email: &str,
    ) -> AuthResult<Duration> {
        self.require_recent_auth(caller).await?;
        let uid = caller.user_id.as_str();
        let email = Email::parse(new_email)?;
        self.take_attempt(
            &format!("email_change:user:{uid}"),
            EMAIL_CHANGES_PER_WINDOW,
        )
        .await?;
        let user = self
            .db
            .user_by_id(uid)
            .await?
            .ok_or(AuthError::NotFound("user"))?;
        if user.email.to_lowercase() == email.normalized() {
            return Err(AuthError::invalid_field(
                "email",
                "is already the account's address",
            ));
        }
        // Sign-up answers `email_taken` for anyone; here only a re-authenticated session can ask.
        if self.db.user_by_email(email.normalized()).await?.is_some() {
            return Err(AuthError::EmailTaken);
        }
        let token = format!("lke_{}", random_token::<32>());
        let payload = serde_json::to_string(&PendingEmail {
            kind: "email_change".into(),
            user_id: uid.to_owned(),
            email: email.as_str().to_owned(),
        })
        .map_err(anyhow::Error::from)?;
        debug_assert!(payload.starts_with(EMAIL_CHANGE_KIND));
        // One pending change at a time: an earlier link stops working.
        self.db.end_email_changes(uid, EMAIL_CHANGE_KIND).await?;
        let expires = self.clock.now_ms() + EMAIL_CHANGE_TTL.as_millis() as i64;
        self.db
            .put_handoff(&change_hash(&token), &payload, None, expires)
            .await?;
        let link = format!(
            "{}/confirm-email?token={token}",
            self.settings.issuer.trim_end_matches('/')
        );
        self.mail(Mail {
            to: email.as_str().to_owned(),
            subject: "Confirm your new email address".into(),
            text: format!(
                "Someone signed in to a Latchkey account asked to use this address for it.\n\
                 Open this link to confirm:\n{link}\n\nIt works once, for an hour. If you did \
                 not ask for this, ignore this mail: nothing changes.\n"
            ),
            html: format!(
                "<p>Someone signed in to a Latchkey account asked to use this address for it.</p>\
                 <p><a href=\"{href}\">Confirm your new email address</a></p>\
                 <p>It works once, for an hour. If you did not ask for this, ignore this mail: \
                 nothing changes.</p>",
                href = html_escape(&link)
            ),
            dev_log: Some("email change link written to the outbox".into()),
        })
        .await?;
        let entry = self
            .audit_by(caller, AuditEvent::EmailChangeRequested)
            .subject(uid);
        self.record(entry).await;
        self.notify_change(
            uid,
            &format!(
                "A change of your account's email address to {} was asked for. It takes effect \
                 only when the link mailed to that address is opened.",
                email.as_str()
            ),
        )
        .await;
        Ok(EMAIL_CHANGE_TTL)
    }

    /// Spends a change-of-address link: the account's address becomes the new one, proven by
    /// this very link. Mail sent to the old address (verification and reset links) stops
    /// working; the old address is told. Returns the new address.
    pub async fn confirm_email_change(
        &self,
        token: &str,
        client: &ClientInfo,
    ) -> AuthResult<String> {
        let handoff = self
            .db
            .take_handoff(&change_hash(token))
            .await?
            .ok_or(AuthError::InvalidVerificationToken)?;
        let now = self.clock.now_ms();
        if handoff.expires_at <= now {
            return Err(AuthError::InvalidVerificationToken);
        }
        let pending: PendingEmail = serde_json::from_str(&handoff.payload)
            .ok()
            .filter(|p: &PendingEmail| p.kind == "email_change")
            .ok_or(AuthError::InvalidVerificationToken)?;
        let user = self
            .db
            .user_by_id(&pending.user_id)
            .await?
            .ok_or(AuthError::InvalidVerificationToken)?;
        if user.disabled {
            return Err(AuthError::AccountDisabled);
        }
        let email = Email::parse(&pending.email)?;
        let batch = new_batch();
        let entry = self.audit_as(&user.id, client, AuditEvent::EmailChanged);
        if !self
            .db
            .change_email(
                &user.id,
                email.as_str(),
                email.normalized(),
                now,
                &batch,
                &[entry],
            )
            .await?
        {
            return Err(AuthError::InvalidVerificationToken);
        }
        self.flush(&batch).await?;
        tracing::info!(user_id = %user.id, "email address changed");
        self.notify_address(
            &user.email,
            &user.id,
            &format!(
                "The email address of your account was changed to {}.",
                email.as_str()
            ),
        );
        Ok(email.as_str().to_owned())
    }

    /// Mails the confirmation link again, to an account whose address is not proven yet.
    pub async fn resend_verification(&self, caller: &Principal) -> AuthResult<Duration> {
        caller.require_session()?;
        let uid = caller.user_id.as_str();
        let user = self
            .db
            .user_by_id(uid)
            .await?
            .ok_or(AuthError::NotFound("user"))?;
        if user.email_verified {
            return Err(AuthError::Conflict("the email address is already verified"));
        }
        // Spaced out (one a minute, by the time of the last link, so every instance agrees)
        // and bounded per window: each mail goes to an address nobody has proven yet. Two
        // requests at once may both pass the spacing; the window's counter still bounds them.
        let now = self.clock.now_ms();
        let spacing = VERIFICATION_RESEND_AFTER.as_millis() as i64;
        if let Some(last) = self.db.last_verification_sent(uid).await?
            && now - last < spacing
        {
            return Err(AuthError::RateLimited {
                retry_after: Duration::from_millis((last + spacing - now).max(1000) as u64),
            });
        }
        self.take_attempt(
            &format!("verify_resend_window:{uid}"),
            VERIFICATION_MAILS_PER_WINDOW,
        )
        .await?;
        self.try_send_verification(&user).await?;
        let entry = self
            .audit_by(caller, AuditEvent::EmailVerificationSent)
            .subject(uid);
        self.record(entry).await;
        Ok(VERIFICATION_RESEND_AFTER)
    }

    /// Deletes the caller's account after a recent re-authentication: every session, API key
    /// and token ends at once (tombstones, as for a removed member). An organization keeps an
    /// admin: its last admin must hand over first while others remain; its last member takes
    /// it along.
    pub async fn delete_account(&self, caller: &Principal) -> AuthResult<OrgAfterDeletion> {
        self.require_recent_auth(caller).await?;
        let uid = caller.user_id.as_str();
        let user = self
            .db
            .user_by_id(uid)
            .await?
            .ok_or(AuthError::NotFound("user"))?;
        let batch = new_batch();
        let entry = self
            .audit_by(caller, AuditEvent::AccountDeleted)
            .subject(uid);
        let org = self
            .db
            .delete_account(uid, self.clock.now_ms(), &batch, &[entry])
            .await?
            .ok_or(AuthError::NotFound("user"))?;
        self.flush(&batch).await?;
        tracing::info!(user_id = %uid, org_deleted = org == OrgAfterDeletion::Deleted, "account deleted");
        self.mail_in_background(
            Mail {
                to: user.email.clone(),
                subject: "Your account was deleted".into(),
                text: "Your account and everything in it (sessions, API keys, sign-in methods) \
                       were deleted at your request.\n"
                    .into(),
                html: "<p>Your account and everything in it (sessions, API keys, sign-in \
                       methods) were deleted at your request.</p>"
                    .into(),
                dev_log: None,
            },
            uid,
        );
        Ok(org)
    }
}
