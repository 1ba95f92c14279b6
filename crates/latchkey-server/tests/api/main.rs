//! One integration-test binary (so it links once), one module per area.

mod helpers;

mod accounts;
mod admin;
mod api_keys;
mod api_token_limits;
mod attacks;
mod bad_input;
mod forward_auth;
mod instances;
mod openapi;
mod owned_redis;
mod publish;
mod scopes;
mod sessions;
mod state_growth;
mod tokens;
