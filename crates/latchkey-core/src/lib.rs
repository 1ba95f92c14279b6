//! Latchkey's domain: accounts, sessions, token rules and storage. Nothing here knows about
//! HTTP; the server crate parses requests into these types and maps `AuthError` to responses.

pub mod audit;
pub mod auth;
pub mod clock;
pub mod domain;
pub mod error;
pub mod input;
pub mod jwt;
pub mod mail;
pub mod master_key;
pub mod oidc;
pub mod password;
pub mod policy;
pub mod secret;
pub mod sms;
pub mod state;
pub mod store;

pub use auth::{Auth, ClientInfo, Grant, LoginOutcome, Settings, SignupMode};
pub use clock::Clock;
pub use domain::{Org, OrgProfile, Role, User};
pub use error::{AuthError, AuthResult, TokenProblem};
