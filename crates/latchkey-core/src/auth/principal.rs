//! Who is calling, as every protected route and the forward-auth endpoint see it.

use crate::domain::Role;
use crate::error::{AuthError, AuthResult};

/// The caller, with scopes as they are *now* (not as they were when the token was issued).
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: String,
    pub org_id: String,
    /// The user's role for their own session; always `Member` for an API token and for a
    /// narrowed (capped) access token: neither is the user, and routes that need a role (or act
    /// on the account) need the user's own, full session.
    pub role: Role,
    pub scopes: Vec<String>,
    pub credential: Credential,
    /// The cap of a narrowed grant (OAuth `scope`): the scopes it may ever carry. A capped
    /// token acts only through those scopes, never as the account (see `require_session`).
    pub cap: Option<Vec<String>>,
    /// Where the request came from (recorded in the audit log); empty where no HTTP request
    /// carries the credential (sockets, forward-auth).
    pub client: super::ClientInfo,
    /// The user's record as the token check read it, for a user's session: `/me` answers
    /// from it instead of a second read of the store.
    pub(crate) record: Option<std::sync::Arc<crate::state::UserRecord>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A user's access token (JWT) of session `sid`.
    Session { sid: String },
    /// An auth token minted from API key `key_id` at `/get-token`.
    ApiToken { key_id: String },
}

impl Principal {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn session_id(&self) -> Option<&str> {
        match &self.credential {
            Credential::Session { sid } => Some(sid),
            Credential::ApiToken { .. } => None,
        }
    }

    pub fn key_id(&self) -> Option<&str> {
        match &self.credential {
            Credential::ApiToken { key_id } => Some(key_id),
            Credential::Session { .. } => None,
        }
    }

    pub fn require_scopes<'a>(&self, wanted: impl IntoIterator<Item = &'a str>) -> AuthResult<()> {
        for scope in wanted {
            if !self.has_scope(scope) {
                return Err(AuthError::InsufficientScope(scope.to_owned()));
            }
        }
        Ok(())
    }

    /// Routes that act as the user or show the account (key management, sessions, the
    /// organization, admin and account changes) need the user's own, full session: an API token
    /// acts for its key, and a narrowed token for its scopes only. Letting a narrowed token in
    /// would let it mint a key (or grant itself scopes) beyond its cap.
    pub fn require_session(&self) -> AuthResult<&str> {
        let sid = self.own_session()?;
        if self.cap.is_some() {
            return Err(AuthError::Forbidden(
                "this route needs a full sign-in, not a token narrowed to some scopes",
            ));
        }
        Ok(sid)
    }

    /// The session behind a user's access token, narrowed or not: enough to end that very
    /// session (logout), which gives nothing away.
    pub fn own_session(&self) -> AuthResult<&str> {
        self.session_id().ok_or(AuthError::Forbidden(
            "this route needs a user's access token, not an API token",
        ))
    }

    pub fn require_admin(&self) -> AuthResult<()> {
        self.require_session()?;
        if self.role != Role::Admin {
            return Err(AuthError::Forbidden(
                "only an organization admin may do this",
            ));
        }
        Ok(())
    }
}
