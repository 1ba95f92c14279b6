//! The caller's own account: profile, organization, sessions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_api::{OrgView, SessionList, UserView};

use super::error::ApiResult;
use super::extract::Caller;
use latchkey_core::store::Role;

use super::views::{profile_view, session_view};
use crate::app::AppState;

pub async fn me(State(app): State<AppState>, Caller(caller): Caller) -> ApiResult<Json<UserView>> {
    let profile = app.auth.me(&caller).await?;
    Ok(Json(profile_view(profile)))
}

pub async fn org(State(app): State<AppState>, Caller(caller): Caller) -> ApiResult<Json<OrgView>> {
    let org = app.auth.org(&caller).await?;
    Ok(Json(OrgView {
        org_id: org.id,
        name: org.name,
        // The invite code lets anyone join: admins only.
        referral_code: (caller.role == Role::Admin).then_some(org.referral_code),
    }))
}

pub async fn sessions(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<SessionList>> {
    let sessions = app.auth.sessions(&caller).await?;
    Ok(Json(SessionList {
        sessions: sessions.into_iter().map(session_view).collect(),
    }))
}

pub async fn delete_session(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.auth.delete_session(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
