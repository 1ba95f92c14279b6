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
    #[error("the account is disabled")]
    AccountDisabled,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the service is overloaded; retry later")]
    Busy,
    /// The change is committed to the database but not yet in force: the token store could
    /// not be reached. It takes effect once the store is back (every instance retries).
    #[error(
        "the change is saved and will take effect once the token store is reachable; retrying the same call is safe"
    )]
    Unpublished,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl AuthError {
    pub fn invalid_field(field: &'static str, message: impl Into<String>) -> Self {
        AuthError::InvalidInput {
            field,
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> Self {
        AuthError::Unexpected(anyhow::Error::new(e).context("database"))
    }
}

pub type AuthResult<T> = Result<T, AuthError>;
