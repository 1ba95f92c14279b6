//! The redirect dance: `start` builds the provider URL and a signed flow cookie; `callback`
//! checks state against the cookie, exchanges the code with the PKCE verifier, and validates
//! the ID token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::id_token::{self, Expect, IdTokenError};
use super::{ExternalIdentity, Oidc};
use crate::error::{AuthError, AuthResult};
use crate::secret::{ct_eq, hmac_b64, random_token};

/// How long a person may spend at the provider.
pub const FLOW_TTL_SECS: i64 = 600;

/// What the browser carries between start and callback, signed with a server secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    pub provider: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub redirect_to: String,
    pub referral_code: Option<String>,
    /// The app's own PKCE challenge (S256) for `POST /auth/exchange`, when it sent one.
    pub app_challenge: Option<String>,
    /// Linking a provider to this signed-in user (from a link ticket), not signing in.
    #[serde(default)]
    pub link: Option<LinkAsker>,
    pub expires_at: i64,
}

/// Who asked to link a provider: the account, and the session the request came from (the
/// link goes through only while that session lives).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkAsker {
    pub user_id: String,
    pub session_id: String,
}

pub struct Started {
    pub location: String,
    /// The signed flow, to be set as an HttpOnly cookie.
    pub cookie: String,
    /// The provider will POST back (cross-site): the cookie must be `SameSite=None; Secure`.
    pub form_post: bool,
}

/// The provider's answer: known parameters only; others (Google adds several) are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

fn refused(msg: &'static str) -> AuthError {
    AuthError::ExternalLogin(msg)
}

