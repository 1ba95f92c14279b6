//! The OAuth 2.0 surface's rules: scope narrowing at the token endpoint (RFC 6749 §3.3),
//! token revocation (RFC 7009) and introspection (RFC 7662). The grants themselves are the
//! existing login, refresh and `/get-token` rules; only what OAuth adds lives here.

use std::sync::Arc;

pub use super::api_keys::OAuthClient;
use super::api_keys::TOKEN_PREFIX;
pub use super::scopes::parse_scope;
use super::scopes::{cap_holds, cap_of};
use super::sessions::{MAX_REFRESH_TOKEN, REFRESH_PREFIX, token_ids};
use super::{Auth, ClientInfo, Grant, LoginOutcome};
use crate::error::{AuthError, AuthResult};
use crate::secret::{Secret, sha256_hex};

/// Who asks to introspect: an API key as the OAuth client, or a bearer token.
#[derive(Debug)]
pub enum Introspector<'a> {
    Client(&'a OAuthClient),
    Token(&'a super::Principal),
}

/// What introspection tells a resource server about a token.
#[derive(Debug, Clone, Default)]
pub struct Introspection {
    pub active: bool,
    pub sub: Option<String>,
    pub scope: Option<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub client_id: Option<String>,
    pub token_type: Option<&'static str>,
    pub org: Option<String>,
    pub sid: Option<String>,
}

impl Introspection {
    fn inactive() -> Self {
        Introspection::default()
    }
}

impl Auth {
    /// The password grant: a login whose access token carries `scope` when one is asked. A
    /// refused scope ends the session the login just opened, so no orphan is left behind.
    pub async fn oauth_password(
        &self,
        email: &str,
        password: &Secret,
        client: &ClientInfo,
        scope: Option<&[String]>,
    ) -> AuthResult<LoginOutcome> {
        let outcome = self
            .login_by(email, password, client, "oauth_password")
            .await?;
        let (LoginOutcome::Signed(grant), Some(scope)) = (&outcome, scope) else {
            return Ok(outcome);
        };
        match self.narrow(grant.clone(), scope).await {
            Ok(narrowed) => Ok(LoginOutcome::Signed(narrowed)),
            Err(e) => {
                self.end_session(&grant.session_id, "scope-refused", None)
                    .await?;
                Err(e)
            }
        }
    }

    /// The refresh grant. A narrowed grant stays narrowed (`refresh` carries the cap on every
    /// path); a `scope` may only name scopes of the grant (RFC 6749 §6) that the user still
    /// holds. Scopes are checked *before* the token rotates: a refused request must not spend
    /// the client's refresh token.
    pub async fn oauth_refresh(
        &self,
        token: &str,
        scope: Option<&[String]>,
        client: &ClientInfo,
    ) -> AuthResult<Grant> {
        let (Some(scope), Some((uid, _))) = (scope, token_ids(token)) else {
            return self.refresh(token, client).await;
        };
        let parent = self
            .db
            .refresh_by_hash(&sha256_hex(token.as_bytes()))
            .await?;
        if let Some(cap) = parent
            .map(|row| cap_of(&row.access_claims))
            .transpose()?
            .flatten()
            && let Some(missing) = scope.iter().find(|s| !cap_holds(&cap, s))
        {
            return Err(AuthError::ScopeNotGranted(missing.clone()));
        }
        let mut held = self.user_record(uid).await?.scopes;
        self.honoured(&mut held);
        if let Some(missing) = scope.iter().find(|s| !held.contains(s)) {
            return Err(AuthError::ScopeNotGranted(missing.clone()));
        }
        let grant = self.refresh(token, client).await?;
        self.narrow(grant, scope).await
    }

    /// A grant whose access token carries only `requested`, each of which the user must hold
    /// now. The narrowed claims (with their cap) are stored with the refresh token, so every
    /// later refresh of the grant, on any path, stays within them.
    async fn narrow(&self, mut grant: Grant, requested: &[String]) -> AuthResult<Grant> {
        let mut held = grant.user.scopes.clone();
        self.honoured(&mut held);
        if let Some(missing) = requested.iter().find(|s| !held.contains(s)) {
            return Err(AuthError::ScopeNotGranted(missing.clone()));
        }
        let mut claims = self
            .keys()
            .verify_signature(grant.access_token.expose())
            .map_err(AuthError::InvalidToken)?;
        let mut scope: Vec<&str> = held
            .iter()
            .filter(|s| requested.contains(s))
            .map(String::as_str)
            .collect();
        scope.dedup();
        claims.scope = scope.join(" ");
        claims.cap = Some(claims.scope.clone());
        grant.access_token = Secret::new(self.keys().sign(&claims)?);
        if let Some(refresh) = &grant.refresh_token {
            let stored = serde_json::to_string(&claims).map_err(anyhow::Error::from)?;
            self.db
                .set_refresh_claims(&sha256_hex(refresh.expose().as_bytes()), &stored)
                .await?;
        }
        Ok(grant)
    }

    /// The scopes a grant's access token carries now, as the `scope` response parameter.
    pub fn granted_scope(&self, grant: &Grant) -> String {
        match self.keys().verify_signature(grant.access_token.expose()) {
            Ok(claims) => claims.scope,
            Err(_) => String::new(),
        }
    }

    /// RFC 7009: ends what `token` stands for. A refresh token or a user's access token ends
    /// its session; an API auth token is dropped (the key mints a new one at `/get-token`).
    /// Unknown, malformed or already-dead tokens are not an error: the client's goal (the
    /// token no longer works) is met, and the answer must not tell valid tokens apart.
    pub async fn revoke_token(&self, token: &str) -> AuthResult<()> {
        if token.starts_with(REFRESH_PREFIX) {
            if token.len() > MAX_REFRESH_TOKEN {
                return Ok(());
            }
            let hash = sha256_hex(token.as_bytes());
            if let Some(ctx) = self.db.refresh_context(&hash).await?
                && !ctx.session_revoked
            {
                self.end_session(&ctx.token.session_id, "oauth-revoke", None)
                    .await?;
            }
            return Ok(());
        }
        if token.starts_with(TOKEN_PREFIX) {
            return self.revoke_api_token(token).await;
        }
        // Signature, issuer and audience must hold (an expired token may still name a live
        // session): nobody ends a session with a token they made up.
        match self.verify_signature_any(token).await {
            Ok(claims) => self.end_session(&claims.sid, "oauth-revoke", None).await,
            // Unsure whether it was ours: say so (503) rather than claim it is revoked.
            Err(e @ AuthError::Unavailable(_)) => Err(e),
            Err(_) => Ok(()),
        }
    }

    /// RFC 7662 for the caller's organization: tokens of other organizations are not theirs to
    /// inspect and read as inactive. Only a caller holding the reserved `latchkey:introspect`
    /// scope (which only an operator grants) may ask: an answer names the token's user, session
    /// and scopes, which no ordinary member's key should read about an admin's token. A store
    /// that cannot answer is an error (503), never "active".
    pub async fn introspect(
        &self,
        caller: Introspector<'_>,
        token: &str,
    ) -> AuthResult<Introspection> {
        let (org, scopes) = match caller {
            Introspector::Client(c) => (&c.org_id, &c.scopes),
            Introspector::Token(p) => (&p.org_id, &p.scopes),
        };
        if !scopes
            .iter()
            .any(|s| s == super::catalogue::INTROSPECT_SCOPE)
        {
            return Err(AuthError::InsufficientScope(
                super::catalogue::INTROSPECT_SCOPE.to_owned(),
            ));
        }
        let found = if token.starts_with(REFRESH_PREFIX) {
            self.introspect_refresh(token).await?
        } else {
            self.introspect_access(token).await?
        };
        Ok(match found {
            Some(info) if info.org.as_deref() == Some(org.as_str()) => info,
            _ => Introspection::inactive(),
        })
    }

    async fn introspect_access(&self, token: &str) -> AuthResult<Option<Introspection>> {
        // Introspection is not a use: an API token's expiry must not slide because a resource
        // server asked about it (it would keep an idle token alive for as long as anyone asks).
        let principal = match self.inspect(token).await {
            Ok(p) => p,
            Err(e @ (AuthError::Unavailable(_) | AuthError::Busy | AuthError::Unexpected(_))) => {
                return Err(e);
            }
            Err(_) => return Ok(None),
        };
        let (principal, expires_at) = principal;
        let (exp, iat, client_id) = match (principal.key_id(), expires_at) {
            (Some(kid), Some(at)) => (at.div_euclid(1000), None, Some(kid.to_owned())),
            _ => {
                let claims = self.verify_access(token).await?;
                (claims.exp, Some(claims.iat), None)
            }
        };
        Ok(Some(Introspection {
            active: true,
            sub: Some(principal.user_id.clone()),
            scope: Some(principal.scopes.join(" ")),
            exp: Some(exp),
            iat,
            client_id,
            token_type: Some("Bearer"),
            org: Some(principal.org_id.clone()),
            sid: principal.session_id().map(str::to_owned),
        }))
    }

    async fn introspect_refresh(&self, token: &str) -> AuthResult<Option<Introspection>> {
        if token.len() > MAX_REFRESH_TOKEN {
            return Ok(None);
        }
        let hash = sha256_hex(token.as_bytes());
        let Some(ctx) = self.db.refresh_context(&hash).await? else {
            return Ok(None);
        };
        let now = self.clock.now_ms();
        // A spent token is not active even inside the reuse grace: the grace answers a lost
        // response, it does not make the parent a credential again.
        if ctx.session_revoked
            || ctx.user.disabled
            || ctx.token.used_at.is_some()
            || ctx.token.expires_at <= now
        {
            return Ok(None);
        }
        let user = Arc::new(ctx.user);
        let mut scopes = user.scopes.clone();
        self.honoured(&mut scopes);
        // A narrowed grant reports what its next access token would carry, not the user's all.
        if let Some(cap) = cap_of(&ctx.token.access_claims)? {
            scopes.retain(|s| cap_holds(&cap, s));
        }
        Ok(Some(Introspection {
            active: true,
            sub: Some(user.id.clone()),
            scope: Some(scopes.join(" ")),
            exp: Some(ctx.token.expires_at / 1000),
            iat: None,
            client_id: None,
            token_type: Some("refresh_token"),
            org: Some(user.org_id.clone()),
            sid: Some(ctx.token.session_id),
        }))
    }
}
