//! `/api/v1/admin/*`: an organization's admins manage its members.

use super::openapi::{errors, responses};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use latchkey_api::{
    ApiKeyList, CatalogueScopeView, LogoutAllResponse, MemberList, MemberView, OrgView,
    ScopeCatalogue, SetDisabledRequest, SetRoleRequest, SetScopesRequest,
};
use latchkey_core::Role;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, Caller};
use super::views::{key_view, member_view};
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/admin/users",
    tag = "admin",
    operation_id = "listMembers",
    summary = "The members of the caller's organization",
    description = "Organization admins only (with a user's access token); the target must be a member of the caller's organization, anyone else is `404` (ids cannot be probed).",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    responses(
        responses::AdminRoute,
        (status = 200, description = "The members.", body = latchkey_api::MemberList)
    )
)]
pub async fn members(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<MemberList>> {
    let users = app.auth.list_members(&caller).await?;
    Ok(Json(MemberList {
        members: users.iter().map(member_view).collect(),
    }))
}

#[utoipa::path(
    put,
    path = "/admin/users/{id}/scopes",
    tag = "admin",
    operation_id = "setMemberScopes",
    summary = "Replace a member's scopes",
    description = "Only scopes of the server's catalogue (`LATCHKEY_SCOPES`) and Latchkey's reserved scopes (`latchkey:introspect`) can be granted; any other is `422 unknown_scope`, naming it (with an empty catalogue, only `[]` and reserved scopes are accepted). An organization admin may add only scopes the operator marked grantable (`LATCHKEY_ADMIN_GRANTABLE_SCOPES`) and the default scopes, and may remove any; adding another is `403 forbidden`, naming it. An operator (`latchkey users operator`) may set any scope on any user of the deployment. Every live token of the member (access tokens and API auth tokens) carries the new scopes on its next use; an API key's effective scopes are its own ∩ its owner's. Organization admins and operators only, with their own full access token (not an API token, not a narrowed one); for an admin the target must be a member of the caller's organization, anyone else is `404` (ids cannot be probed).",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("id" = String, Path, description = "The member's user id.")
    ),
    request_body(content = latchkey_api::SetScopesRequest, content_type = "application/json"),
    responses(
        responses::AdminRoute,
        responses::JsonBody,
        (status = 200, description = "The member as they are now.", body = latchkey_api::MemberView),
        (status = 404, response = inline(errors::NotFound)),
        (status = 422, response = inline(errors::UnknownScope)),
        (status = 503, response = inline(errors::ChangeSaved))
    )
)]
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

#[utoipa::path(
    put,
    path = "/admin/users/{id}/role",
    tag = "admin",
    operation_id = "setMemberRole",
    summary = "Make a member an admin, or an admin a member",
    description = "An admin cannot change their own role (`403`). Organization admins only (with a user's access token); the target must be a member of the caller's organization, anyone else is `404` (ids cannot be probed).",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("id" = String, Path, description = "The member's user id.")
    ),
    request_body(content = latchkey_api::SetRoleRequest, content_type = "application/json"),
    responses(
        responses::AdminRoute,
        responses::JsonBody,
        (status = 200, description = "The member as they are now.", body = latchkey_api::MemberView),
        (status = 404, response = inline(errors::NotFound)),
        (status = 503, response = inline(errors::ChangeSaved))
    )
)]
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

#[utoipa::path(
    put,
    path = "/admin/users/{id}/disabled",
    tag = "admin",
    operation_id = "setMemberDisabled",
    summary = "Disable or re-enable a member",
    description = "Disabling ends every session of the member at once and refuses their tokens and API keys; login answers `403 account_disabled`. An admin cannot disable their own account (`403`). Organization admins only (with a user's access token); the target must be a member of the caller's organization, anyone else is `404` (ids cannot be probed).",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("id" = String, Path, description = "The member's user id.")
    ),
    request_body(content = latchkey_api::SetDisabledRequest, content_type = "application/json"),
    responses(
        responses::AdminRoute,
        responses::JsonBody,
        (status = 204, description = "Done."),
        (status = 404, response = inline(errors::NotFound)),
        (status = 503, response = inline(errors::ChangeSaved))
    )
)]
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

