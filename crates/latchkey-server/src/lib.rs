//! The Latchkey HTTP service: configuration, wiring, and the HTTP edge over `latchkey-core`.

pub mod app;
pub mod cli;
pub mod config;
pub mod data_dir;
pub mod http;
pub mod oidc_config;
pub mod policy;
pub mod serve;
mod shaped_io;
pub mod telemetry;

pub use app::{App, AppState, Running, start};
pub use config::Config;
