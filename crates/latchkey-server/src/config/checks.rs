//! The strict half of configuration: every name and value a user gives is checked, and a
//! mistake stops start-up with a message naming it. A misspelt setting that is silently
//! ignored leaves an auth server running with defaults nobody chose.

use std::net::{SocketAddr, ToSocketAddrs};

use crate::config::Config;

/// Environment variables that share the prefix but are not settings: the configuration file's
/// own path, the test harness's variables and the load tool's (often exported in the same
/// shell that starts the server).
pub(crate) fn exempt(name: &str) -> bool {
    name == "LATCHKEY_CONFIG"
        || name.starts_with("LATCHKEY_TEST_")
        || name.starts_with("LATCHKEY_BENCH_")
}

/// Every setting's name, read from the struct itself so a new field needs no registration.
pub(crate) fn setting_names() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Refuses `LATCHKEY_*` variables that name no setting.
pub(crate) fn check_env_names<I: IntoIterator<Item = String>>(names: I) -> anyhow::Result<()> {
    let known = setting_names();
    for name in names {
        let Some(rest) = name.strip_prefix("LATCHKEY_") else {
            continue;
        };
        if exempt(&name) {
            continue;
        }
        let key = rest.to_ascii_lowercase();
        if !known.contains(&key) {
            let hint = closest(&key, &known)
                .map(|k| format!("; did you mean LATCHKEY_{}?", k.to_ascii_uppercase()))
                .unwrap_or_default();
            anyhow::bail!("unknown environment variable {name}: no such setting{hint}");
        }
    }
    Ok(())
}

/// Rewrites figment's errors so each names the setting as the user wrote it: the environment
/// variable, or the key and the file.
pub(crate) fn describe(e: figment::Error, file: Option<&std::path::Path>) -> anyhow::Error {
    let lines: Vec<String> = e
        .into_iter()
        .map(|e| {
            if let figment::error::Kind::UnknownField(name, _) = &e.kind {
                // Environment names are checked before extraction: an unknown key is the file's.
                let hint = closest(name, &setting_names())
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                let place = file.map_or("configuration".to_owned(), |f| {
                    format!("configuration file {}", f.display())
                });
                return format!("{place}: unknown setting `{name}`{hint}");
            }
            let key = e.path.join(".");
            let from_env = e
                .metadata
                .as_ref()
                .is_some_and(|m| m.name.contains("environment"));
            let place = if from_env {
                format!("LATCHKEY_{}", key.to_ascii_uppercase())
            } else if let Some(f) = file.filter(|_| !key.is_empty()) {
                format!("`{key}` in configuration file {}", f.display())
            } else if key.is_empty() {
                "configuration".to_owned()
            } else {
                format!("`{key}`")
            };
            format!("{place}: {}", e.kind)
        })
        .collect();
    anyhow::anyhow!("{}", lines.join("\n"))
}

/// A tracing filter whose bare words are levels. `EnvFilter` would read `verbose` as a target
/// name and log nothing at all; here it is an error.
pub(crate) fn check_log_filter(filter: &str) -> Result<(), String> {
    // tracing also takes 0 (off) to 5 (trace).
    const LEVELS: [&str; 12] = [
        "trace", "debug", "info", "warn", "error", "off", "0", "1", "2", "3", "4", "5",
    ];
    if filter.trim().is_empty() {
        return Err("log_level is empty; use trace, debug, info, warn, error or off".into());
    }
    for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let is_level = LEVELS.contains(&directive.to_ascii_lowercase().as_str());
        if !is_level && !directive.contains(['=', '[', ':']) {
            return Err(format!(
                "log_level `{directive}` is not a level; use trace, debug, info, warn, error or \
                 off, or target=level such as latchkey_server=debug"
            ));
        }
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(filter)
        .map(|_| ())
        .map_err(|e| format!("log_level `{filter}` is not a valid filter: {e}"))
}

/// `host:port` to a socket address; a host name is resolved now (IPv4 preferred, as most
/// people mean 127.0.0.1 by `localhost`).
pub fn resolve_bind(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| {
            format!(
                "cannot use bind address `{text}`: {e} (use host:port such as 127.0.0.1:8080 \
                 or localhost:8080)"
            )
        })?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("bind address `{text}` resolves to no address"))
}

