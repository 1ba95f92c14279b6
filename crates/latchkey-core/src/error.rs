//! The domain's one error type. The HTTP layer maps each variant to a status and machine code in
//! one place; `Unexpected` carries internal causes that are logged, never shown.

use std::time::Duration;

/// Why a token was refused. The message tells the client which, the code stays `invalid_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Malformed,
    Expired,
    BadSignature,
    UnknownKey,
    WrongIssuerOrAudience,
    Revoked,
    /// A refresh token that was already rotated came back outside the grace: the session is
    /// revoked as a precaution (possible theft).
    Reused,
    /// An expired access token offered for a lenient refresh a second time.
    AlreadyExchanged,
    /// An access token offered for a lenient refresh before it expired: renewing a live token
    /// is the refresh token's job (and only there does reuse detection apply).
    NotYetExpired,
    /// A token minted by a lenient refresh offered for another one: the exchange does not chain.
    NotRenewable,
    /// An API key (`lk_…`) sent where a token belongs.
    ApiKeyNotToken,
    /// A refresh token (`lkr_…`) sent to a route that wants an access token.
    RefreshTokenNotAccess,
    Unknown,
}

impl TokenProblem {
    pub fn message(self) -> &'static str {
        match self {
            TokenProblem::Malformed => "the token is malformed",
            TokenProblem::Expired => "the token has expired",
            TokenProblem::BadSignature => "the token's signature is invalid",
            TokenProblem::UnknownKey => "the token was signed with an unknown key",
            TokenProblem::WrongIssuerOrAudience => {
                "the token was issued for another issuer or audience"
            }
            TokenProblem::Revoked => "the token's session has been revoked",
            TokenProblem::Reused => {
                "the refresh token was already used; the session has been revoked"
            }
            TokenProblem::AlreadyExchanged => "this access token was already exchanged once",
            TokenProblem::NotYetExpired => {
                "the access token has not expired yet; renew it with your refresh token \
                 (refresh_token in the body of POST /api/v1/auth/refresh)"
            }
            TokenProblem::NotRenewable => {
                "this access token came from an expired-token exchange and cannot be exchanged \
                 again; use your refresh token at POST /api/v1/auth/refresh"
            }
            TokenProblem::ApiKeyNotToken => {
                "this is an API key, not a token; exchange it for an auth token at \
                 POST /get-token first"
            }
            TokenProblem::RefreshTokenNotAccess => {
                "this is a refresh token; exchange it for an access token at \
                 POST /api/v1/auth/refresh"
            }
            TokenProblem::Unknown => "the token is not recognized",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid {field}: {message}")]
    InvalidInput {
        field: &'static str,
        message: String,
    },
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("{}", .0.message())]
    InvalidToken(TokenProblem),
    #[error("the token lacks the scope {0}")]
    InsufficientScope(String),
    #[error("the scope {0} is not in the scope catalogue")]
    UnknownScope(String),
    /// An organization admin tried to grant a scope the operator keeps for operators.
    #[error(
        "the scope {0} may be granted by an operator only (not listed in admin_grantable_scopes)"
    )]
    NotGrantable(String),
    /// A client asked for a scope the grant does not hold (OAuth `invalid_scope`).
    #[error("the scope {0} was not granted")]
    ScopeNotGranted(String),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("{0}")]
    WeakPassword(String),
    #[error("the referral code is not known")]
    UnknownReferralCode,
    #[error("too many attempts; retry later")]
    RateLimited { retry_after: Duration },
    #[error("{0}")]
    InvalidApiKey(&'static str),
    #[error("{0}")]
    Conflict(&'static str),
    /// An address that is not valid, or that the mail server refused.
    #[error("invalid email, try again")]
    InvalidEmail,
    /// Wrong, expired, used or unknown: one answer for all, so none can be told apart.
    #[error("the session code is wrong, expired or already used")]
    InvalidSessionCode,
    /// A wrong second factor; `attempts_left` when the login counts tries.
    #[error("the two-factor code is wrong or was already used")]
    InvalidMfaCode { attempts_left: Option<u32> },
    #[error("the MFA token is unknown, expired, used or out of tries; log in again")]
    InvalidMfaToken,
    #[error("the reset token is unknown, expired or already used")]
    InvalidResetToken,
    #[error("the verification token is unknown, expired or already used")]
    InvalidVerificationToken,
    #[error(
        "the email address is not verified yet: open the link in the verification mail, or sign in with a mailed code"
    )]
    EmailNotVerified,
    #[error("the account is disabled")]
    AccountDisabled,
    /// A sensitive change without a credential proved recently in this session.
    #[error(
        "this change needs a recent re-authentication: confirm your password, a two-factor code or a mailed code at POST /api/v1/auth/reauthenticate, then retry"
    )]
    ReauthenticationRequired,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the service is overloaded; retry later")]
    Busy,
    /// A sign-in through an external provider was refused (state, code or ID token).
    #[error("{0}")]
    ExternalLogin(&'static str),
    /// A store the answer depends on (Redis, the database) cannot be reached right now. The
    /// request was refused, never allowed: the client may retry.
    #[error("a storage backend is unreachable; retry later")]
    Unavailable(anyhow::Error),
    /// The change is committed to the database but not yet in force: the token store could
    /// not be reached. It takes effect once the store is back (every instance retries).
    #[error(
        "the change is saved and will take effect once the token store is reachable; retrying the same call is safe"
    )]
    Unpublished,
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

