//! The caller's own account: profile, organization, sessions.

use super::openapi::{errors, responses};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use latchkey_api::{LogoutAllResponse, OrgView, SessionList, UserView};

use super::error::ApiResult;
use super::extract::{ApiPath, Caller};
use super::views::{profile_view, session_view};
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/me",
    tag = "account",
    operation_id = "me",
    summary = "The caller's profile",
    description = "With a user's access token: the user with their current role and scopes. With an API auth token: the owner's identity with the key's effective scopes and `key_id`, and no `role` (a token is not the user).",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    responses(
        responses::UserRoute,
        (status = 200, description = "The user.", body = latchkey_api::UserView),
        (status = 404, response = inline(errors::NotFound))
    )
)]
pub async fn me(State(app): State<AppState>, Caller(caller): Caller) -> ApiResult<Json<UserView>> {
    let profile = app.auth.me(&caller).await?;
    Ok(Json(profile_view(profile)))
}

#[utoipa::path(
    get,
    path = "/org",
    tag = "account",
    operation_id = "org",
    summary = "The caller's organization",
    description = "`referral_code` (the invite code that lets anyone join) is shown to admins only. Needs a user's access token: an API token is `403 forbidden`.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    responses(
        responses::UserRoute,
        (status = 200, description = "The organization.", body = latchkey_api::OrgView),
        (status = 404, response = inline(errors::NotFound)),
        (status = 403, response = inline(errors::SessionRequired))
    )
)]
pub async fn org(State(app): State<AppState>, Caller(caller): Caller) -> ApiResult<Json<OrgView>> {
    let org = app.auth.org(&caller).await?;
    Ok(Json(OrgView {
        org_id: org.id,
        name: org.name,
        referral_code: org.referral_code,
    }))
}

#[utoipa::path(
    get,
    path = "/sessions",
    tag = "sessions",
    operation_id = "listSessions",
    summary = "The caller's live sessions",
    description = "Needs a user's access token: an API token is `403 forbidden`.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    responses(
        responses::UserRoute,
        (status = 200, description = "Live sessions; `current` marks the one of the token that asked.", body = latchkey_api::SessionList),
        (status = 403, response = inline(errors::SessionRequired))
    )
)]
pub async fn sessions(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<SessionList>> {
    let sessions = app.auth.sessions(&caller).await?;
    Ok(Json(SessionList {
        sessions: sessions.into_iter().map(session_view).collect(),
    }))
}

#[utoipa::path(
    delete,
    path = "/sessions/{id}",
    tag = "sessions",
    operation_id = "deleteSession",
    summary = "End one of the caller's sessions",
    description = "Another user's session, an unknown id and an already ended session are all `404`, so ids cannot be probed.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("id" = String, Path, description = "The session id (`session_id` of a token response, `id` of a session).")
    ),
    responses(
        responses::UserRoute,
        (status = 204, description = "The session has ended."),
        (status = 404, response = inline(errors::NotFound)),
        (status = 403, response = inline(errors::SessionRequired))
    )
)]
pub async fn delete_session(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    app.auth.delete_session(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/sessions",
    tag = "sessions",
    operation_id = "deleteOtherSessions",
    summary = "End every session of the caller but this one",
    description = "Signs out the caller's other devices at once (their refresh tokens fail, their access tokens are refused) and keeps the session of the token that asked. Recorded as `sessions.revoked` with `reason: logout_others`. Needs a user's full access token: an API token or a narrowed token is `403 forbidden`.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    responses(
        responses::UserRoute,
        (status = 200, description = "How many sessions were ended.", body = latchkey_api::LogoutAllResponse),
        (status = 403, response = inline(errors::SessionRequired))
    )
)]
pub async fn delete_other_sessions(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<LogoutAllResponse>> {
    let sessions_revoked = app.auth.logout_others(&caller).await?;
    Ok(Json(LogoutAllResponse { sessions_revoked }))
}
