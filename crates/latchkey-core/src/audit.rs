//! The audit log's value types: the events, who caused them, an entry about to be written and
//! a row as stored. Both the store (which writes and reads them) and the domain (which decides
//! what to record) use them, so they live below both; the event names live here only.

use serde_json::{Map, Value};

/// Longest user agent kept: enough to tell browsers and SDKs apart, bounded against junk.
pub const MAX_USER_AGENT: usize = 256;

/// Every event the log records, by its dotted name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    UserSignedUp,
    LoginSucceeded,
    LoginFailed,
    AccountLocked,
    RefreshTokenReuseDetected,
    ApiKeyCreated,
    ApiKeyUpdated,
    ApiKeyRotated,
    ApiKeyDeleted,
    MemberScopesChanged,
    MemberRoleChanged,
    MemberDisabled,
    MemberEnabled,
    MemberRemoved,
    SessionsRevoked,
    MfaTotpEnabled,
    MfaTotpDisabled,
    MfaRecoveryCodeUsed,
    PasswordChanged,
    PasswordReset,
    EmailVerified,
    IdentityLinked,
    IdentityUnlinked,
    PhoneVerified,
    SigningKeyRotated,
    OperatorGranted,
    OperatorRevoked,
    AccountTakenOver,
    ProfileUpdated,
    EmailChangeRequested,
    EmailChanged,
    EmailVerificationSent,
    AccountDeleted,
    MfaRecoveryCodesRegenerated,
    ReferralCodeRegenerated,
}

impl AuditEvent {
    pub const ALL: &'static [AuditEvent] = &[
        AuditEvent::UserSignedUp,
        AuditEvent::LoginSucceeded,
        AuditEvent::LoginFailed,
        AuditEvent::AccountLocked,
        AuditEvent::RefreshTokenReuseDetected,
        AuditEvent::ApiKeyCreated,
        AuditEvent::ApiKeyUpdated,
        AuditEvent::ApiKeyRotated,
        AuditEvent::ApiKeyDeleted,
        AuditEvent::MemberScopesChanged,
        AuditEvent::MemberRoleChanged,
        AuditEvent::MemberDisabled,
        AuditEvent::MemberEnabled,
        AuditEvent::MemberRemoved,
        AuditEvent::SessionsRevoked,
        AuditEvent::MfaTotpEnabled,
        AuditEvent::MfaTotpDisabled,
        AuditEvent::MfaRecoveryCodeUsed,
        AuditEvent::PasswordChanged,
        AuditEvent::PasswordReset,
        AuditEvent::EmailVerified,
        AuditEvent::IdentityLinked,
        AuditEvent::IdentityUnlinked,
        AuditEvent::PhoneVerified,
        AuditEvent::SigningKeyRotated,
        AuditEvent::OperatorGranted,
        AuditEvent::OperatorRevoked,
        AuditEvent::AccountTakenOver,
        AuditEvent::ProfileUpdated,
        AuditEvent::EmailChangeRequested,
        AuditEvent::EmailChanged,
        AuditEvent::EmailVerificationSent,
        AuditEvent::AccountDeleted,
        AuditEvent::MfaRecoveryCodesRegenerated,
        AuditEvent::ReferralCodeRegenerated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::UserSignedUp => "user.signed_up",
            AuditEvent::LoginSucceeded => "login.succeeded",
            AuditEvent::LoginFailed => "login.failed",
            AuditEvent::AccountLocked => "account.locked",
            AuditEvent::RefreshTokenReuseDetected => "refresh_token.reuse_detected",
            AuditEvent::ApiKeyCreated => "api_key.created",
            AuditEvent::ApiKeyUpdated => "api_key.updated",
            AuditEvent::ApiKeyRotated => "api_key.rotated",
            AuditEvent::ApiKeyDeleted => "api_key.deleted",
            AuditEvent::MemberScopesChanged => "member.scopes_changed",
            AuditEvent::MemberRoleChanged => "member.role_changed",
            AuditEvent::MemberDisabled => "member.disabled",
            AuditEvent::MemberEnabled => "member.enabled",
            AuditEvent::MemberRemoved => "member.removed",
            AuditEvent::SessionsRevoked => "sessions.revoked",
            AuditEvent::MfaTotpEnabled => "mfa.totp_enabled",
            AuditEvent::MfaTotpDisabled => "mfa.totp_disabled",
            AuditEvent::MfaRecoveryCodeUsed => "mfa.recovery_code_used",
            AuditEvent::PasswordChanged => "password.changed",
            AuditEvent::PasswordReset => "password.reset",
            AuditEvent::EmailVerified => "email.verified",
            AuditEvent::IdentityLinked => "identity.linked",
            AuditEvent::IdentityUnlinked => "identity.unlinked",
            AuditEvent::PhoneVerified => "phone.verified",
            AuditEvent::SigningKeyRotated => "signing_key.rotated",
            AuditEvent::OperatorGranted => "operator.granted",
            AuditEvent::OperatorRevoked => "operator.revoked",
            AuditEvent::AccountTakenOver => "account.taken_over",
            AuditEvent::ProfileUpdated => "profile.updated",
            AuditEvent::EmailChangeRequested => "email.change_requested",
            AuditEvent::EmailChanged => "email.changed",
            AuditEvent::EmailVerificationSent => "email.verification_sent",
            AuditEvent::AccountDeleted => "account.deleted",
            AuditEvent::MfaRecoveryCodesRegenerated => "mfa.recovery_codes_regenerated",
            AuditEvent::ReferralCodeRegenerated => "org.referral_code_regenerated",
        }
    }
}

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// A user, through their own session (or, for logins, the account being signed in to).
    User,
    /// An API auth token; the actor id is the key's id.
    ApiKey,
    /// Latchkey itself or its operator (the command line).
    System,
    /// Nobody known yet: a failed login, a reset link.
    Anonymous,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiKey => "api_key",
            ActorKind::System => "system",
            ActorKind::Anonymous => "anonymous",
        }
    }
}