/// The bind address in the file or the environment: an address or a host name.
pub(crate) fn deserialize_bind<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<SocketAddr, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    resolve_bind(&text).map_err(serde::de::Error::custom)
}

/// The known name within two edits of a misspelt one, if any.
fn closest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Overrides;

    fn load_file(text: &str) -> anyhow::Result<Config> {
        let dir = std::env::temp_dir().join(format!("lk-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("latchkey.toml");
        std::fs::write(&file, text).unwrap();
        Config::load(Some(&file), &Overrides::default())
    }

    #[test]
    fn an_unknown_key_in_the_file_is_named() {
        let err = load_file("bnid = \"0.0.0.0:80\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`bnid`") && err.contains("`bind`"), "{err}");
    }

    #[test]
    fn a_host_name_binds_to_its_address() {
        let c = load_file("bind = \"localhost:9000\"\n").unwrap();
        assert!(
            c.bind.ip().is_loopback() && c.bind.port() == 9000,
            "{}",
            c.bind
        );
    }

    #[test]
    fn negative_durations_are_refused_readably() {
        for text in ["access_token_ttl = -5\n", "access_token_ttl = \"-5m\"\n"] {
            let err = load_file(text).unwrap_err().to_string();
            assert!(
                err.contains("access_token_ttl") && err.contains("negative"),
                "{err}"
            );
        }
    }

    #[test]
    fn numbers_without_meaning_are_refused() {
        for c in [
            Config {
                database_max_connections: 0,
                ..Config::default()
            },
            Config {
                database_max_connections: 100_000,
                ..Config::default()
            },
            Config {
                hash_threads: Some(0),
                ..Config::default()
            },
            Config {
                argon2_iterations: 0,
                ..Config::default()
            },
            Config {
                argon2_parallelism: 0,
                ..Config::default()
            },
            Config {
                login_limit_window: Duration::ZERO,
                ..Config::default()
            },
        ] {
            assert!(c.validate().is_err());
        }
        let off = Config {
            login_limit_per_account: 0,
            login_limit_per_ip: 0,
            signup_limit_per_ip: 0,
            ..Config::default()
        };
        off.validate().expect("a limit of 0 means off");
    }

    #[test]
    fn the_log_level_must_be_a_filter() {
        let c = Config {
            log_level: "verbose".into(),
            ..Config::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("verbose"));
    }

    #[test]
    fn unknown_environment_variables_are_named() {
        let err = check_env_names(["LATCHKEY_BNID".to_owned()]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("LATCHKEY_BNID"), "{text}");
        assert!(
            text.contains("LATCHKEY_BIND"),
            "suggests the near name: {text}"
        );
    }

    #[test]
    fn settings_the_harness_and_the_file_path_are_accepted() {
        check_env_names(
            [
                "LATCHKEY_BIND",
                "LATCHKEY_DATABASE_MAX_CONNECTIONS",
                "LATCHKEY_TEST_DATABASE_URL",
                "LATCHKEY_BENCH_URL",
                "LATCHKEY_CONFIG",
                "PATH",
            ]
            .map(str::to_owned),
        )
        .unwrap();
    }

    #[test]
    fn log_levels_must_be_levels_or_directives() {
        for ok in [
            "info",
            "WARN",
            "latchkey_server=debug,info",
            "off",
            "sqlx::query=warn",
        ] {
            assert!(check_log_filter(ok).is_ok(), "{ok}");
        }
        for bad in ["verbose", "", "info,loud", "latchkey=noisy"] {
            assert!(check_log_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bind_accepts_addresses_and_host_names() {
        assert_eq!(
            resolve_bind("0.0.0.0:8080").unwrap(),
            "0.0.0.0:8080".parse().unwrap()
        );
        let local = resolve_bind("localhost:8080").unwrap();
        assert!(local.ip().is_loopback() && local.port() == 8080, "{local}");
        assert!(resolve_bind("localhost").is_err(), "a port is required");
    }
}
