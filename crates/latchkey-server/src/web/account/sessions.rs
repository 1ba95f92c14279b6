//! `/account/sessions`: the person's signed-in devices, named from their user agents; end one,
//! or every one but this browser. The same domain calls as `GET/DELETE /api/v1/sessions`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::device::Device;
use crate::state::AppState;
use crate::web::extract::SignedIn;
use crate::web::form::{Form, Query};
use crate::web::page::{self, Layout, Problems, render, see_other};
use crate::web::session::WebUser;
use crate::web::text::EN;
use crate::web::times::when;

/// One session as the page lists it.
pub struct Row {
    pub id: String,
    pub device: String,
    pub ip: String,
    pub created: String,
    pub last_active: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account_sessions.html")]
pub struct SessionsPage {
    pub layout: Layout,
    pub sessions: Vec<Row>,
    pub notice: Option<String>,
}

/// "Chrome on macOS", "curl", "Unknown device": a name the person can recognise.
pub fn device_name(user_agent: Option<&str>) -> String {
    let t = &EN.sessions;
    let d = Device::from_user_agent(user_agent.unwrap_or(""));
    match (d.browser, d.os) {
        (Some(b), Some(os)) => format!("{b} {} {os}", t.on),
        (Some(b), None) => b.to_owned(),
        (None, Some(os)) => format!("{} {os}", t.a_browser_on),
        (None, None) => t.unknown_device.to_owned(),
    }
}

/// `GET /account/sessions`.
pub async fn list(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Query(q): Query,
) -> Response {
    let t = &EN.sessions;
    let notice = match q.get("done") {
        Some("ended") => Some(t.ended.to_owned()),
        Some("others") => Some(t.others_ended.to_owned()),
        _ => None,
    };
    show(&app, &user, StatusCode::OK, notice, Problems::default()).await
}

async fn show(
    app: &AppState,
    user: &WebUser,
    status: StatusCode,
    notice: Option<String>,
    problems: Problems,
) -> Response {
    let Ok(sessions) = app.auth.sessions(&user.principal).await else {
        return page::unavailable(app);
    };
    let mut rows: Vec<Row> = sessions
        .into_iter()
        .map(|s| Row {
            device: device_name(s.row.user_agent.as_deref()),
            ip: s.row.ip.clone().unwrap_or_else(|| "—".to_owned()),
            created: when(s.row.created_at),
            last_active: when(s.row.last_used_at),
            current: s.current,
            id: s.row.id,
        })
        .collect();
    // This browser first, then the most recently active.
    rows.sort_by_key(|r| !r.current);
    let page = SessionsPage {
        layout: Layout::new(app, EN.sessions.title, Some(user)).with_problems(problems),
        sessions: rows,
        notice,
    };
    render(status, &page)
}

/// `POST /account/sessions/{id}/end`: ends one session (this browser's too: then it is
/// signed out like after "sign out").
pub async fn end(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    _f: Form,
) -> Response {
    match app.auth.delete_session(&user.principal, &id).await {
        Ok(()) if id == user.sid => {
            let mut response = see_other("/login?done=signed-out");
            crate::web::session::clear(&mut response);
            response
        }
        Ok(()) => see_other("/account/sessions?done=ended"),
        Err(latchkey_core::error::AuthError::NotFound(_)) => {
            let problems = Problems::one(None, EN.sessions.not_found);
            show(&app, &user, StatusCode::NOT_FOUND, None, problems).await
        }
        Err(_) => page::unavailable(&app),
    }
}

/// `POST /account/sessions/end-others`: every session but this browser's.
pub async fn end_others(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    _f: Form,
) -> Response {
    match app.auth.logout_others(&user.principal).await {
        Ok(_) => see_other("/account/sessions?done=others"),
        Err(_) => page::unavailable(&app),
    }
}