/// Marks an error as "the store could not be reached" (as opposed to a bug): it becomes
/// `AuthError::Unavailable` wherever `?` converts it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreUnavailable(pub &'static str);

impl From<anyhow::Error> for AuthError {
    fn from(e: anyhow::Error) -> Self {
        // `downcast_ref` finds it as the outermost context, `chain` anywhere as a source.
        if e.downcast_ref::<StoreUnavailable>().is_some()
            || e.chain().any(|c| c.is::<StoreUnavailable>())
        {
            AuthError::Unavailable(e)
        } else {
            AuthError::Unexpected(e)
        }
    }
}

impl AuthError {
    /// The store a failure came from, `"redis"` or `"database"`, for the metrics; `None` when
    /// the error is not a storage failure.
    pub fn failed_store(&self) -> Option<&'static str> {
        let cause = match self {
            // Only the token store can leave a change unpublished, and only Redis fails.
            AuthError::Unpublished => return Some("redis"),
            AuthError::Unavailable(e) | AuthError::Unexpected(e) => e,
            _ => return None,
        };
        cause.chain().find_map(|c| {
            if c.is::<redis::RedisError>() || c.is::<StoreUnavailable>() {
                Some("redis")
            } else if c.is::<sqlx::Error>() {
                Some("database")
            } else {
                None
            }
        })
    }

    pub fn invalid_field(field: &'static str, message: impl Into<String>) -> Self {
        AuthError::InvalidInput {
            field,
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> Self {
        // A lost or exhausted database is a reason to retry, not a bug.
        // PostgreSQL's class 57P: shutting down, crashed, or not yet accepting connections.
        let unreachable = match &e {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("57P")),
            _ => false,
        };
        let e = anyhow::Error::new(e).context("database");
        if unreachable {
            AuthError::Unavailable(e)
        } else {
            AuthError::Unexpected(e)
        }
    }
}

pub type AuthResult<T> = Result<T, AuthError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_store_is_unavailable_and_anything_else_unexpected() {
        let tagged = anyhow::anyhow!("connection refused").context(StoreUnavailable("Redis"));
        assert!(matches!(AuthError::from(tagged), AuthError::Unavailable(_)));
        // Also when more context was added on top.
        let deeper = anyhow::anyhow!("refused")
            .context(StoreUnavailable("Redis"))
            .context("loading a user");
        assert!(matches!(AuthError::from(deeper), AuthError::Unavailable(_)));
        assert!(matches!(
            AuthError::from(anyhow::anyhow!("a bug")),
            AuthError::Unexpected(_)
        ));
        assert!(matches!(
            AuthError::from(sqlx::Error::PoolTimedOut),
            AuthError::Unavailable(_)
        ));
        assert!(matches!(
            AuthError::from(sqlx::Error::RowNotFound),
            AuthError::Unexpected(_)
        ));
    }

    #[test]
    fn storage_failures_name_their_store() {
        let redis =
            redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let e = AuthError::from(anyhow::Error::new(redis).context(StoreUnavailable("Redis")));
        assert_eq!(e.failed_store(), Some("redis"));
        let e = AuthError::from(sqlx::Error::PoolTimedOut);
        assert_eq!(e.failed_store(), Some("database"));
        let e = AuthError::from(sqlx::Error::RowNotFound);
        assert_eq!(e.failed_store(), Some("database"));
        assert_eq!(AuthError::Unpublished.failed_store(), Some("redis"));
        assert_eq!(
            AuthError::from(anyhow::anyhow!("a bug")).failed_store(),
            None
        );
        assert_eq!(AuthError::InvalidCredentials.failed_store(), None);
    }
}
