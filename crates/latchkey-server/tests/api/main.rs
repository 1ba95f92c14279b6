//! One integration-test binary (so it links once), one module per area.

mod helpers;

mod accounts;
mod admin;
mod api_keys;
mod attacks;
mod bad_input;
mod client_ip;
mod forward_auth;
mod instances;
mod logs;
mod openapi;
mod process;
mod raw_http;
mod scopes;
mod sessions;
mod slow_clients;
mod tokens;
