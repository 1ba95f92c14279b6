//! Second factors and re-authentication: TOTP enrolment, confirmation and removal, recovery
//! codes, the MFA challenge of a sign-in (`second_factor`); the proof of a credential a
//! sensitive change needs and the notice mailed after one (`reauth`).
//!
//! Other areas may call: `mfa_enabled`, `mfa_challenge`, `check_second_factor`,
//! `record_mfa_failure` (the sign-in flows), `notify_change` (every sensitive change) and
//! `beyond_read` (which API-key scopes need a recent proof).
//!
//! This area calls: `codes` (attempt counters), `sessions` (open a session, end the others),
//! and the shared base.

pub mod reauth;
mod second_factor;

pub(in crate::auth) use reauth::beyond_read;
pub use second_factor::{MAX_MFA_ATTEMPTS, TotpEnrollment};
