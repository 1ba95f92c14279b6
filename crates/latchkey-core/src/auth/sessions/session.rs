//! Opening, listing and ending sessions.

use std::sync::Arc;

use crate::auth::audit::{AuditEntry, AuditEvent};
use crate::auth::{Auth, ClientInfo, Grant, Principal};
use crate::domain::User;
use crate::error::{AuthError, AuthResult};
use crate::jwt::AccessClaims;
use crate::secret::{Secret, random_token, sha256_hex};
use crate::store::{NewRefresh, SessionRow};

/// Every refresh token starts with this, so a leaked one is recognizable (and grep-able).
/// The whole token is `lkr_<user id>.<session id>.<secret>`: the ids are not secret (the hash
/// covers the whole string), and knowing them lets a refresh build the next pair before it
/// touches the database, so the rotation is one round trip.
pub const REFRESH_PREFIX: &str = "lkr_";

/// Longest refresh token looked at (ours are well under it); a longer one is no token of
/// ours and is never hashed or looked up.
pub(in crate::auth) const MAX_REFRESH_TOKEN: usize = 160;

/// A session as its owner sees it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub row: SessionRow,
    pub current: bool,
}

impl Auth {
    /// The claims of a new access token. Its `scope` lists only the scopes the catalogue still
    /// honours: services that verify tokens offline (against the JWKS) read this claim, so a
    /// scope the operator has withdrawn must not travel in it.
    pub(super) fn claims_for(&self, user: &User, sid: &str, now_secs: i64) -> AccessClaims {
        let mut scopes = user.scopes.clone();
        self.honoured(&mut scopes);
        AccessClaims {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: user.id.clone(),
            sid: sid.to_owned(),
            org: user.org_id.clone(),
            role: user.role.as_str().to_owned(),
            scope: scopes.join(" "),
            iat: now_secs,
            exp: now_secs + self.settings.access_token_ttl.as_secs() as i64,
            jti: uuid::Uuid::new_v4().to_string(),
            lnt: false,
            cap: None,
        }
    }

    pub(in crate::auth) fn grant(
        &self,
        claims: &AccessClaims,
        refresh: Option<(String, i64)>,
        user: Arc<User>,
    ) -> AuthResult<Grant> {
        let (refresh_token, refresh_expires_at) = refresh.unzip();
        // The answer shows the scopes the token carries, not withdrawn ones still stored.
        let user = if user
            .scopes
            .iter()
            .all(|s| claims.scope.split(' ').any(|c| c == s))
        {
            user
        } else {
            let mut shown = (*user).clone();
            shown
                .scopes
                .retain(|s| claims.scope.split(' ').any(|c| c == s));
            Arc::new(shown)
        };
        Ok(Grant {
            access_token: Secret::new(self.keys().sign(claims)?),
            access_expires_at: claims.exp,
            refresh_token: refresh_token.map(Secret::new),
            refresh_expires_at,
            session_id: claims.sid.clone(),
            user,
            api_key: None,
            device_token: None,
        })
    }

    /// A new session with the first token pair of its chain.
    pub(in crate::auth) async fn open_session(
        &self,
        user: Arc<User>,
        client: &ClientInfo,
    ) -> AuthResult<Grant> {
        let now = self.clock.now_ms();
        let sid = uuid::Uuid::new_v4().to_string();
        let claims = self.claims_for(&user, &sid, now.div_euclid(1000));
        let refresh = format!("{REFRESH_PREFIX}{}.{sid}.{}", user.id, random_token::<32>());
        let expires_at = now + self.settings.refresh_token_ttl.as_millis() as i64;
        let session = SessionRow {
            id: sid.clone(),
            user_id: user.id.clone(),
            created_at: now,
            last_used_at: now,
            expires_at,
            user_agent: client.user_agent.as_deref().map(|ua| truncate(ua, 512)),
            ip: client.ip.clone(),
            revoked_at: None,
        };
        let first = NewRefresh {
            id: uuid::Uuid::new_v4().to_string(),
            token_hash: sha256_hex(refresh.as_bytes()),
            generation: 0,
            parent_id: None,
            access_claims: serde_json::to_string(&claims).map_err(anyhow::Error::from)?,
            expires_at,
        };
        self.db.create_session(&session, &first).await?;
        tracing::info!(user_id = %user.id, session_id = %sid, "session opened");
        let device_token = self.device_token(&user.id, client);
        let mut grant = self.grant(&claims, Some((refresh, expires_at)), user)?;
        grant.device_token = Some(device_token);
        Ok(grant)
    }

    /// Ends the caller's session: its refresh tokens fail and its access tokens are refused
    /// at once.
    pub async fn logout(&self, caller: &Principal) -> AuthResult<()> {
        // A narrowed token may end its own session: that gives nothing away.
        let sid = caller.own_session()?;
        // A plain logout is not audited: it is the everyday end of a session.
        self.end_session(sid, "logout", None).await
    }

