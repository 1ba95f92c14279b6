//! `/admin/signing-keys`: operators see every signing key with its status and rotate.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::auth::{KeyRotator, KeyStatus};

use super::{failed, forbidden, is_operator};
use crate::state::AppState;
use crate::web::extract::SignedIn;
use crate::web::form::{Form, Query};
use crate::web::page::{Layout, render, see_other};
use crate::web::text::EN;
use crate::web::times::when;

pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub status: &'static str,
    pub created: String,
    pub retires: String,
}

#[derive(Template)]
#[template(path = "admin_signing.html")]
pub struct SigningPage {
    pub layout: Layout,
    pub keys: Vec<KeyRow>,
    pub notice: Option<&'static str>,
}

/// `GET /admin/signing-keys`: operators only (an organization admin is not one).
pub async fn signing_keys(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Query(q): Query,
) -> Response {
    if !is_operator(&app, &user.principal).await {
        return forbidden(&app, &user);
    }
    let t = &EN.admin;
    let keys = match app.auth.signing_keys(&user.principal).await {
        Ok(k) => k,
        Err(e) => return failed(&app, &user, e.into(), "/"),
    };
    let keys = keys
        .into_iter()
        .map(|k| KeyRow {
            status: match k.status {
                KeyStatus::Signing => t.key_signing,
                KeyStatus::Verifying => t.key_verifying,
                KeyStatus::Retired => t.key_retired,
            },
            created: when(k.created_at_ms),
            retires: k.retires_at_ms.map_or_else(|| "—".to_owned(), when),
            alg: k.algorithm,
            kid: k.kid,
        })
        .collect();
    let page = SigningPage {
        layout: Layout::new(&app, t.signing_title, Some(&user)),
        keys,
        notice: (q.get("done") == Some("rotated")).then_some(t.key_rotated),
    };
    render(StatusCode::OK, &page)
}

/// `POST /admin/signing-keys/rotate`.
pub async fn rotate(State(app): State<AppState>, SignedIn(user): SignedIn, _f: Form) -> Response {
    if !is_operator(&app, &user.principal).await {
        return forbidden(&app, &user);
    }
    match app
        .auth
        .rotate_signing_key(KeyRotator::Operator(&user.principal))
        .await
    {
        Ok(_) => see_other("/admin/signing-keys?done=rotated"),
        Err(e) => failed(&app, &user, e.into(), "/admin/signing-keys"),
    }
}