/// One event about to be written. `detail` is a small JSON object and must never hold a
/// secret: no password, code, token or key, and no address of an unknown account.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub event: AuditEvent,
    /// Milliseconds since the epoch, by the injected clock.
    pub at: i64,
    /// `None` when no organization is known (a failure for an unknown account, the operator).
    pub org_id: Option<String>,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub subject_user_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Map<String, Value>,
}

impl AuditEntry {
    /// An entry with no actor id, subject or organization yet, from `ip` with `user_agent`
    /// (cut to `MAX_USER_AGENT` characters).
    pub fn new(
        event: AuditEvent,
        at: i64,
        actor_kind: ActorKind,
        ip: Option<String>,
        user_agent: Option<&str>,
    ) -> AuditEntry {
        AuditEntry {
            event,
            at,
            org_id: None,
            actor_kind,
            actor_id: None,
            subject_user_id: None,
            ip,
            user_agent: user_agent.map(|ua| ua.chars().take(MAX_USER_AGENT).collect()),
            detail: Map::new(),
        }
    }

    pub fn subject(mut self, user_id: &str) -> AuditEntry {
        self.subject_user_id = Some(user_id.to_owned());
        self
    }

    pub fn org(mut self, org_id: &str) -> AuditEntry {
        self.org_id = Some(org_id.to_owned());
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> AuditEntry {
        self.detail.insert(key.to_owned(), value.into());
        self
    }
}

/// A stored event as the admin endpoint shows it.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: String,
    pub at: i64,
    pub org_id: Option<String>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub subject_user_id: Option<String>,
    pub event: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The JSON object as stored.
    pub detail: String,
}

/// The keyed reference the logs and the audit log use for an account by its address (the
/// first 12 hex digits of HMAC-SHA-256(key, lower-cased address)): failures of one account
/// can be grouped without the address being stored; a leaked log does not reveal who (and,
/// keyed, cannot be checked against a list of addresses). The one definition, so logs and
/// audit log agree.
pub fn account_ref(key: &[u8], email: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(email.trim().to_lowercase().as_bytes());
    let digest = mac.finalize().into_bytes();
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_unique_and_dotted() {
        let names: std::collections::BTreeSet<_> =
            AuditEvent::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(names.len(), AuditEvent::ALL.len());
        assert!(names.iter().all(|n| n.contains('.')));
    }

    #[test]
    fn account_refs_ignore_case_and_depend_on_the_key() {
        let r = account_ref(b"k1", "Ann@Example.com");
        assert_eq!(r.len(), 12);
        assert_eq!(r, account_ref(b"k1", " ann@example.com"));
        assert_ne!(r, account_ref(b"k2", "ann@example.com"));
        assert_ne!(r, account_ref(b"k1", "bob@example.com"));
    }
}
