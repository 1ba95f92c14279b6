//! Structured logs. Secrets never reach them: handlers log ids, not tokens, and the
//! sensitive-header layer hides credentials from anything that prints headers.

use tracing_subscriber::EnvFilter;

/// `level` is already validated by the configuration; `RUST_LOG` wins when it parses.
pub fn init(format: &str, level: &str) {
    let (filter, bad_rust_log) = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => match EnvFilter::try_new(&v) {
            Ok(f) => (f, None),
            Err(e) => (EnvFilter::new(level), Some(e)),
        },
        _ => (EnvFilter::new(level), None),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Standard output is for what commands print (a new user's key, a migration report).
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    if let Some(e) = bad_rust_log {
        tracing::warn!(error = %e, level, "RUST_LOG is not a valid filter and is ignored");
    }
}
