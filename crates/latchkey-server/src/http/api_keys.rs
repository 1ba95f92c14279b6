//! `/api/v1/api-keys` (the caller's own keys) and `/get-token`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_api::{
    ApiKeyCreated, ApiKeyList, ApiKeyView, AuthTokenData, CreateApiKeyRequest, GetTokenRequest,
    GetTokenResponse, RotateApiKeyRequest, UpdateApiKeyRequest,
};
use latchkey_core::auth::NewApiKey;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, Caller, MaybeJson};
use super::views::{key_created, key_view};
use crate::app::AppState;

fn parse_time(field: &'static str, value: &str) -> ApiResult<i64> {
    let t = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map_err(|_| ApiError::invalid_request(format!("invalid {field}: expected RFC 3339")))?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

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

pub async fn list(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<ApiKeyList>> {
    let keys = app.auth.own_api_keys(&caller).await?;
    Ok(Json(ApiKeyList {
        api_keys: keys.into_iter().map(key_view).collect(),
    }))
}

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

pub async fn delete(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    app.auth.delete_own_api_key(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An API key in, an auth token out — the same one while it lives, its expiry reset.
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
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