    pub async fn logout_all(&self, caller: &Principal) -> AuthResult<u64> {
        caller.require_session()?;
        let entry = self
            .audit_by(caller, AuditEvent::SessionsRevoked)
            .subject(&caller.user_id)
            .detail("reason", "logout_all");
        self.revoke_all_sessions(&caller.user_id, "logout-all", Some(entry))
            .await
    }

    /// Ends every session of the caller but the one asking ("sign out my other devices").
    pub async fn logout_others(&self, caller: &Principal) -> AuthResult<u64> {
        let keep = caller.require_session()?;
        let entry = self
            .audit_by(caller, AuditEvent::SessionsRevoked)
            .subject(&caller.user_id)
            .detail("reason", "logout_others");
        let ids = self
            .db
            .revoke_sessions_except(
                &caller.user_id,
                Some(keep),
                "logout-others",
                self.clock.now_ms(),
                Some(entry),
            )
            .await?;
        for sid in &ids {
            self.publish_revocation(sid).await?;
        }
        tracing::info!(user_id = %caller.user_id, count = ids.len(), "other sessions revoked");
        Ok(ids.len() as u64)
    }

    /// Ends one session; `audit` is written with the revocation when it revoked it.
    pub(in crate::auth) async fn end_session(
        &self,
        sid: &str,
        reason: &str,
        audit: Option<AuditEntry>,
    ) -> AuthResult<()> {
        self.db
            .revoke_session(sid, reason, self.clock.now_ms(), audit.as_slice())
            .await?;
        // Also when the row was already revoked: the store may have lost it (restart).
        self.publish_revocation(sid).await?;
        tracing::info!(session_id = %sid, reason, "session revoked");
        Ok(())
    }

    pub(in crate::auth) async fn revoke_all_sessions(
        &self,
        user_id: &str,
        reason: &str,
        audit: Option<AuditEntry>,
    ) -> AuthResult<u64> {
        let ids = self
            .db
            .revoke_sessions_of(user_id, reason, self.clock.now_ms(), audit)
            .await?;
        for sid in &ids {
            self.publish_revocation(sid).await?;
        }
        tracing::info!(user_id, count = ids.len(), reason, "sessions revoked");
        Ok(ids.len() as u64)
    }

    pub(in crate::auth) async fn end_other_sessions(
        &self,
        user_id: &str,
        keep: &str,
        reason: &str,
    ) -> AuthResult<()> {
        let now = self.clock.now_ms();
        for s in self.db.live_sessions_of(user_id, now).await? {
            if s.id != keep {
                self.end_session(&s.id, reason, None).await?;
            }
        }
        Ok(())
    }

    /// The caller's live sessions (devices, IPs): a user session only.
    pub async fn sessions(&self, caller: &Principal) -> AuthResult<Vec<SessionInfo>> {
        let current = Some(caller.require_session()?);
        let rows = self
            .db
            .live_sessions_of(&caller.user_id, self.clock.now_ms())
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| SessionInfo {
                current: Some(row.id.as_str()) == current,
                row,
            })
            .collect())
    }

    /// Revokes one of the caller's own sessions. Someone else's session is "not found", so ids
    /// cannot be probed.
    pub async fn delete_session(&self, caller: &Principal, sid: &str) -> AuthResult<()> {
        caller.require_session()?;
        match self.db.session(sid).await? {
            Some(s) if s.user_id == caller.user_id && s.revoked_at.is_none() => {
                let entry = self
                    .audit_by(caller, AuditEvent::SessionsRevoked)
                    .subject(&caller.user_id)
                    .detail("reason", "session_deleted")
                    .detail("session_id", sid);
                self.end_session(sid, "deleted by owner", Some(entry)).await
            }
            _ => Err(AuthError::NotFound("session")),
        }
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// The user and session ids a refresh token names, if it has them (and is not over
/// `MAX_REFRESH_TOKEN` bytes).
pub(in crate::auth) fn token_ids(token: &str) -> Option<(&str, &str)> {
    if token.len() > MAX_REFRESH_TOKEN {
        return None;
    }
    let mut parts = token.strip_prefix(REFRESH_PREFIX)?.split('.');
    let (uid, sid, secret) = (parts.next()?, parts.next()?, parts.next()?);
    let is_id = |s: &str| s.len() == 36 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    (is_id(uid) && is_id(sid) && secret.len() >= 43 && parts.next().is_none()).then_some((uid, sid))
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_ids_are_read_only_from_the_full_form() {
        let (u, s) = (
            "0b8e7c2a-0000-4000-8000-000000000001",
            "0b8e7c2a-0000-4000-8000-000000000002",
        );
        let secret = "x".repeat(43);
        assert_eq!(
            super::token_ids(&format!("lkr_{u}.{s}.{secret}")),
            Some((u, s))
        );
        for bad in [
            format!("lkr_{secret}"),
            format!("lkr_{u}.{s}"),
            format!("lkr_{u}.{s}.short"),
            format!("lkr_{u}.{s}.{secret}.more"),
            format!("lkr_nope.{s}.{secret}"),
        ] {
            assert_eq!(super::token_ids(&bad), None, "{bad}");
        }
    }
}
