//! Structured logs, on stderr (stdout stays for command output). Secrets never reach them:
//! handlers log ids, not tokens; the access log names routes, not paths or query strings; an
//! account appears only as `account_ref`.

use std::io::IsTerminal;

use hmac::{Hmac, Mac};
use sha2::Sha256;
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
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in files and log collectors.
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    if let Some(e) = bad_rust_log {
        tracing::warn!(error = %e, level, "RUST_LOG is not a valid filter and is ignored");
    }
}

/// A stable, non-reversible reference to an account for logs: the first 12 hex digits of
/// HMAC-SHA-256(server key, lower-cased email). Operators can correlate failed logins of one
/// account; a leaked log does not reveal who (and, keyed, cannot be checked against a list of
/// addresses).
pub fn account_ref(key: &[u8], email: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(email.trim().to_lowercase().as_bytes());
    let digest = mac.finalize().into_bytes();
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::account_ref;

    #[test]
    fn account_refs_ignore_case_and_depend_on_the_key() {
        let r = account_ref(b"k1", "Ann@Example.com");
        assert_eq!(r.len(), 12);
        assert_eq!(r, account_ref(b"k1", " ann@example.com"));
        assert_ne!(r, account_ref(b"k2", "ann@example.com"));
        assert_ne!(r, account_ref(b"k1", "bob@example.com"));
    }
}
