//! `/admin/members/{id}`: one member, with a form per change. Every change is one domain
//! call, then back to the member's page with what was done.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::{Role, User};

use super::{admin_only, failed, role_name};
use crate::state::AppState;
use crate::web::extract::SignedIn;
use crate::web::form::{Form, Query};
use crate::web::page::{Layout, Problems, render, see_other};
use crate::web::session::WebUser;
use crate::web::text::EN;
use crate::web::times::when;

pub struct ScopeBox {
    pub id: String,
    pub name: String,
    pub checked: bool,
    /// Whether the box can be changed: a scope the admin may not grant can still be removed.
    pub enabled: bool,
}

pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "admin_member.html")]
pub struct MemberPage {
    pub layout: Layout,
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: &'static str,
    pub is_admin: bool,
    pub disabled: bool,
    pub you: bool,
    pub scopes: Vec<ScopeBox>,
    pub keys: Vec<KeyRow>,
    pub notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "admin_remove.html")]
pub struct RemovePage {
    pub layout: Layout,
    pub id: String,
    pub email: String,
}

async fn find(app: &AppState, user: &WebUser, id: &str) -> Result<User, Response> {
    let members = app
        .auth
        .list_members(&user.principal)
        .await
        .map_err(|e| failed(app, user, e.into(), "/admin"))?;
    members.into_iter().find(|m| m.id == id).ok_or_else(|| {
        let e = latchkey_core::error::AuthError::NotFound("user");
        failed(app, user, e.into(), "/admin")
    })
}

/// `GET /admin/members/{id}`.
pub async fn member(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    Query(q): Query,
) -> Response {
    if let Some(r) = admin_only(&app, &user) {
        return r;
    }
    let m = match find(&app, &user, &id).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let (catalogue, keys) = match (
        app.auth.scope_catalogue(&user.principal).await,
        app.auth.member_api_keys(&user.principal, &id).await,
    ) {
        (Ok(c), Ok(k)) => (c, k),
        (Err(e), _) | (_, Err(e)) => return failed(&app, &user, e.into(), "/admin"),
    };
    let t = &EN.admin;
    let notice = match q.get("done") {
        Some("scopes") => Some(t.scopes_saved),
        Some("role") => Some(t.role_saved),
        Some("disabled") => Some(t.disabled_saved),
        Some("sessions") => Some(t.sessions_ended),
        Some("key") => Some(t.key_revoked),
        _ => None,
    };
    let page = MemberPage {
        layout: Layout::new(&app, &m.email, Some(&user)),
        you: m.id == user.principal.user_id,
        scopes: catalogue
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let held = m.scopes.contains(&s.name);
                ScopeBox {
                    id: format!("scope-{i}"),
                    name: s.name.clone(),
                    checked: held,
                    enabled: held || s.grantable,
                }
            })
            .collect(),
        keys: keys
            .iter()
            .map(|k| KeyRow {
                id: k.id.clone(),
                name: k.name.clone(),
                prefix: k.prefix.clone(),
                last_used: k
                    .last_used_at
                    .map_or_else(|| EN.keys.never_used.to_owned(), when),
            })
            .collect(),
        role: role_name(m.role),
        is_admin: m.role == Role::Admin,
        disabled: m.disabled,
        name: m.name.unwrap_or_default(),
        email: m.email,
        id: m.id,
        notice,
    };
    render(StatusCode::OK, &page)
}

/// `POST /admin/members/{id}/remove`: removes the member when their address was typed.
pub async fn remove(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    Form(f): Form,
) -> Response {
    if let Some(r) = admin_only(&app, &user) {
        return r;
    }
    let m = match find(&app, &user, &id).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    if !f.text("confirm").eq_ignore_ascii_case(&m.email) {
        let problems = Problems::one(Some("confirm"), EN.admin.remove_mismatch);
        return remove_page(&app, &user, &m, StatusCode::UNPROCESSABLE_ENTITY, problems);
    }
    match app.auth.remove_member(&user.principal, &id).await {
        Ok(()) => see_other("/admin?done=removed"),
        Err(e) => failed(&app, &user, e.into(), &format!("/admin/members/{id}")),
    }
}

/// `POST /admin/members/{id}/{action}`: `scopes`, `role`, `disabled` or `end-sessions`.
pub async fn member_action(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Path((id, action)): Path<(String, String)>,
    Form(f): Form,
) -> Response {
    if let Some(r) = admin_only(&app, &user) {
        return r;
    }
    let back = format!("/admin/members/{id}");
    let p = &user.principal;
    let result = match action.as_str() {
        "scopes" => {
            let catalogue = match app.auth.scope_catalogue(p).await {
                Ok(c) => c,
                Err(e) => return failed(&app, &user, e.into(), &back),
            };
            // Only catalogue names are read: a box is one field named after its scope.
            let chosen: Vec<String> = catalogue
                .into_iter()
                .filter(|s| f.get(&format!("scope.{}", s.name)).is_some())
                .map(|s| s.name)
                .collect();
            app.auth
                .set_member_scopes(p, &id, &chosen)
                .await
                .map(|_| "scopes")
        }
        "role" => {
            let role = if f.get("role") == Some("admin") {
                Role::Admin
            } else {
                Role::Member
            };
            app.auth.set_member_role(p, &id, role).await.map(|_| "role")
        }
        "disabled" => {
            let disabled = f.get("disabled") == Some("true");
            app.auth
                .set_member_disabled(p, &id, disabled)
                .await
                .map(|_| "disabled")
        }
        "end-sessions" => app
            .auth
            .revoke_member_sessions(p, &id)
            .await
            .map(|_| "sessions"),
        _ => {
            return failed(
                &app,
                &user,
                latchkey_core::error::AuthError::NotFound("page").into(),
                "/admin",
            );
        }
    };
    match result {
        Ok(done) => see_other(&format!("{back}?done={done}")),
        Err(e) => failed(&app, &user, e.into(), &back),
    }
}

/// `POST /admin/members/{id}/keys/{key_id}/revoke`.
pub async fn revoke_key(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Path((id, kid)): Path<(String, String)>,
    _f: Form,
) -> Response {
    if let Some(r) = admin_only(&app, &user) {
        return r;
    }
    let back = format!("/admin/members/{id}");
    match app
        .auth
        .revoke_member_api_key(&user.principal, &id, &kid)
        .await
    {
        Ok(()) => see_other(&format!("{back}?done=key")),
        Err(e) => failed(&app, &user, e.into(), &back),
    }
}

fn remove_page(
    app: &AppState,
    user: &WebUser,
    m: &User,
    status: StatusCode,
    problems: Problems,
) -> Response {
    let page = RemovePage {
        layout: Layout::new(app, EN.admin.remove_title, Some(user)).with_problems(problems),
        id: m.id.clone(),
        email: m.email.clone(),
    };
    render(status, &page)
}

/// `GET /admin/members/{id}/remove`: asks for the member's address before removing them.
pub async fn remove_confirm(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = admin_only(&app, &user) {
        return r;
    }
    match find(&app, &user, &id).await {
        Ok(m) => remove_page(&app, &user, &m, StatusCode::OK, Problems::default()),
        Err(r) => r,
    }
}
