//! Organization administration: admins manage the members of their own organization.
//! Every target is looked up inside the caller's organization, so nobody acts outside it
//! (another org's user is "not found", not "forbidden": ids cannot be probed).

use crate::auth::Auth;
use crate::auth::api_keys::ApiKeyInfo;
use crate::auth::audit::AuditEvent;
use crate::auth::principal::Principal;
use crate::auth::publish::new_batch;
use crate::auth::scopes::parse_scopes;
use crate::domain::{OrgProfile, Role, User};
use crate::error::{AuthError, AuthResult};

impl Auth {
    async fn member(&self, admin: &Principal, user_id: &str) -> AuthResult<User> {
        admin.require_admin()?;
        match self.db.user_by_id(user_id).await? {
            Some(u) if u.org_id == admin.org_id => Ok(u),
            _ => Err(AuthError::NotFound("user")),
        }
    }

    fn not_self(admin: &Principal, user_id: &str) -> AuthResult<()> {
        if admin.user_id == user_id {
            return Err(AuthError::Forbidden(
                "admins cannot do this to their own account",
            ));
        }
        Ok(())
    }

    /// The organization's members with their *effective* scopes: a stored scope the operator
    /// has since removed from the catalogue is honoured nowhere, so it is not shown either
    /// (it comes back if the operator lists it again).
    pub async fn list_members(&self, admin: &Principal) -> AuthResult<Vec<User>> {
        admin.require_admin()?;
        let mut users = self.db.users_of_org(&admin.org_id).await?;
        for user in &mut users {
            self.honoured(&mut user.scopes);
        }
        Ok(users)
    }

    /// Replaces a member's scopes. Every live token of theirs — access tokens and API tokens —
    /// carries the new scopes on its next use, on every instance. An organization admin may
    /// add only scopes an organization admin may grant (`admin_may_grant`; removing any is
    /// fine); an operator may set any catalogue or reserved scope on any user of the deployment.
    pub async fn set_member_scopes(
        &self,
        admin: &Principal,
        user_id: &str,
        scopes: &[String],
    ) -> AuthResult<User> {
        let operator = self.is_operator(admin).await?;
        let mut user = if operator {
            self.db
                .user_by_id(user_id)
                .await?
                .ok_or(AuthError::NotFound("user"))?
        } else {
            self.member(admin, user_id).await?
        };
        let scopes = parse_scopes(scopes)?;
        self.check_catalogued(&scopes)?;
        if !operator
            && let Some(s) = scopes
                .iter()
                .find(|s| !user.scopes.contains(s) && !self.admin_may_grant(s))
        {
            return Err(AuthError::NotGrantable(s.clone()));
        }
        let batch = new_batch();
        let mut entry = self
            .audit_by(admin, AuditEvent::MemberScopesChanged)
            .subject(user_id)
            .detail("old", user.scopes.clone())
            .detail("new", scopes.clone());
        if operator {
            // In the member's organization's log, whichever organization the operator is in.
            entry = entry.org(&user.org_id).detail("by_operator", true);
        }
        if !self
            .db
            .set_user_scopes(user_id, &scopes, self.clock.now_ms(), &batch, &[entry])
            .await?
        {
            return Err(AuthError::NotFound("user"));
        }
        self.flush(&batch).await?;
        tracing::info!(user_id, by = %admin.user_id, operator, "scopes changed");
        user.scopes = scopes;
        Ok(user)
    }

    pub async fn set_member_role(
        &self,
        admin: &Principal,
        user_id: &str,
        role: Role,
    ) -> AuthResult<User> {
        Self::not_self(admin, user_id)?;
        let mut user = self.member(admin, user_id).await?;
        let batch = new_batch();
        let entry = self
            .audit_by(admin, AuditEvent::MemberRoleChanged)
            .subject(user_id)
            .detail("old", user.role.as_str())
            .detail("new", role.as_str());
        if !self
            .db
            .set_user_role(user_id, role, self.clock.now_ms(), &batch, &[entry])
            .await?
        {
            return Err(AuthError::NotFound("user"));
        }
        self.flush(&batch).await?;
        tracing::info!(user_id, role = role.as_str(), by = %admin.user_id, "role changed");
        user.role = role;
        self.honoured(&mut user.scopes);
        Ok(user)
    }

    pub async fn set_member_disabled(
        &self,
        admin: &Principal,
        user_id: &str,
        disabled: bool,
    ) -> AuthResult<()> {
        Self::not_self(admin, user_id)?;
        self.member(admin, user_id).await?;
        let event = if disabled {
            AuditEvent::MemberDisabled
        } else {
            AuditEvent::MemberEnabled
        };
        let entry = self.audit_by(admin, event).subject(user_id);
        self.set_user_disabled(user_id, disabled, Some(entry)).await
    }

    /// Removes a member: their sessions, keys and tokens stop at once (their sessions and keys
    /// go with the row; the user's and every key's tombstone refuse what is still live).
    /// A retry of a removal that was saved but not yet published finishes it (204) rather
    /// than answering 404; once published, the user is simply not found.
    pub async fn remove_member(&self, admin: &Principal, user_id: &str) -> AuthResult<()> {
        Self::not_self(admin, user_id)?;
        if let Err(e) = self.member(admin, user_id).await {
            return match e {
                AuthError::NotFound(_) if self.finish_pending(user_id, &admin.org_id).await? => {
                    Ok(())
                }
                e => Err(e),
            };
        }
        let batch = new_batch();
        let entry = self
            .audit_by(admin, AuditEvent::MemberRemoved)
            .subject(user_id);
        self.db
            .delete_user(user_id, self.clock.now_ms(), &batch, &[entry])
            .await?;
        tracing::info!(user_id, by = %admin.user_id, "user removed");
        self.flush(&batch).await
    }

    pub async fn member_api_keys(
        &self,
        admin: &Principal,
        user_id: &str,
    ) -> AuthResult<Vec<ApiKeyInfo>> {
        self.member(admin, user_id).await?;
        self.list_api_keys(user_id).await
    }

    pub async fn revoke_member_api_key(
        &self,
        admin: &Principal,
        user_id: &str,
        kid: &str,
    ) -> AuthResult<()> {
        self.member(admin, user_id).await?;
        let entry = self
            .audit_by(admin, AuditEvent::ApiKeyDeleted)
            .subject(user_id)
            .detail("key_id", kid);
        self.delete_api_key(user_id, kid, entry).await
    }

    pub async fn revoke_member_sessions(
        &self,
        admin: &Principal,
        user_id: &str,
    ) -> AuthResult<u64> {
        self.member(admin, user_id).await?;
        let entry = self
            .audit_by(admin, AuditEvent::SessionsRevoked)
            .subject(user_id)
            .detail("reason", "admin");
        self.revoke_all_sessions(user_id, "revoked by admin", Some(entry))
            .await
    }

    /// Replaces the organization's referral code: the old one stops working at once (a
    /// code that leaked lets anyone join). The code itself never enters the log.
    pub async fn regenerate_referral_code(&self, admin: &Principal) -> AuthResult<OrgProfile> {
        admin.require_admin()?;
        let entry = self.audit_by(admin, AuditEvent::ReferralCodeRegenerated);
        let org = self
            .db
            .regenerate_referral_code(&admin.org_id, &entry)
            .await?
            .ok_or(AuthError::NotFound("organization"))?;
        tracing::info!(org_id = %admin.org_id, by = %admin.user_id, "referral code regenerated");
        Ok(OrgProfile::for_role(org, admin.role))
    }
}
