//! The caller's own account: profile, organization, sessions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_api::{OrgView, SessionList, UserView};

use super::error::ApiResult;
use super::extract::Caller;
use super::views::{session_view, user_view};
use crate::app::AppState;

pub async fn me(State(app): State<AppState>, Caller(claims): Caller) -> ApiResult<Json<UserView>> {
    Ok(Json(user_view(&*app.auth.me(&claims).await?)))
}

pub async fn org(State(app): State<AppState>, Caller(claims): Caller) -> ApiResult<Json<OrgView>> {
    let (org, is_admin) = app.auth.org(&claims).await?;
    Ok(Json(OrgView {
        org_id: org.id,
        name: org.name,
        // The invite code lets anyone join: admins only.
        referral_code: is_admin.then_some(org.referral_code),
    }))
}

pub async fn sessions(
    State(app): State<AppState>,
    Caller(claims): Caller,
) -> ApiResult<Json<SessionList>> {
    let sessions = app.auth.sessions(&claims).await?;
    Ok(Json(SessionList {
        sessions: sessions.into_iter().map(session_view).collect(),
    }))
}

pub async fn delete_session(
    State(app): State<AppState>,
    Caller(claims): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.auth.delete_session(&claims, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
