//! `/api/v1/auth/code*`: passwordless sign-in by a mailed code or magic link.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_api::{CodeRequest, CodeSentResponse, CodeVerifyRequest};
use latchkey_core::LoginOutcome;

use super::auth::token_response;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, Client};
use crate::app::AppState;

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
    Client(client): Client,
    ApiJson(req): ApiJson<CodeVerifyRequest>,
) -> ApiResult<Response> {
    let outcome = app
        .auth
        .verify_login_code(&req.login_id, &req.session_code, &client)
        .await?;
    match outcome {
        LoginOutcome::Signed(grant) => {
            // A first sign-in creates the account: 201, with its API key shown once.
            let status = if grant.api_key.is_some() {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(token_response(&app, status, grant))
        }
        // An outcome this edge cannot answer yet must not turn into tokens: fail closed.
        _ => Err(ApiError::from(latchkey_core::AuthError::Unexpected(
            anyhow::anyhow!("a login outcome this server cannot answer"),
        ))),
    }
}