impl Oidc {
    pub async fn start(
        &self,
        provider: &str,
        redirect_to: &str,
        referral_code: Option<String>,
        app_challenge: Option<String>,
        link: Option<LinkAsker>,
        now_secs: i64,
    ) -> AuthResult<Started> {
        let p = self.provider(provider)?;
        if !self.redirect_allowed(redirect_to) {
            return Err(AuthError::invalid_field(
                "redirect_to",
                "is not in the allowed redirect list",
            ));
        }
        if let Some(c) = &app_challenge
            && (c.len() != 43 || URL_SAFE_NO_PAD.decode(c).is_err())
        {
            return Err(AuthError::invalid_field(
                "code_challenge",
                "must be an S256 challenge (43 base64url characters)",
            ));
        }
        let meta = p
            .metadata(&self.http, now_secs * 1000)
            .await
            .map_err(unreachable)?;
        let flow = Flow {
            provider: provider.to_owned(),
            state: random_token::<32>(),
            nonce: random_token::<32>(),
            verifier: random_token::<32>(),
            redirect_to: redirect_to.to_owned(),
            referral_code,
            app_challenge,
            link,
            expires_at: now_secs + FLOW_TTL_SECS,
        };
        let mut url = reqwest::Url::parse(&meta.authorization_endpoint)
            .map_err(|e| unreachable(anyhow::anyhow!("bad authorization_endpoint: {e}")))?;
        let scopes = if p.settings.scopes.is_empty() {
            "openid email profile".to_owned()
        } else {
            p.settings.scopes.join(" ")
        };
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &p.settings.client_id)
            .append_pair("redirect_uri", &self.callback_url(provider))
            .append_pair("scope", &scopes)
            .append_pair("state", &flow.state)
            .append_pair("nonce", &flow.nonce)
            .append_pair("code_challenge", &s256(&flow.verifier))
            .append_pair("code_challenge_method", "S256");
        if p.settings.form_post {
            url.query_pairs_mut()
                .append_pair("response_mode", "form_post");
        }
        Ok(Started {
            location: url.to_string(),
            cookie: self.seal(&flow),
            form_post: p.settings.form_post,
        })
    }

    /// Checks the provider's answer against the flow cookie and returns who signed in.
    pub async fn callback(
        &self,
        provider: &str,
        params: CallbackParams,
        cookie: Option<&str>,
        now_secs: i64,
    ) -> AuthResult<(ExternalIdentity, Flow)> {
        let p = self.provider(provider)?;
        let flow = cookie
            .and_then(|c| self.open(c))
            .filter(|f| f.provider == provider)
            .ok_or(refused(
                "no sign-in is in progress in this browser (missing or invalid flow cookie)",
            ))?;
        if flow.expires_at <= now_secs {
            return Err(refused("the sign-in took too long; start again"));
        }
        let state = params.state.unwrap_or_default();
        if !ct_eq(state.as_bytes(), flow.state.as_bytes()) {
            return Err(refused("the state does not match this sign-in"));
        }
        if params.error.is_some() {
            return Err(refused("the provider refused the sign-in"));
        }
        let code = params
            .code
            .filter(|c| !c.is_empty())
            .ok_or(refused("the provider sent no code"))?;
        let now_ms = now_secs * 1000;
        let meta = p.metadata(&self.http, now_ms).await.map_err(unreachable)?;
        let id_token = self.exchange(p, &meta.token_endpoint, &code, &flow).await?;
        let expect = Expect {
            kind: &p.settings.kind,
            issuer: &meta.issuer,
            client_id: &p.settings.client_id,
            nonce: &flow.nonce,
            now_secs,
        };
        let keys = p
            .keys(&self.http, false, now_ms)
            .await
            .map_err(unreachable)?;
        let claims = match id_token::validate(&id_token, &keys, &expect) {
            Err(IdTokenError::UnknownKey) => {
                // The provider may have rotated its keys: read them again, once.
                let keys = p
                    .keys(&self.http, true, now_ms)
                    .await
                    .map_err(unreachable)?;
                id_token::validate(&id_token, &keys, &expect)
            }
            other => other,
        }
        .map_err(|e| match e {
            IdTokenError::UnknownKey => refused("the ID token was signed with an unknown key"),
            IdTokenError::Invalid(msg) => refused(msg),
        })?;
        Ok((
            ExternalIdentity {
                provider: provider.to_owned(),
                claims,
                satisfies_mfa: p.settings.satisfies_mfa,
            },
            flow,
        ))
    }

    async fn exchange(
        &self,
        p: &super::Provider,
        token_endpoint: &str,
        code: &str,
        flow: &Flow,
    ) -> AuthResult<String> {
        let redirect_uri = self.callback_url(&flow.provider);
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", flow.verifier.as_str()),
            ("client_id", p.settings.client_id.as_str()),
        ];
        if let Some(secret) = &p.settings.client_secret {
            form.push(("client_secret", secret.expose()));
        }
        let resp = self
            .http
            .post(token_endpoint)
            .header("accept", "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| unreachable(e.into()))?;
        if !resp.status().is_success() {
            // A replayed or expired code lands here: the provider refuses it.
            tracing::warn!(provider = %flow.provider, status = %resp.status(), "code exchange refused");
            return Err(refused(
                "the provider refused the code (used, expired or invalid)",
            ));
        }
        #[derive(Deserialize)]
        struct TokenResponse {
            id_token: Option<String>,
        }
        let body: TokenResponse = resp
            .json()
            .await
            .map_err(|_| refused("the provider's token response is malformed"))?;
        body.id_token
            .ok_or(refused("the provider's token response has no ID token"))
    }

    /// Whether the signed flow in `cookie` was started by Latchkey's own pages: a refused
    /// callback then goes back to the pages, which say so in words, instead of answering JSON.
    pub fn started_by_pages(&self, cookie: &str) -> bool {
        self.open(cookie)
            .is_some_and(|f| f.redirect_to == self.pages_return_url())
    }

    fn seal(&self, flow: &Flow) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(flow).expect("a flow serializes"));
        let mac = hmac_b64(&self.cookie_key, body.as_bytes());
        format!("{body}.{mac}")
    }

    fn open(&self, cookie: &str) -> Option<Flow> {
        let (body, mac) = cookie.split_once('.')?;
        let expected = hmac_b64(&self.cookie_key, body.as_bytes());
        if !ct_eq(mac.as_bytes(), expected.as_bytes()) {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
    }
}

/// The PKCE S256 challenge of a verifier.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn unreachable(e: anyhow::Error) -> AuthError {
    AuthError::Unavailable(e.context("the sign-in provider cannot be reached"))
}
