//! `/account`: the person's own console.

/// The inline password prompt the pages below share.
mod reauth;

// ---- sessions and API keys (adminkeys) ----
pub mod device;
pub mod keys;
pub mod sessions;

// ---- totp: /account/security ----
pub mod security;
