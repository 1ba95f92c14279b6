//! Loading: the defaults, then the TOML file, then `LATCHKEY_*` variables, then the flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Serialize;

use super::{Config, checks};

/// Flags that override the file and the environment.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

impl Config {
    pub fn load(file: Option<&std::path::Path>, overrides: &Overrides) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            anyhow::ensure!(
                path.exists(),
                "config file {} does not exist",
                path.display()
            );
            fig = fig.merge(Toml::file(path));
        }
        // The old on/off switch trusted whatever the client wrote: refuse it by name rather
        // than let an operator believe it still does something.
        anyhow::ensure!(
            std::env::var_os("LATCHKEY_TRUST_PROXY_HEADERS").is_none()
                && fig.find_value("trust_proxy_headers").is_err(),
            "configuration: trust_proxy_headers (LATCHKEY_TRUST_PROXY_HEADERS) was replaced by \
             trusted_proxies (LATCHKEY_TRUSTED_PROXIES), a list of your proxies' networks"
        );
        checks::check_env_names(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()))?;
        // Variables that share the prefix but are not settings (the file's path, the test
        // harness's and the load tool's).
        let env = Env::prefixed("LATCHKEY_").filter(|k| {
            let name = format!("LATCHKEY_{}", k.as_str().to_ascii_uppercase());
            !checks::exempt(&name)
        });
        let fig = fig.merge(env);
        let config: Config = fig
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| checks::describe(e, file))?;
        config.validate()?;
        Ok(config)
    }
}
