//! One integration-test binary (so it links once), one module per area.

mod helpers;

mod accounts;
mod admin;
mod api_keys;
mod api_token_limits;
mod at_rest;
mod attacks;
mod bad_input;
mod browser;
mod client_ip;
mod command_line;
mod forward_auth;
mod forward_strict;
mod instances;
mod logs;
mod oidc_stub;
mod openapi;
mod phone;
mod process;
mod publish;
mod raw_http;
mod real_provider;
mod redis_faults;
mod rust_client;
mod scope_catalogue;
mod scopes;
mod sdk_typescript;
mod sessions;
mod slow_clients;
mod social;
mod state_growth;
mod times;
mod tokens;
