//! `/admin`: an organization's admins manage its members (role, scopes from the catalogue,
//! disabled, remove, end their sessions, revoke their keys), see and regenerate the referral
//! code, and read the audit log (`audit.rs`). Operators rotate the signing key
//! (`signing.rs`). The same domain calls as `/api/v1/admin/*`: every rule, limit and audit
//! event is the API's. Anyone else gets a 403 page.

mod audit;
mod members;
mod signing;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::Role;
use latchkey_core::auth::Principal;

use crate::http::error::ApiError;
use crate::state::AppState;
use crate::web::extract::SignedIn;
use crate::web::form::{Form, Query};
use crate::web::page::{self, Layout, MessagePage, render, see_other};
use crate::web::session::WebUser;
use crate::web::text::EN;

pub use audit::log as audit_log;

/// The routes of `/account/sessions`, `/account/keys`, `/admin…`: merged into the pages'
/// router inside its web-session layer.
#[expect(
    clippy::disallowed_methods,
    reason = "HTML pages are not API operations and stay out of the OpenAPI document"
)]
pub fn router() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/account/sessions",
            get(crate::web::account::sessions::list),
        )
        .route(
            "/account/sessions/end-others",
            post(crate::web::account::sessions::end_others),
        )
        .route(
            "/account/sessions/{id}/end",
            post(crate::web::account::sessions::end),
        )
        .route(
            "/account/keys",
            get(crate::web::account::keys::list).post(crate::web::account::keys::create),
        )
        .route(
            "/account/keys/{id}/rotate",
            post(crate::web::account::keys::rotate),
        )
        .route(
            "/account/keys/{id}/delete",
            get(crate::web::account::keys::confirm).post(crate::web::account::keys::delete),
        )
        .route("/admin", get(index))
        .route("/admin/referral-code", post(regenerate_referral_code))
        .route("/admin/audit", get(audit_log))
        .route("/admin/members/{id}", get(member))
        .route(
            "/admin/members/{id}/remove",
            get(remove_confirm).post(remove),
        )
        .route("/admin/members/{id}/{action}", post(member_action))
        .route("/admin/members/{id}/keys/{key_id}/revoke", post(revoke_key))
        .route("/admin/signing-keys", get(signing_keys))
        .route("/admin/signing-keys/rotate", post(rotate_signing_key))
}
pub use members::{member, member_action, remove, remove_confirm, revoke_key};
pub use signing::{rotate as rotate_signing_key, signing_keys};

pub struct MemberRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: &'static str,
    pub scopes: String,
    pub disabled: bool,
    pub you: bool,
}

#[derive(Template)]
#[template(path = "admin.html")]
pub struct AdminPage {
    pub layout: Layout,
    pub org_name: String,
    pub referral_code: String,
    pub members: Vec<MemberRow>,
    pub operator: bool,
    pub notice: Option<&'static str>,
}

/// `None` when the caller is an organization admin (with their own session); otherwise the
/// 403 page to answer with.
fn admin_only(app: &AppState, user: &WebUser) -> Option<Response> {
    match user.principal.require_admin() {
        Ok(()) => None,
        Err(_) => Some(forbidden(app, user)),
    }
}

pub(crate) fn forbidden(app: &AppState, user: &WebUser) -> Response {
    let t = &EN.admin;
    let page = MessagePage {
        layout: Layout::new(app, t.forbidden_title, Some(user)),
        message: t.forbidden.to_owned(),
        link: Some(("/".to_owned(), t.back_home)),
    };
    render(StatusCode::FORBIDDEN, &page)
}

/// A refused action: the API's status and message on a page with a way back to `back`.
pub(crate) fn failed(app: &AppState, user: &WebUser, e: ApiError, back: &str) -> Response {
    use latchkey_api::ErrorCode;
    let t = &EN.admin;
    if e.code == ErrorCode::ServiceUnavailable {
        return page::unavailable(app);
    }
    let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let message = match e.code {
        ErrorCode::NotFound => t.member_not_found.to_owned(),
        _ => e.message,
    };
    let page = MessagePage {
        layout: Layout::new(app, t.failed_title, Some(user)),
        message,
        link: Some((back.to_owned(), t.back)),
    };
    render(status, &page)
}

pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => EN.admin.role_admin,
        Role::Member => EN.admin.role_member,
    }
}

pub(crate) async fn is_operator(app: &AppState, p: &Principal) -> bool {
    app.auth.require_operator(p).await.is_ok()
}

/// `GET /admin`.
pub async fn index(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Query(q): Query,
) -> Response {
    if let Some(r) = admin_only(&app, &user) {
        return r;
    }
    let (org, members) = match (
        app.auth.org(&user.principal).await,
        app.auth.list_members(&user.principal).await,
    ) {
        (Ok(o), Ok(m)) => (o, m),
        (Err(e), _) | (_, Err(e)) => return failed(&app, &user, e.into(), "/"),
    };
    let t = &EN.admin;
    let members = members
        .into_iter()
        .map(|u| MemberRow {
            you: u.id == user.principal.user_id,
            name: u.name.clone().unwrap_or_default(),
            role: role_name(u.role),
            scopes: if u.scopes.is_empty() {
                t.no_scopes.to_owned()
            } else {
                u.scopes.join(", ")
            },
            disabled: u.disabled,
            email: u.email,
            id: u.id,
        })
        .collect();
    let notice = match q.get("done") {
        Some("referral") => Some(t.referral_regenerated),
        Some("removed") => Some(t.member_removed),
        _ => None,
    };
    let page = AdminPage {
        layout: Layout::new(&app, t.title, Some(&user)),
        org_name: org.name,
        referral_code: org.referral_code.unwrap_or_default(),
        members,
        operator: is_operator(&app, &user.principal).await,
        notice,
    };
    render(StatusCode::OK, &page)
}

/// `POST /admin/referral-code`: a new referral code; the old one stops working at once.
pub async fn regenerate_referral_code(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    _f: Form,
) -> Response {
    if let Some(r) = admin_only(&app, &user) {
        return r;
    }
    match app.auth.regenerate_referral_code(&user.principal).await {
        Ok(_) => see_other("/admin?done=referral"),
        Err(e) => failed(&app, &user, e.into(), "/admin"),
    }
}
