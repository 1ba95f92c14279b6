//! `/api/v1/auth/code*`: passwordless sign-in by a mailed code or magic link.

use super::error::ApiResult;
use super::extract::{ApiJson, Client};
use super::openapi::errors;
use crate::app::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_api::{CodeRequest, CodeSentResponse, CodeVerifyRequest};

#[utoipa::path(
    post,
    path = "/auth/code",
    tag = "auth",
    operation_id = "sendLoginCode",
    summary = "Mail a one-time sign-in code and magic link",
    description = "Sends a six-digit code, valid once for 10 minutes, and a magic link to the sign-in page (`LATCHKEY_MAGIC_LINK_URL`, with `login_id` and `code` in its query) for the same login. Every valid address gets the same `202`, whether or not it has an account; the answer comes before the mail is sent (the same work and time for both); an account's mail goes to its stored address, and an unknown address receives a mail only when a verified code may sign it up (`LATCHKEY_LOGIN_CODE_SIGNUP`). Sending is limited per client IP (20) and per address (5) per login window (`429` with `Retry-After`).",
    request_body(content = latchkey_api::CodeRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "The code is on its way (the same answer for every valid address).", body = latchkey_api::CodeSentResponse, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 400, response = inline(errors::InvalidRequest)),
        (status = 413, response = inline(errors::PayloadTooLarge)),
        (status = 422, response = inline(errors::InvalidEmail)),
        (status = 429, response = inline(errors::RateLimited)),
        (status = 500, response = inline(errors::InternalError)),
        (status = 503, response = inline(errors::ServiceUnavailable))
    )
)]
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

#[utoipa::path(
    post,
    path = "/auth/code/verify",
    tag = "auth",
    operation_id = "verifyLoginCode",
    summary = "Sign in with a mailed code",
    description = "Spends the login's code and opens a session. A login allows 5 tries in all (counted atomically, so parallel guesses cannot exceed them); then, like an expired or used code, it answers `invalid_session_code`. A code for an address without an account signs it up (a new organization, as its admin) unless `LATCHKEY_LOGIN_CODE_SIGNUP` is off: `201` with the default API key, shown once.",
    request_body(content = latchkey_api::CodeVerifyRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "A new session is open, or (`status: mfa_required`) the account asks for a second factor: send the same request again with `mfa_code`; the session code stays usable.", body = ref("#/components/schemas/VerifyLoginCodeResponse200"), headers(("Cache-Control" = String, description = "`no-store`."), ("Pragma" = String, description = "`no-cache`."))),
        (status = 201, description = "The address had no account: it was created, and its first session is open (`api_key` shown once).", body = latchkey_api::TokenResponse, headers(("Cache-Control" = String, description = "`no-store`."), ("Pragma" = String, description = "`no-cache`."))),
        (status = 400, response = inline(errors::InvalidRequest)),
        (status = 401, description = "`invalid_session_code` (wrong, expired, used or unknown), or `invalid_mfa_code` with `data.attempts_left`.", body = latchkey_api::ErrorBody, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 403, response = inline(errors::AccountDisabled)),
        (status = 413, response = inline(errors::PayloadTooLarge)),
        (status = 500, response = inline(errors::InternalError)),
        (status = 503, response = inline(errors::ServiceUnavailable))
    )
)]
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
