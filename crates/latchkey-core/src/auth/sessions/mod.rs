//! Sessions and the tokens that carry them: opening a session and its first grant
//! (`session`), refresh-token rotation, replay and the lenient refresh (`refresh`), the
//! signing keyring and access-token verification (`signing`), the revocation list and its
//! announcements (`revocations`), the per-request check of a bearer token (`authenticate`),
//! and live sockets (`live`).
//!
//! Other areas may call: `open_session`, `end_session`, `end_other_sessions`,
//! `revoke_all_sessions`, `inspect`, `keys`, `verify_access`, `verify_signature_any`,
//! `add_signing_key`, `publish_revocation`, `rebuild_revocations`, and `token_ids` /
//! `MAX_REFRESH_TOKEN` (the refresh-token format, which OAuth revocation and introspection read).
//!
//! This area calls: `accounts` (the user's record), `api_keys` (an API token presented as a
//! bearer), `codes::device_token` (handed out with a new sign-in), and the shared base.

mod authenticate;
pub mod live;
mod refresh;
mod revocations;
mod session;
mod signing;

pub(in crate::auth) use revocations::Revocations;
pub(in crate::auth) use session::{MAX_REFRESH_TOKEN, token_ids};
pub use session::{REFRESH_PREFIX, SessionInfo};
pub(in crate::auth) use signing::ReloadThrottle;
