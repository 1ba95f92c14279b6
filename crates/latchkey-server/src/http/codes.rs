//! `/api/v1/auth/code*`: passwordless sign-in by a mailed code or magic link.

use super::error::ApiResult;
use super::extract::{ApiJson, Client};
use super::openapi::{errors, responses};
use crate::state::AppState;
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
        responses::PublicRoute,
        responses::JsonBody,
        (status = 202, description = "The code is on its way (the same answer for every valid address).", body = latchkey_api::CodeSentResponse, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 422, response = inline(errors::InvalidEmail)),
        (status = 429, response = inline(errors::RateLimited))
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
    description = "Spends the login's code and opens a session. A login allows 5 tries in all (counted atomically, so parallel guesses cannot exceed them); then, like an expired or used code, it answers `invalid_session_code`. A code for an address without an account signs it up (a new organization, as its admin) unless `LATCHKEY_LOGIN_CODE_SIGNUP` is off: `201` with the default API key, shown once. Every step is counted before it is evaluated, per client IP (100 per 15 minutes; IPv6 by /64) and per account: 10 from one address (or one known device, see `X-Device-Token`) and 50 from all addresses without a device token together. Passwords, second factors and mailed codes share these budgets; once over a limit even the right answer is `429` with `Retry-After` until the window passes. Only a completed sign-in (every factor) gives its steps back; a right password or code whose account asks for a second factor gives nothing back. Codes of an address without an account are counted like an account's.",
    params(
        ("X-Device-Token" = Option<String>, Header, description = "The `device_token` of an earlier sign-in of this client (`lkd_…`; browsers in cookie mode send the `latchkey_device` cookie instead): this device's wrong guesses count in a budget of its own (`LATCHKEY_LOGIN_LIMIT_PER_ACCOUNT_IP`), so failures from elsewhere do not lock it out. An unknown, expired or other account's token counts as none.")
    ),
    request_body(content = latchkey_api::CodeVerifyRequest, content_type = "application/json"),
    responses(
        responses::PublicRoute,
        responses::JsonBody,
        (status = 200, description = "A new session is open, or (`status: mfa_required`) the account asks for a second factor: send the same request again with `mfa_code`; the session code stays usable.", body = ref("#/components/schemas/VerifyLoginCodeResponse200"), headers(("Cache-Control" = String, description = "`no-store`."), ("Pragma" = String, description = "`no-cache`."))),
        (status = 201, description = "The address had no account: it was created, and its first session is open (`api_key` shown once).", body = latchkey_api::TokenResponse, headers(("Cache-Control" = String, description = "`no-store`."), ("Pragma" = String, description = "`no-cache`."))),
        (status = 401, description = "`invalid_session_code` (wrong, expired, used or unknown), or `invalid_mfa_code` with `data.attempts_left`.", body = latchkey_api::ErrorBody, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 403, response = inline(errors::AccountDisabled)),
        (status = 429, response = inline(errors::RateLimited))
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
        .map_err(super::answers::failed_login)?;
    super::answers::login_answer(&app, outcome, Some(req.login_id), &headers)
}
