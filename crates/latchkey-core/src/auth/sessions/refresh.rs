//! Refresh: rotation with reuse detection and a parent-only grace, and the bounded lenient
//! refresh from an expired access token.
//!
//! Rules:
//! - every use rotates: R1 → R2, and R1 is marked used in the same compare-and-set that stores R2;
//! - R1 again within `refresh_reuse_grace` of its use, while R2 is still unused, answers with exactly
//!   R2's pair (parallel tabs, a response lost on a mobile network): never a new branch;
//! - R1 after the grace, or any older ancestor, is theft until proven otherwise: the session is
//!   revoked, which kills R2 and every access token of the session at once;
//! - the access token of the previous pair is left alone: requests in flight still succeed.

use std::sync::Arc;

use super::session::{REFRESH_PREFIX, token_ids};
use crate::auth::audit::AuditEvent;
use crate::auth::scopes::cap_of;
use crate::auth::{Auth, ClientInfo, Grant};
use crate::domain::User;
use crate::error::{AuthError, AuthResult, TokenProblem};
use crate::jwt::{AccessClaims, LEEWAY_SECS};
use crate::secret::{hmac_b64, sha256_hex};
use crate::store::{NewChild, RefreshRow};

impl Auth {
    /// Exchanges a refresh token for the next pair; `client` is recorded when it detects a
    /// reuse.
    pub async fn refresh(&self, presented: &str, client: &ClientInfo) -> AuthResult<Grant> {
        let (uid, sid) =
            token_ids(presented).ok_or(AuthError::InvalidToken(TokenProblem::Malformed))?;
        let hash = sha256_hex(presented.as_bytes());
        // The common case in one round trip: the next pair is built from the user's live
        // record, then one compare-and-set (unspent, unexpired, live session) stores the child.
        // Only for a chain without a cap: the parent is not read here, so a narrowed grant
        // takes the full path, which reads its cap (fail closed: never the full scopes).
        let record = self.user_record(uid).await?;
        let unproven = self.settings.require_verified_email && record.email_verified != Some(true);
        if !record.disabled && !unproven {
            let user = Arc::new(crate::auth::accounts::user_of(uid, record));
            if let Some(grant) = self
                .try_rotate(presented, &hash, sid, user, Parent::Uncapped)
                .await?
            {
                return Ok(grant);
            }
        }
        // Anything else (unknown, spent, expired, revoked, a lost race): read the token, its
        // session and its user, and decide.
        let ctx = self
            .db
            .refresh_context(&hash)
            .await?
            .ok_or(AuthError::InvalidToken(TokenProblem::Unknown))?;
        if ctx.session_revoked {
            return Err(AuthError::InvalidToken(TokenProblem::Revoked));
        }
        if ctx.token.expires_at <= self.clock.now_ms() {
            return Err(AuthError::InvalidToken(TokenProblem::Expired));
        }
        if ctx.user.disabled {
            return Err(AuthError::AccountDisabled);
        }
        // Verified addresses required: a session opened before that (or before the setting)
        // does not outlive it.
        if self.settings.require_verified_email && !ctx.user.email_verified {
            return Err(AuthError::EmailNotVerified);
        }
        let (mut row, user) = (ctx.token, Arc::new(ctx.user));
        if row.used_at.is_none() {
            // The live record was behind the database (e.g. just re-enabled), or the grant is
            // narrowed: rotate with the database's view, keeping the parent's cap.
            let parent = match cap_of(&row.access_claims)? {
                Some(cap) => Parent::Capped(cap),
                None => Parent::Uncapped,
            };
            if let Some(grant) = self
                .try_rotate(presented, &hash, sid, user.clone(), parent)
                .await?
            {
                return Ok(grant);
            }
            // Another request rotated it first (we waited for its commit): answer as a
            // replay of the parent, with the winner's stamp.
            row = self
                .db
                .refresh_by_hash(&hash)
                .await?
                .ok_or(AuthError::InvalidToken(TokenProblem::Unknown))?;
        }
        self.replay(&row, self.child_of(presented, uid, sid), user, client)
            .await
    }

    /// A token sent as `Authorization: Bearer` to the refresh route: a refresh token rotates;
    /// anything else is taken as an expired access token asking for the lenient refresh.
    pub async fn refresh_bearer(&self, token: &str, client: &ClientInfo) -> AuthResult<Grant> {
        if token.starts_with(REFRESH_PREFIX) {
            self.refresh(token, client).await
        } else {
            self.lenient_refresh(token).await
        }
    }

    /// Rotates `presented` into its child if it is unspent, unexpired and its session live
    /// (and, for `Parent::Uncapped`, carries no cap); `None` when any of that fails.
    async fn try_rotate(
        &self,
        presented: &str,
        hash: &str,
        sid: &str,
        user: Arc<User>,
        parent: Parent,
    ) -> AuthResult<Option<Grant>> {
        let now = self.clock.now_ms();
        let mut claims = self.claims_for(&user, sid, now.div_euclid(1000));
        if let Parent::Capped(cap) = &parent {
            self.apply_cap(&mut claims, &user, cap);
        }
        let child_token = self.child_of(presented, &user.id, sid);
        let child = NewChild {
            id: uuid::Uuid::new_v4().to_string(),
            token_hash: sha256_hex(child_token.as_bytes()),
            access_claims: serde_json::to_string(&claims).map_err(anyhow::Error::from)?,
            expires_at: now + self.settings.refresh_token_ttl.as_millis() as i64,
        };
        let uncapped_only = matches!(parent, Parent::Uncapped);
        if !self
            .db
            .rotate_by_hash(hash, sid, &child, now, uncapped_only)
            .await?
        {
            return Ok(None);
        }
        let expires_at = child.expires_at;
        Ok(Some(self.grant(
            &claims,
            Some((child_token, expires_at)),
            user,
        )?))
    }

