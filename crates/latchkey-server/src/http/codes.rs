//! `/api/v1/auth/code*`: passwordless sign-in by a mailed code or magic link.

use super::error::ApiResult;
use super::extract::{ApiJson, Client};
use crate::app::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_api::{CodeRequest, CodeSentResponse, CodeVerifyRequest};

pub async fn send(
    State(app): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<CodeRequest>,
) -> ApiResult<Response> {
    let sent = app.auth.send_login_code(&req.email, &client).await?;
    let body = CodeSentResponse {
        login_id: sent.login_id,
        expires_in: sent.expires_in_secs,
    };
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
}

pub async fn verify(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    Client(client): Client,
    ApiJson(req): ApiJson<CodeVerifyRequest>,
) -> ApiResult<Response> {
    let outcome = app
        .auth
        .verify_login_code(
            &req.login_id,
            &req.session_code,
            req.mfa_code.as_deref(),
            &client,
        )
        .await
        .map_err(super::mfa::failed_login)?;
    super::mfa::login_answer(&app, outcome, Some(req.login_id), &headers)
}
