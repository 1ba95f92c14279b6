//! `/api/v1/api-keys` (the caller's own keys) and `/get-token`.

use super::cache::no_store;
use super::openapi::{errors, responses};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_api::{
    ApiKeyCreated, ApiKeyList, ApiKeyView, AuthTokenData, CreateApiKeyRequest, GetTokenRequest,
    GetTokenResponse, RotateApiKeyRequest, UpdateApiKeyRequest,
};
use latchkey_core::auth::NewApiKey;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, Caller, MaybeJson};
use super::views::{key_created, key_view};
use crate::state::AppState;

fn parse_time(field: &'static str, value: &str) -> ApiResult<i64> {
    let t = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map_err(|_| ApiError::invalid_request(format!("invalid {field}: expected RFC 3339")))?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[utoipa::path(
    post,
    path = "/api-keys",
    tag = "api-keys",
    operation_id = "createApiKey",
    summary = "Create an API key",
    description = "The key's secret is in the answer this once; only its hash is kept. `scopes` must be catalogue scopes (`422 unknown_scope` otherwise) and a subset of the caller's (`403 insufficient_scope` otherwise); without `scopes` the key follows its owner's scopes. A key that can do more than read (a scope not ending in `:read`, or following an owner who has one) needs a recent re-authentication (`403 reauthentication_required`, see `POST /api/v1/auth/reauthenticate`) and mails a notice. Needs a user's access token: an API auth token is refused with `403 forbidden`.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    request_body(content = latchkey_api::CreateApiKeyRequest, content_type = "application/json"),
    responses(
        responses::UserRoute,
        responses::JsonBody,
        (status = 201, description = "The key, with its secret (shown once).", body = latchkey_api::ApiKeyCreated),
        (status = 403, response = inline(errors::ReauthOrScope)),
        (status = 422, response = inline(errors::UnknownScope))
    )
)]
pub async fn create(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<CreateApiKeyRequest>,
) -> ApiResult<(StatusCode, Json<ApiKeyCreated>)> {
    let expires_at = req
        .expires_at
        .as_deref()
        .map(|v| parse_time("expires_at", v))
        .transpose()?;
    let created = app
        .auth
        .create_api_key(
            &caller,
            NewApiKey {
                name: req.name,
                scopes: req.scopes,
                expires_at,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(key_created(created))))
}

#[utoipa::path(
    get,
    path = "/api-keys",
    tag = "api-keys",
    operation_id = "listApiKeys",
    summary = "The caller's API keys",
    description = "Never the secrets. Needs a user's access token: an API auth token is refused with `403 forbidden`.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    responses(
        responses::UserRoute,
        (status = 200, description = "The keys.", body = latchkey_api::ApiKeyList),
        (status = 403, response = inline(errors::SessionRequired))
    )
)]
pub async fn list(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<ApiKeyList>> {
    let keys = app.auth.own_api_keys(&caller).await?;
    Ok(Json(ApiKeyList {
        api_keys: keys.into_iter().map(key_view).collect(),
    }))
}

#[utoipa::path(
    patch,
    path = "/api-keys/{id}",
    tag = "api-keys",
    operation_id = "updateApiKey",
    summary = "Rename or rescope an API key",
    description = r#"Absent fields stay as they are; `"scopes": null` makes the key follow its owner's scopes again. Live auth tokens of the key carry the new scopes on their next use. New scopes beyond reading need a recent re-authentication (`403 reauthentication_required`). Needs a user's access token: an API auth token is refused with `403 forbidden`."#,
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("id" = String, Path, description = "The key id (the part after `lk_` in its prefix).")
    ),
    request_body(content = latchkey_api::UpdateApiKeyRequest, content_type = "application/json"),
    responses(
        responses::UserRoute,
        responses::JsonBody,
        (status = 200, description = "The key as it is now.", body = latchkey_api::ApiKeyView),
        (status = 403, response = inline(errors::ReauthOrScope)),
        (status = 404, response = inline(errors::NotFound)),
        (status = 422, response = inline(errors::UnknownScope)),
        (status = 503, response = inline(errors::ChangeSaved))
    )
)]
pub async fn update(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateApiKeyRequest>,
) -> ApiResult<Json<ApiKeyView>> {
    let info = app
        .auth
        .update_api_key(&caller, &id, req.name, req.scopes)
        .await?;
    Ok(Json(key_view(info)))
}

