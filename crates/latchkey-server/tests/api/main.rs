//! One integration-test binary (so it links once), one module per area.

mod helpers;

mod accounts;
mod admin;
mod admin_org;
mod api_keys;
mod api_token_limits;
mod at_rest;
mod attacks;
mod audit;
mod bad_input;
mod browser;
mod client_ip;
mod command_line;
mod floods;
mod forward_auth;
mod forward_query;
mod forward_strict;
mod guards;
mod hot_path;
mod instances;
mod key_rotation;
mod lockout;
mod logs;
mod metrics;
mod mfa;
mod oauth;
mod openapi;
mod operator;
mod pages;
mod passwords;
// The SMS webhook stand-in is a plain axum router (see `helpers/mod.rs`).
#[expect(
    clippy::disallowed_methods,
    reason = "the SMS webhook stand-in is not the server's route table"
)]
mod phone;
mod profile;
mod proxies;
mod proxies_ws;
mod publish;
mod raw_http;
mod real_provider;
mod reauth;
mod redis_faults;
mod rust_client;
mod rust_client_sign_in;
mod rust_client_ws;
mod scope_catalogue;
mod scopes;
mod sdk_typescript;
mod sessions;
mod sign_in_codes;
mod slow_clients;
mod social;
mod social_link;
mod social_signup_modes;
mod socketio;
mod state_growth;
mod takeover;
mod times;
mod tokens;
mod trust;
mod web_session;
mod websocket;