#[utoipa::path(
    delete,
    path = "/admin/users/{id}",
    tag = "admin",
    operation_id = "removeMember",
    summary = "Remove a member",
    description = "The member's sessions, API keys and auth tokens stop at once. An admin cannot remove their own account (`403`). Organization admins only (with a user's access token); the target must be a member of the caller's organization, anyone else is `404` (ids cannot be probed). A retry of a removal that was saved while the token store was unreachable (`503` with `data.committed`) finishes it and answers `204` while it is still pending; once it has taken effect the user is simply not found (`404`).",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("id" = String, Path, description = "The member's user id.")
    ),
    responses(
        responses::AdminRoute,
        (status = 204, description = "The member is gone."),
        (status = 404, response = inline(errors::NotFound)),
        (status = 503, response = inline(errors::ChangeSaved))
    )
)]
pub async fn remove(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    app.auth.remove_member(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/admin/users/{id}/api-keys",
    tag = "admin",
    operation_id = "listMemberApiKeys",
    summary = "A member's API keys",
    description = "Never the secrets. Organization admins only (with a user's access token); the target must be a member of the caller's organization, anyone else is `404` (ids cannot be probed).",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("id" = String, Path, description = "The member's user id.")
    ),
    responses(
        responses::AdminRoute,
        (status = 200, description = "The keys.", body = latchkey_api::ApiKeyList),
        (status = 404, response = inline(errors::NotFound))
    )
)]
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

#[utoipa::path(
    delete,
    path = "/admin/users/{id}/api-keys/{key_id}",
    tag = "admin",
    operation_id = "revokeMemberApiKey",
    summary = "Revoke a member's API key",
    description = "The key and its auth tokens stop at once. Organization admins only (with a user's access token); the target must be a member of the caller's organization, anyone else is `404` (ids cannot be probed).",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("id" = String, Path, description = "The member's user id."),
        ("key_id" = String, Path, description = "The key id.")
    ),
    responses(
        responses::AdminRoute,
        (status = 204, description = "The key is gone."),
        (status = 404, response = inline(errors::NotFound)),
        (status = 503, response = inline(errors::ChangeSaved))
    )
)]
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

#[utoipa::path(
    delete,
    path = "/admin/users/{id}/sessions",
    tag = "admin",
    operation_id = "revokeMemberSessions",
    summary = "End every session of a member",
    description = "Organization admins only (with a user's access token); the target must be a member of the caller's organization, anyone else is `404` (ids cannot be probed).",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("id" = String, Path, description = "The member's user id.")
    ),
    responses(
        responses::AdminRoute,
        (status = 200, description = "How many sessions were revoked.", body = latchkey_api::LogoutAllResponse),
        (status = 404, response = inline(errors::NotFound))
    )
)]
pub async fn revoke_sessions(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<LogoutAllResponse>> {
    let sessions_revoked = app.auth.revoke_member_sessions(&caller, &id).await?;
    Ok(Json(LogoutAllResponse { sessions_revoked }))
}

#[utoipa::path(
    post,
    path = "/admin/referral-code",
    tag = "admin",
    operation_id = "regenerateReferralCode",
    summary = "Give the organization a new referral code",
    description = "The old code stops working at once: a sign-up that sends it is refused (`422 unknown_referral_code`); nothing else changes (members who joined with it stay). Recorded in the audit log as `org.referral_code_regenerated` (never the code). Organization admins only, with their own access token (not an API token, not a narrowed one); anyone else gets `403 forbidden`.",
    security(("bearerAuth" = [])),
    responses(
        responses::AdminRoute,
        (status = 200, description = "The organization with its new code.", body = latchkey_api::OrgView)
    )
)]
pub async fn regenerate_referral_code(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<OrgView>> {
    let org = app.auth.regenerate_referral_code(&caller).await?;
    Ok(Json(OrgView {
        org_id: org.id,
        name: org.name,
        referral_code: org.referral_code,
    }))
}

#[utoipa::path(
    get,
    path = "/admin/scopes",
    tag = "admin",
    operation_id = "listScopeCatalogue",
    summary = "The scopes that exist, and which the caller may grant",
    description = "The server's scope catalogue (`LATCHKEY_SCOPES`) in its order, then Latchkey's reserved scopes, each with `grantable`: whether the caller may add it to a member. For an organization admin that is the operator's `LATCHKEY_ADMIN_GRANTABLE_SCOPES` and the default scopes; an operator may grant every scope. Organization admins and operators only, with their own access token; anyone else gets `403 forbidden`.",
    security(("bearerAuth" = [])),
    responses(
        responses::AdminRoute,
        (status = 200, description = "The catalogue.", body = latchkey_api::ScopeCatalogue)
    )
)]
pub async fn scope_catalogue(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<ScopeCatalogue>> {
    let scopes = app.auth.scope_catalogue(&caller).await?;
    Ok(Json(ScopeCatalogue {
        scopes: scopes
            .into_iter()
            .map(|s| CatalogueScopeView {
                name: s.name,
                grantable: s.grantable,
            })
            .collect(),
    }))
}