#[utoipa::path(
    post,
    path = "/api-keys/{id}/rotate",
    tag = "api-keys",
    operation_id = "rotateApiKey",
    summary = "Give an API key a new secret",
    description = "Same key id, new secret (in the answer, once). Without `overlap_seconds` (or with 0) the old secret and its auth tokens stop at once; otherwise they keep working for that many seconds (at most 7 days). The body is optional. Rotating a key that can do more than read needs a recent re-authentication (`403 reauthentication_required`). Needs a user's access token: an API auth token is refused with `403 forbidden`. If the answer is `503` with `data.committed`, the new secret is lost with it: rotate again.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("id" = String, Path, description = "The key id.")
    ),
    request_body(content = Option<latchkey_api::RotateApiKeyRequest>, content_type = "application/json"),
    responses(
        responses::UserRoute,
        responses::JsonBody,
        (status = 200, description = "The key with its new secret (shown once).", body = latchkey_api::ApiKeyCreated),
        (status = 403, response = inline(errors::ReauthRequired)),
        (status = 404, response = inline(errors::NotFound)),
        (status = 409, response = inline(errors::Conflict)),
        (status = 503, response = inline(errors::ChangeSaved))
    )
)]
pub async fn rotate(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
    MaybeJson(body): MaybeJson<RotateApiKeyRequest>,
) -> ApiResult<Json<ApiKeyCreated>> {
    let overlap = Duration::from_secs(body.map_or(0, |b| b.overlap_seconds));
    let created = app.auth.rotate_own_api_key(&caller, &id, overlap).await?;
    Ok(Json(key_created(created)))
}

#[utoipa::path(
    delete,
    path = "/api-keys/{id}",
    tag = "api-keys",
    operation_id = "deleteApiKey",
    summary = "Delete an API key",
    description = "The key and every auth token minted from it stop at once. Another user's key is `404`. Needs a user's access token: an API auth token is refused with `403 forbidden`.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("id" = String, Path, description = "The key id.")
    ),
    responses(
        responses::UserRoute,
        (status = 204, description = "The key is gone."),
        (status = 403, response = inline(errors::SessionRequired)),
        (status = 404, response = inline(errors::NotFound)),
        (status = 503, response = inline(errors::ChangeSaved))
    )
)]
pub async fn delete(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    app.auth.delete_own_api_key(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An API key in, an auth token out — the same one while it lives, its expiry reset.
#[utoipa::path(
    post,
    path = "/get-token",
    tag = "api-keys",
    operation_id = "getToken",
    summary = "Exchange an API key for an auth token",
    description = "Answers with the key's live auth token (`lkt_…`) if there is one, its expiry reset to the full lifetime (`api_token_ttl`, 60 minutes by default), or a new one. Every use of the auth token slides its expiry back to the full lifetime too. Send it as `x-authorization: Agent <auth_token>` (optionally with `x-api-key: <api key>`, which must then be the token's key) or as `Authorization: Bearer <auth_token>`. The success body is the `{data, status, code, message}` envelope that existing API-key clients parse.",
    request_body(content = latchkey_api::GetTokenRequest, content_type = "application/json"),
    responses(
        responses::PublicRoute,
        responses::JsonBody,
        (status = 200, description = "The auth token.", body = latchkey_api::GetTokenResponse, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 401, response = inline(errors::InvalidApiKey))
    )
)]
pub async fn get_token(
    State(app): State<AppState>,
    ApiJson(req): ApiJson<GetTokenRequest>,
) -> ApiResult<Response> {
    let minted = app.auth.get_token(&req.api_key).await?;
    let body = GetTokenResponse {
        data: AuthTokenData {
            auth_token: minted.token.expose().to_owned(),
            expires_in: minted.expires_in.as_secs(),
        },
        status: "success".into(),
        code: 200,
        message: "token successfully created".into(),
    };
    let mut r = Json(body).into_response();
    no_store(r.headers_mut());
    Ok(r)
}
