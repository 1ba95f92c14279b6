//! `/account`: the person's own console.

// ---- sessions and API keys (adminkeys) ----
pub mod device;
pub mod keys;
pub mod sessions;

// ---- totp: /account/security ----
pub mod security;
