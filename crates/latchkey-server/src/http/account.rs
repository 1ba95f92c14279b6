//! The caller's own account: profile, organization, sessions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use latchkey_api::{OrgView, SessionList, UserView};

use super::error::ApiResult;
use super::extract::{ApiPath, Caller};
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
        referral_code: org.referral_code,
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
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    app.auth.delete_session(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
