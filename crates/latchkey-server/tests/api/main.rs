//! One integration-test binary (so it links once), one module per area.

mod helpers;

mod accounts;
mod admin;
mod api_keys;
mod api_token_limits;
mod at_rest;
mod attacks;
mod bad_input;
mod client_ip;
mod command_line;
mod forward_auth;
mod forward_strict;
mod instances;
mod logs;
mod openapi;
mod owned_redis;
mod process;
mod publish;
mod raw_http;
mod redis_faults;
mod scope_catalogue;
mod scopes;
mod sessions;
mod slow_clients;
mod socketio;
mod state_growth;
mod times;
mod tokens;
mod websocket;
