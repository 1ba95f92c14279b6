//! The Latchkey HTTP service: configuration, wiring, and the HTTP edge over `latchkey-core`.

pub mod app;
pub mod cli;
pub mod config;
pub mod data_dir;
pub mod http;
mod jobs;
pub mod limits;
pub mod oidc_config;
pub mod origin;
pub mod policy;
pub mod serve;
mod shaped_io;
pub mod state;
pub mod telemetry;
pub mod web;

pub use app::{Running, start};
pub use config::Config;
pub use state::{App, AppState};
