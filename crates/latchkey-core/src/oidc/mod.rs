//! Sign-in with Google, Microsoft or any OpenID Connect provider: the authorization-code flow
//! with state, nonce and PKCE (S256), and full ID-token validation. What happens to the person
//! afterwards (link, sign up, sign in) is `Auth`'s business (`auth/social.rs`).

mod flow;
pub mod id_token;
mod provider;

pub use flow::s256;

use std::collections::HashMap;
use std::sync::Arc;

pub use flow::{CallbackParams, FLOW_TTL_SECS, Flow, LinkAsker, Started};
pub use id_token::IdClaims;
use provider::Provider;

use crate::secret::Secret;

/// The path of [`Oidc::pages_return_url`] below the issuer.
pub const PAGES_RETURN_PATH: &str = "/provider/return";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderKind {
    Google,
    /// `tenants`: the tenant ids allowed to sign in; empty allows every tenant the authority
    /// admits.
    Microsoft {
        tenants: Vec<String>,
    },
    Generic,
}

/// `Debug` is safe: the client secret prints redacted.
#[derive(Clone, Debug)]
pub struct ProviderSettings {
    /// The path segment in `/api/v1/oauth/{name}/…`.
    pub name: String,
    pub kind: ProviderKind,
    /// Discovery is read from `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub scopes: Vec<String>,
    /// Ask for `response_mode=form_post`: the provider POSTs the answer back, which needs a
    /// `SameSite=None; Secure` flow cookie.
    pub form_post: bool,
    /// The operator says a sign-in through this provider satisfies MFA (the provider enforces
    /// its own second factor): accounts with TOTP are then not asked for it again.
    pub satisfies_mfa: bool,
}

/// A person as a provider vouched for them.
#[derive(Debug, Clone)]
pub struct ExternalIdentity {
    pub provider: String,
    pub claims: IdClaims,
    /// The provider's `satisfies_mfa` setting.
    pub satisfies_mfa: bool,
}

/// The configured providers, the redirect allow-list, and the HTTP client that talks to the
/// providers.
pub struct Oidc {
    providers: HashMap<String, Arc<Provider>>,
    http: reqwest::Client,
    redirect_allow: Vec<String>,
    /// Our callback is `{callback_base}/api/v1/oauth/{name}/callback`.
    callback_base: String,
    /// Signs the flow cookie so its state, nonce and verifier cannot be forged.
    cookie_key: Vec<u8>,
}

impl Oidc {
    pub fn new(
        providers: Vec<ProviderSettings>,
        redirect_allow: Vec<String>,
        callback_base: &str,
        cookie_key: Vec<u8>,
    ) -> anyhow::Result<Oidc> {
        // Never follow redirects: a provider URL must not lead the server elsewhere (SSRF).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Oidc {
            providers: providers
                .into_iter()
                .map(|p| (p.name.clone(), Arc::new(Provider::new(p))))
                .collect(),
            http,
            redirect_allow,
            callback_base: callback_base.trim_end_matches('/').to_owned(),
            cookie_key,
        })
    }

    pub fn callback_url(&self, provider: &str) -> String {
        format!("{}/api/v1/oauth/{provider}/callback", self.callback_base)
    }

    /// Where a provider sign-in started on Latchkey's own pages comes back with its one-time
    /// code: `{issuer}/provider/return`.
    pub fn pages_return_url(&self) -> String {
        format!("{}{PAGES_RETURN_PATH}", self.callback_base)
    }

    /// Whether `redirect_to` may receive a sign-in result: the same origin as a web entry of
    /// the allow-list, or the scheme of an app entry (`com.example.app:/cb`). Latchkey's own
    /// pages' return address is always allowed, that exact URL only: the issuer's other
    /// addresses have no business with a sign-in code.
    pub fn redirect_allowed(&self, redirect_to: &str) -> bool {
        if redirect_to == self.pages_return_url() {
            return true;
        }
        let Ok(target) = reqwest::Url::parse(redirect_to) else {
            return false;
        };
        self.redirect_allow.iter().any(|entry| {
            let Ok(allowed) = reqwest::Url::parse(entry) else {
                return false;
            };
            match allowed.scheme() {
                "http" | "https" => {
                    target.origin() == allowed.origin() && target.fragment().is_none()
                }
                scheme => target.scheme() == scheme,
            }
        })
    }

    /// `redirect_to` with the one-time code appended.
    pub fn handoff_url(&self, redirect_to: &str, code: &str) -> String {
        self.with_param(redirect_to, "code", code)
    }

    pub fn with_param(&self, redirect_to: &str, name: &str, value: &str) -> String {
        match reqwest::Url::parse(redirect_to) {
            Ok(mut url) => {
                url.query_pairs_mut().append_pair(name, value);
                url.to_string()
            }
            Err(_) => redirect_to.to_owned(),
        }
    }

    /// The configured providers' names and kinds, by name: the sign-in and sign-up pages show
    /// a button for each.
    pub fn provider_list(&self) -> Vec<(String, ProviderKind)> {
        let mut list: Vec<_> = self
            .providers
            .iter()
            .map(|(name, p)| (name.clone(), p.settings.kind.clone()))
            .collect();
        list.sort_by(|a, b| a.0.cmp(&b.0));
        list
    }

    pub fn require_provider(&self, name: &str) -> crate::error::AuthResult<()> {
        self.provider(name).map(drop)
    }

    fn provider(&self, name: &str) -> crate::error::AuthResult<&Arc<Provider>> {
        self.providers.get(name).ok_or_else(|| {
            crate::error::AuthError::invalid_field(
                "provider",
                "no such sign-in provider is configured",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oidc() -> Oidc {
        Oidc::new(
            vec![],
            vec!["https://app.example".into()],
            "https://id.example/",
            b"key".to_vec(),
        )
        .unwrap()
    }

    #[test]
    fn the_pages_own_return_address_is_allowed_exactly() {
        let o = oidc();
        assert_eq!(o.pages_return_url(), "https://id.example/provider/return");
        assert!(o.redirect_allowed("https://id.example/provider/return"));
        assert!(o.redirect_allowed("https://app.example/done"));
        for other in [
            "https://id.example/provider/return?next=x",
            "https://id.example/provider/return/",
            "https://id.example/login",
            "https://evil.example/provider/return",
        ] {
            assert!(!o.redirect_allowed(other), "{other}");
        }
    }
}
