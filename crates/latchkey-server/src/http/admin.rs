//! `/api/v1/admin/*`: an organization's admins manage its members.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use latchkey_api::{
    ApiKeyList, LogoutAllResponse, MemberList, MemberView, SetDisabledRequest, SetRoleRequest,
    SetScopesRequest,
};
use latchkey_core::Role;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, Caller};
use super::views::{key_view, member_view};
use crate::app::AppState;

pub async fn members(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<MemberList>> {
    let users = app.auth.list_members(&caller).await?;
    Ok(Json(MemberList {
        members: users.iter().map(member_view).collect(),
    }))
}

pub async fn set_scopes(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<SetScopesRequest>,
) -> ApiResult<Json<MemberView>> {
    let user = app
        .auth
        .set_member_scopes(&caller, &id, &req.scopes)
        .await?;
    Ok(Json(member_view(&user)))
}

pub async fn set_role(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<SetRoleRequest>,
) -> ApiResult<Json<MemberView>> {
    let role: Role = req
        .role
        .parse()
        .map_err(|_| ApiError::invalid_request("role must be admin or member"))?;
    let user = app.auth.set_member_role(&caller, &id, role).await?;
    Ok(Json(member_view(&user)))
}

pub async fn set_disabled(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<SetDisabledRequest>,
) -> ApiResult<StatusCode> {
    app.auth
        .set_member_disabled(&caller, &id, req.disabled)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    app.auth.remove_member(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn api_keys(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ApiKeyList>> {
    let keys = app.auth.member_api_keys(&caller, &id).await?;
    Ok(Json(ApiKeyList {
        api_keys: keys.into_iter().map(key_view).collect(),
    }))
}

pub async fn revoke_api_key(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, key_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    app.auth
        .revoke_member_api_key(&caller, &id, &key_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn revoke_sessions(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<LogoutAllResponse>> {
    let sessions_revoked = app.auth.revoke_member_sessions(&caller, &id).await?;
    Ok(Json(LogoutAllResponse { sessions_revoked }))
}