    /// `parent` was already used. Inside the grace, and only if its child is still the current
    /// token, hand back the child's pair; otherwise revoke the session.
    async fn replay(
        &self,
        row: &RefreshRow,
        child_token: String,
        user: Arc<User>,
        client: &ClientInfo,
    ) -> AuthResult<Grant> {
        let now = self.clock.now_ms();
        let used_at = row.used_at.unwrap_or(now);
        let child = match &row.child_id {
            Some(id) => self.db.refresh_by_id(id).await?,
            None => None,
        };
        let within_grace = now - used_at <= self.settings.refresh_reuse_grace.as_millis() as i64;
        match child {
            Some(child) if within_grace && child.used_at.is_none() => {
                let claims: AccessClaims =
                    serde_json::from_str(&child.access_claims).map_err(anyhow::Error::from)?;
                tracing::info!(session_id = %row.session_id, "refresh replay inside the grace");
                self.grant(&claims, Some((child_token, child.expires_at)), user)
            }
            _ => {
                tracing::warn!(session_id = %row.session_id, generation = row.generation,
                    "refresh token reuse detected; revoking the session");
                // Whoever presented the token is not known to be the user: anonymous actor.
                let entry = self
                    .audit_anonymous(client, AuditEvent::RefreshTokenReuseDetected)
                    .subject(&user.id)
                    .detail("session_id", row.session_id.clone())
                    .detail("generation", row.generation);
                self.end_session(&row.session_id, "refresh token reuse", Some(entry))
                    .await?;
                Err(AuthError::InvalidToken(TokenProblem::Reused))
            }
        }
    }

    /// A client holding only a recently expired access token gets a new one for the
    /// same session. Bounded four ways: the token has expired (a live token is renewed with the
    /// refresh token, where reuse detection applies), less than `lenient_refresh_window` ago; it was
    /// not itself minted by this exchange (so a leaked token cannot be renewed in a chain);
    /// its session is live; and each `jti` is exchanged once. What remains: whoever holds a
    /// leaked access token can extend it once, by one access lifetime; logout ends it.
    pub async fn lenient_refresh(&self, access_token: &str) -> AuthResult<Grant> {
        if let Some(problem) = super::authenticate::misplaced_credential(access_token) {
            return Err(AuthError::InvalidToken(problem));
        }
        let window = self.settings.lenient_refresh_window.as_secs() as i64;
        let claims = self.verify_signature_any(access_token).await?;
        let now = self.clock.now_ms();
        let now_secs = now.div_euclid(1000);
        if now_secs < claims.exp {
            return Err(AuthError::InvalidToken(TokenProblem::NotYetExpired));
        }
        if claims.lnt {
            return Err(AuthError::InvalidToken(TokenProblem::NotRenewable));
        }
        if window == 0 || claims.exp + window + LEEWAY_SECS < now_secs {
            return Err(AuthError::InvalidToken(TokenProblem::Expired));
        }
        // Unknown (a lost list) is settled by the database check right below.
        if self.state.is_session_revoked(&claims.sid).await? == crate::state::Revocation::Revoked {
            return Err(AuthError::InvalidToken(TokenProblem::Revoked));
        }
        let user = self.live_session_user(&claims.sid).await?;
        if self.settings.require_verified_email && !user.email_verified {
            return Err(AuthError::EmailNotVerified);
        }
        if !self
            .db
            .claim_lenient_refresh(&claims.jti, &claims.sid, now)
            .await?
        {
            return Err(AuthError::InvalidToken(TokenProblem::AlreadyExchanged));
        }
        self.db.touch_session(&claims.sid, now).await?;
        let mut fresh = self.claims_for(&user, &claims.sid, now_secs);
        // A narrowed token stays narrowed: its cap is signed into it.
        if let Some(cap) = &claims.cap {
            self.apply_cap(&mut fresh, &user, cap);
        }
        fresh.lnt = true;
        self.grant(&fresh, None, user)
    }

    /// The session's owner, if the session is neither revoked nor expired and the account is
    /// enabled.
    async fn live_session_user(&self, sid: &str) -> AuthResult<Arc<User>> {
        let session = self
            .db
            .session(sid)
            .await?
            .ok_or(AuthError::InvalidToken(TokenProblem::Unknown))?;
        if session.revoked_at.is_some() {
            return Err(AuthError::InvalidToken(TokenProblem::Revoked));
        }
        if session.expires_at <= self.clock.now_ms() {
            return Err(AuthError::InvalidToken(TokenProblem::Expired));
        }
        let user = self
            .db
            .user_by_id(&session.user_id)
            .await?
            .ok_or(AuthError::InvalidToken(TokenProblem::Revoked))?;
        if user.disabled {
            return Err(AuthError::AccountDisabled);
        }
        Ok(Arc::new(user))
    }

    /// The next token of a chain: keyed with a server secret, so holding R1 is not enough to
    /// compute R2 offline, yet the server can recompute R2 from R1 without storing it.
    fn child_of(&self, token: &str, uid: &str, sid: &str) -> String {
        let mac = hmac_b64(&self.chain_key, token.as_bytes());
        format!("{REFRESH_PREFIX}{uid}.{sid}.{mac}")
    }
}

/// What a rotation knows of the parent's stored claims.
enum Parent {
    /// Not read (the fast path), or read without a cap: rotate only if it has none.
    Uncapped,
    /// Read: a narrowed grant's cap, carried to the child.
    Capped(String),
}
