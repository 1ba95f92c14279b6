//! Accounts: sign-up and password sign-in (`account`), the user's cached record (`users`),
//! passwords (change, forgotten, reset), email verification, the phone number, the
//! person's own profile (name, phone, change of address, deletion: `profile`), an
//! organization's members as its admins manage them (`admin`), and the takeover that a proof
//! of an unverified address performs (`takeover`).
//!
//! Other areas may call (`pub(in crate::auth)`): `create_account`, `signup_allowed` (provider
//! sign-ups follow the sign-up setting too) and `register_verified`
//! (provider and code sign-in make accounts through them), `login_by` (the OAuth password
//! grant), `user`, `user_of`, `load_user_record`, `publish_user`, `mark_verified`,
//! `require_verified` and `take_over`. Everything else here is private to the area.
//!
//! This area calls: `sessions` (open, end and revoke sessions), `codes` (the attempt counters
//! of `lockout`, the mail queue), `mfa` (whether a second factor is due, the change notice),
//! `api_keys` (the default key of a new account), `social::after_password_replaced`, and the
//! shared base (`audit`, `publish`, `catalogue`, `scopes`).

pub mod account;
mod admin;
mod passwords;
pub mod phone;
pub mod profile;
mod takeover;
mod users;
mod verification;

pub use account::{LoginOutcome, SignupMode};
pub(in crate::auth) use users::user_of;
pub use verification::VerificationLink;
