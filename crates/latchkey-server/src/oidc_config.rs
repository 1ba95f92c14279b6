//! `oidc_providers`: sign-in with Google, Microsoft or any OpenID provider, checked at start.

use latchkey_core::oidc::{ProviderKind, ProviderSettings};
use latchkey_core::secret::Secret;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcProvider {
    /// The path segment of `/api/v1/oauth/{name}/start`.
    pub name: String,
    /// `google`, `microsoft` or `oidc`.
    pub kind: String,
    /// Discovery base. Defaults: Google's, or Microsoft's for `authority`; required for `oidc`.
    #[serde(default)]
    pub issuer: Option<String>,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Defaults to `openid email profile`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Microsoft: `common`, `organizations`, `consumers` or a tenant id.
    #[serde(default)]
    pub authority: Option<String>,
    /// Microsoft: the tenant ids allowed to sign in (empty: any the authority admits).
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Ask for `response_mode=form_post` (needs an `https://` `LATCHKEY_ISSUER`).
    #[serde(default)]
    pub form_post: bool,
    /// A sign-in through this provider counts as multi-factor (the provider enforces its own
    /// second factor): accounts with TOTP are not asked for it again. Off by default.
    #[serde(default)]
    pub satisfies_mfa: bool,
}

impl OidcProvider {
    pub fn settings(&self) -> anyhow::Result<ProviderSettings> {
        let what = format!("oidc_providers: provider {:?}", self.name);
        anyhow::ensure!(
            !self.name.is_empty()
                && self
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'),
            "{what}: the name must be lower-case letters, digits, '-' or '_'"
        );
        anyhow::ensure!(!self.client_id.is_empty(), "{what}: client_id is required");
        anyhow::ensure!(
            self.kind == "microsoft" || (self.authority.is_none() && self.tenants.is_empty()),
            "{what}: authority and tenants apply to kind = \"microsoft\" only"
        );
        let (kind, default_issuer) = match self.kind.as_str() {
            "google" => (
                ProviderKind::Google,
                Some("https://accounts.google.com".to_owned()),
            ),
            "microsoft" => {
                let authority = self.authority.as_deref().unwrap_or("common");
                anyhow::ensure!(
                    !authority.is_empty()
                        && authority
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
                    "{what}: authority must be common, organizations, consumers or a tenant id"
                );
                (
                    ProviderKind::Microsoft {
                        tenants: self.tenants.clone(),
                    },
                    Some(format!(
                        "https://login.microsoftonline.com/{authority}/v2.0"
                    )),
                )
            }
            "oidc" => (ProviderKind::Generic, None),
            other => anyhow::bail!("{what}: kind {other:?} is not google, microsoft or oidc"),
        };
        let issuer = self
            .issuer
            .clone()
            .or(default_issuer)
            .ok_or_else(|| anyhow::anyhow!("{what}: issuer is required for kind = \"oidc\""))?;
        check_issuer(&issuer).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
        Ok(ProviderSettings {
            name: self.name.clone(),
            kind,
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone().map(Secret::new),
            scopes: self.scopes.clone(),
            form_post: self.form_post,
            satisfies_mfa: self.satisfies_mfa,
        })
    }
}

/// HTTPS, or plain HTTP on a loopback address (a provider on the same machine).
fn check_issuer(issuer: &str) -> Result<(), String> {
    let url = scheme_and_host(issuer).map_err(|_| format!("issuer {issuer:?} is not a URL"))?;
    match (url.0.as_str(), url.1.as_str()) {
        ("https", _) => Ok(()),
        ("http", "127.0.0.1" | "localhost" | "[::1]") => Ok(()),
        _ => Err(format!("issuer {issuer:?} must use https")),
    }
}

fn scheme_and_host(s: &str) -> Result<(String, String), ()> {
    let (scheme, rest) = s.split_once("://").ok_or(())?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    if host.is_empty() {
        return Err(());
    }
    Ok((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

/// Every provider, checked, with unique names.
pub fn provider_settings(list: &[OidcProvider]) -> anyhow::Result<Vec<ProviderSettings>> {
    let mut out: Vec<ProviderSettings> = Vec::new();
    for p in list {
        let s = p.settings()?;
        anyhow::ensure!(
            out.iter().all(|o| o.name != s.name),
            "oidc_providers: the name {:?} is used twice",
            s.name
        );
        out.push(s);
    }
    Ok(out)
}

/// Each entry an origin (`https://app.example.com`) or an app scheme (`com.example.app:/`).
pub fn check_redirects(list: &[String]) -> anyhow::Result<()> {
    for entry in list {
        let (scheme, _) = entry.split_once(':').unwrap_or(("", ""));
        anyhow::ensure!(
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')),
            "oidc_redirect_allow_list: {entry:?} is neither an origin like https://app.example.com \
             nor an app scheme like com.example.app:/"
        );
        if matches!(scheme, "http" | "https") {
            scheme_and_host(entry)
                .map_err(|_| anyhow::anyhow!("oidc_redirect_allow_list: {entry:?} has no host"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(kind: &str) -> OidcProvider {
        OidcProvider {
            name: "p".into(),
            kind: kind.into(),
            issuer: None,
            client_id: "id".into(),
            client_secret: None,
            scopes: vec![],
            authority: None,
            tenants: vec![],
            form_post: false,
            satisfies_mfa: false,
        }
    }

    #[test]
    fn providers_get_their_known_issuers_and_bad_ones_are_refused() {
        assert_eq!(
            provider("google").settings().unwrap().issuer,
            "https://accounts.google.com"
        );
        let ms = OidcProvider {
            authority: Some("organizations".into()),
            ..provider("microsoft")
        };
        assert_eq!(
            ms.settings().unwrap().issuer,
            "https://login.microsoftonline.com/organizations/v2.0"
        );
        let err = |p: OidcProvider| p.settings().unwrap_err().to_string();
        assert!(err(provider("oidc")).contains("issuer is required"));
        assert!(err(provider("github")).contains("not google, microsoft or oidc"));
        let plain = OidcProvider {
            issuer: Some("http://id.example.com".into()),
            ..provider("oidc")
        };
        assert!(err(plain).contains("must use https"));
        let loopback = OidcProvider {
            issuer: Some("http://127.0.0.1:9000".into()),
            ..provider("oidc")
        };
        assert!(loopback.settings().is_ok());
        let bad_name = OidcProvider {
            name: "Google/x".into(),
            ..provider("google")
        };
        assert!(err(bad_name).contains("name"));
        let tenants_elsewhere = OidcProvider {
            tenants: vec!["t".into()],
            ..provider("google")
        };
        assert!(err(tenants_elsewhere).contains("apply to kind = \"microsoft\" only"));
        let twice = provider_settings(&[provider("google"), provider("google")]);
        assert!(twice.unwrap_err().to_string().contains("used twice"));
    }

    #[test]
    fn redirect_entries_are_origins_or_app_schemes() {
        assert!(
            check_redirects(&["https://app.example.com".into(), "com.example.app:/".into()])
                .is_ok()
        );
        assert!(check_redirects(&["app.example.com".into()]).is_err());
        assert!(check_redirects(&["https://".into()]).is_err());
    }
}
