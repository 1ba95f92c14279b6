//! Operators: the people who run the deployment, as opposed to organization admins, who run
//! one organization. Anyone may sign up and become an admin, so deployment-wide powers (the
//! signing keys every organization's tokens depend on) need a flag only the command line sets.

use super::principal::Principal;
use super::{AuditEvent, Auth};
use crate::domain::User;
use crate::error::{AuthError, AuthResult};
use crate::input::Email;
use crate::store::SigningKeyRow;

/// Who rotates a signing key: the server's command line, or an operator over the API.
#[derive(Debug, Clone, Copy)]
pub enum KeyRotator<'a> {
    CommandLine,
    Operator(&'a Principal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// The newest key: access tokens are signed with it.
    Signing,
    /// Superseded, still verifying the tokens it signed until `retires_at`.
    Verifying,
    /// Verifies nothing any more; out of the JWKS.
    Retired,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Signing => "signing",
            KeyStatus::Verifying => "verifying",
            KeyStatus::Retired => "retired",
        }
    }
}

/// A signing key as an operator sees it (never its private half). Times in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyInfo {
    pub kid: String,
    pub algorithm: String,
    pub status: KeyStatus,
    pub created_at_ms: i64,
    /// When the next newer key appeared; `None` for the signing key.
    pub superseded_at_ms: Option<i64>,
    /// When it stops (or stopped) verifying; `None` for the signing key.
    pub retires_at_ms: Option<i64>,
}

/// Each key's status, newest first. A key is superseded when the next newer one was created
/// and retires `overlap_ms` later (the rule `reload_signing_keys` applies).
pub fn key_statuses(mut rows: Vec<SigningKeyRow>, overlap_ms: i64) -> Vec<SigningKeyInfo> {
    rows.sort_by(|a, b| {
        b.created_at_ms
            .cmp(&a.created_at_ms)
            .then_with(|| a.kid.cmp(&b.kid))
    });
    let mut newer: Option<i64> = None;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (status, retires_at_ms) = match (row.retired_at_ms, newer) {
            (Some(at), _) => (KeyStatus::Retired, Some(at)),
            (None, None) => (KeyStatus::Signing, None),
            (None, Some(superseded)) => (KeyStatus::Verifying, Some(superseded + overlap_ms)),
        };
        out.push(SigningKeyInfo {
            kid: row.kid,
            algorithm: row.algorithm,
            status,
            created_at_ms: row.created_at_ms,
            superseded_at_ms: newer,
            retires_at_ms,
        });
        newer = Some(row.created_at_ms);
    }
    out
}

impl Auth {
    /// Operator routes need a user's own access token (an API token acts for its key, never as
    /// an operator) whose user is flagged in the database now. Read afresh on each call: these
    /// routes are rare, and no cache can keep a revoked operator in.
    pub async fn require_operator(&self, caller: &Principal) -> AuthResult<()> {
        caller.require_session()?;
        if !self.db.is_operator(&caller.user_id).await? {
            return Err(AuthError::Forbidden(
                "only an operator of this deployment may do this",
            ));
        }
        Ok(())
    }

    /// Whether the caller is an operator acting with their own, full session (no API token,
    /// no narrowed token); read from the database like `require_operator`.
    pub(super) async fn is_operator(&self, caller: &Principal) -> AuthResult<bool> {
        if caller.require_session().is_err() {
            return Ok(false);
        }
        self.db.is_operator(&caller.user_id).await
    }

    /// Adds a new signing key, which this instance signs with at once (others within their
    /// 2 s reload, or on first sight of its kid). The one place a rotation happens.
    pub async fn rotate_signing_key(&self, by: KeyRotator<'_>) -> AuthResult<SigningKeyInfo> {
        let (by_user, entry) = match by {
            KeyRotator::CommandLine => (None, self.audit_system(AuditEvent::SigningKeyRotated)),
            KeyRotator::Operator(caller) => {
                self.require_operator(caller).await?;
                let mut entry = self.audit_by(caller, AuditEvent::SigningKeyRotated);
                // A deployment event: not in the operator's organization's log.
                entry.org_id = None;
                (Some(caller.user_id.as_str()), entry)
            }
        };
        let key = self.add_signing_key().await?;
        tracing::info!(kid = %key.kid, by = by_user.unwrap_or("command line"), "signing key rotated");
        // The key is in use from here on; its audit row is written after it, like a login's.
        self.record(entry.detail("kid", key.kid.clone())).await;
        Ok(SigningKeyInfo {
            kid: key.kid,
            algorithm: "EdDSA".to_owned(),
            status: KeyStatus::Signing,
            created_at_ms: key.created_at_ms,
            superseded_at_ms: None,
            retires_at_ms: None,
        })
    }

    /// Every signing key, newest first, with its status. Due retirements are applied first, so
    /// the list never shows a key as verifying after its time.
    pub async fn signing_keys(&self, caller: &Principal) -> AuthResult<Vec<SigningKeyInfo>> {
        self.require_operator(caller).await?;
        self.reload_signing_keys().await?;
        let rows = self.db.signing_key_history().await?;
        let overlap = self.signing_key_overlap().as_millis() as i64;
        Ok(key_statuses(rows, overlap))
    }

    /// Grants or revokes the operator flag (the command line's `users operator`): the user and
    /// whether anything changed.
    pub async fn set_operator(&self, email: &str, operator: bool) -> AuthResult<(User, bool)> {
        let email = Email::parse(email)?;
        let (user, changed) = self
            .db
            .set_operator(email.normalized(), operator, self.clock.now_ms())
            .await?
            .ok_or(AuthError::NotFound("user"))?;
        if changed {
            tracing::info!(user_id = %user.id, operator, "operator flag changed");
            let event = if operator {
                AuditEvent::OperatorGranted
            } else {
                AuditEvent::OperatorRevoked
            };
            self.record(self.audit_system(event).subject(&user.id))
                .await;
        }
        Ok((user, changed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kid: &str, created: i64, retired: Option<i64>) -> SigningKeyRow {
        SigningKeyRow {
            kid: kid.into(),
            algorithm: "EdDSA".into(),
            created_at_ms: created,
            retired_at_ms: retired,
        }
    }

    #[test]
    fn the_newest_key_signs_older_ones_verify_until_their_horizon_or_are_retired() {
        let rows = vec![
            row("b", 2_000, None),
            row("a", 1_000, Some(1_900)),
            row("c", 3_000, None),
        ];
        let got = key_statuses(rows, 500);
        let view: Vec<_> = got
            .iter()
            .map(|k| {
                (
                    k.kid.as_str(),
                    k.status,
                    k.superseded_at_ms,
                    k.retires_at_ms,
                )
            })
            .collect();
        assert_eq!(
            view,
            vec![
                ("c", KeyStatus::Signing, None, None),
                ("b", KeyStatus::Verifying, Some(3_000), Some(3_500)),
                ("a", KeyStatus::Retired, Some(2_000), Some(1_900)),
            ]
        );
    }

    #[test]
    fn a_single_key_signs_and_no_keys_list_nothing() {
        let got = key_statuses(vec![row("a", 1, None)], 10);
        assert_eq!(got[0].status, KeyStatus::Signing);
        assert!(key_statuses(Vec::new(), 10).is_empty());
    }
}
