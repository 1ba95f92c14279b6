//! Where a sign-up or a provider sign-in goes once the person is signed in: a page of this
//! server (`next`), or, for an app's hosted sign-in, the app's allow-listed `redirect_to` with
//! its PKCE `code_challenge`. Carried through forms as hidden fields and through the provider
//! round trip in the signed provider cookie.

use serde::{Deserialize, Serialize};

use axum::http::StatusCode;
use axum::response::Response;

use super::form::Fields;
use super::page::{Layout, MessagePage, local_path, render};
use super::text::EN;
use crate::state::AppState;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Onward {
    /// A path on this server.
    pub next: Option<String>,
    /// An app's hosted sign-in.
    pub app: Option<AppReturn>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppReturn {
    pub redirect_to: String,
    pub code_challenge: String,
}

impl Onward {
    /// From a query or a form. `None` when an app's parameters are there but not acceptable
    /// (a redirect off the allow-list, a challenge that is not S256): refused, never dropped,
    /// so the person does not end up signed in somewhere they did not mean to go.
    pub fn read(app: &AppState, f: &Fields) -> Option<Onward> {
        let next = local_path(f.get("next"));
        let redirect_to = f.get("redirect_to").filter(|r| !r.is_empty());
        let challenge = f.get("code_challenge").filter(|c| !c.is_empty());
        let app_return = match (redirect_to, challenge) {
            (None, None) => None,
            (Some(redirect_to), Some(challenge)) => {
                let method_ok = f.get("code_challenge_method").is_none_or(|m| m == "S256");
                if !method_ok || !app.oidc.redirect_allowed(redirect_to) || !s256_shaped(challenge)
                {
                    return None;
                }
                Some(AppReturn {
                    redirect_to: redirect_to.to_owned(),
                    code_challenge: challenge.to_owned(),
                })
            }
            _ => return None,
        };
        Some(Onward {
            next,
            app: app_return,
        })
    }

    /// The hidden fields that carry it through a form: (name, value).
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(next) = &self.next {
            out.push(("next", next.clone()));
        }
        if let Some(a) = &self.app {
            out.push(("redirect_to", a.redirect_to.clone()));
            out.push(("code_challenge", a.code_challenge.clone()));
        }
        out
    }

    /// The same as a query string (`?…`, or empty), for links between the pages.
    pub fn query(&self) -> String {
        let fields = self.fields();
        if fields.is_empty() {
            return String::new();
        }
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            q.append_pair(k, &v);
        }
        format!("?{}", q.finish())
    }

    /// Where a signed-in browser goes now. An app's hosted sign-in continues at `/login` with
    /// its parameters: a browser with a live web session skips the form there and is sent to
    /// the app with its one-time code.
    pub fn after_sign_in(&self) -> String {
        match &self.app {
            Some(_) => format!("/login{}", self.query()),
            None => self.next.clone().unwrap_or_else(|| "/".to_owned()),
        }
    }
}

/// 43 base64url characters: a SHA-256 digest, as PKCE's S256 sends it.
fn s256_shaped(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An app's sign-in parameters that cannot be honoured: said so, with the way back.
pub fn refused(app: &AppState) -> Response {
    let page = MessagePage {
        layout: Layout::new(app, EN.provider.failed_title, None),
        message: EN.signup.bad_onward.to_owned(),
        link: Some(("/login".to_owned(), EN.common.back_to_sign_in)),
    };
    render(StatusCode::BAD_REQUEST, &page)
}
