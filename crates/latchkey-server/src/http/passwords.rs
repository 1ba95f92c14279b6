//! `/api/v1/auth/password/*`: change, and reset a forgotten password by mail.

use axum::extract::State;
use axum::http::StatusCode;
use latchkey_api::{
    EmailVerifyRequest, PasswordChangeRequest, PasswordForgotRequest, PasswordResetRequest,
};
use latchkey_core::secret::Secret;

use super::error::ApiResult;
use super::extract::{ApiJson, Caller, Client};
use crate::app::AppState;

pub async fn change(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<PasswordChangeRequest>,
) -> ApiResult<StatusCode> {
    app.auth
        .change_password(
            &caller,
            &Secret::new(req.current_password),
            &Secret::new(req.new_password),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn forgot(
    State(app): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<PasswordForgotRequest>,
) -> ApiResult<StatusCode> {
    app.auth.forgot_password(&req.email, &client).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn verify_email(
    State(app): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<EmailVerifyRequest>,
) -> ApiResult<StatusCode> {
    app.auth.verify_email(&req.token, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn reset(
    State(app): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<PasswordResetRequest>,
) -> ApiResult<StatusCode> {
    app.auth
        .reset_password(&req.token, &Secret::new(req.new_password), &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
