//! Sign-in through a provider (Google, Microsoft, any OpenID provider): a known identity
//! signs in, a verified address links or signs up, an unvouched one proves the address by a
//! code first (`sign_in`); linking a provider to a signed-in account through a confirmation
//! page (`link`); listing and removing links, and the clean-up after a password change or
//! reset (`identities`). Results reach the app as one-time codes (`login_handoffs`).
//!
//! Other areas may call: `after_password_replaced` (the password flows of `accounts`).
//!
//! This area calls: `accounts` (create an account, mark or require a verified address, take
//! over), `codes` (the address code, attempt counting), `mfa` (the second factor of a provider
//! sign-in, the change notice), `sessions::open_session`, and the shared base.

pub mod hosted;
pub mod identities;
mod link;
mod sign_in;

pub(in crate::auth) use identities::Replaced;
pub use link::PendingLink;
pub use sign_in::{CompleteSignup, Exchanged, HANDOFF_TTL_MS, SIGNUP_STEP_TTL_MS};
