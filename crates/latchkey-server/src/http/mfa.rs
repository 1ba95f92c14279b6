//! Two-factor authentication: TOTP enrolment and the second step of a login.

use super::cache::no_store;
use super::openapi::{errors, responses};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_api::{MfaVerifyRequest, RecoveryCodesResponse, TotpCodeRequest, TotpEnrollResponse};

use super::answers::{failed_login, login_answer};
use super::error::ApiResult;
use super::extract::{ApiJson, Caller, Client};
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/auth/mfa/verify",
    tag = "auth",
    operation_id = "verifyMfa",
    summary = "Second step of a password login",
    description = "Takes the `mfa_token` of a password login and a current TOTP code (each code is accepted once) or an unused recovery code. 5 tries per token; after them, or after 5 minutes, the token is refused with `invalid_token` and the user logs in again. Every step is counted before it is evaluated, per client IP (100 per 15 minutes; IPv6 by /64) and per account: 10 from one address (or one known device, see `X-Device-Token`) and 50 from all addresses without a device token together. Passwords, second factors and mailed codes share these budgets; once over a limit even the right answer is `429` with `Retry-After` until the window passes. Only a completed sign-in (every factor) gives its steps back; a right password or code whose account asks for a second factor gives nothing back.",
    params(
        ("X-Device-Token" = Option<String>, Header, description = "The `device_token` of an earlier sign-in of this client (`lkd_…`; browsers in cookie mode send the `latchkey_device` cookie instead): this device's wrong guesses count in a budget of its own (`LATCHKEY_LOGIN_LIMIT_PER_ACCOUNT_IP`), so failures from elsewhere do not lock it out. An unknown, expired or other account's token counts as none.")
    ),
    request_body(content = latchkey_api::MfaVerifyRequest, content_type = "application/json"),
    responses(
        responses::PublicRoute,
        responses::JsonBody,
        (status = 200, description = "A new session is open.", body = latchkey_api::TokenResponse, headers(("Cache-Control" = String, description = "`no-store`."), ("Pragma" = String, description = "`no-cache`."))),
        (status = 401, description = "`invalid_mfa_code` with `data.attempts_left`, or `invalid_token` for an unknown, expired, used or exhausted `mfa_token`.", body = latchkey_api::ErrorBody, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 403, response = inline(errors::AccountDisabled)),
        (status = 429, response = inline(errors::RateLimited))
    )
)]
pub async fn verify(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    Client(client): Client,
    ApiJson(req): ApiJson<MfaVerifyRequest>,
) -> ApiResult<Response> {
    let outcome = app
        .auth
        .verify_mfa(&req.mfa_token, &req.mfa_code, &client)
        .await
        .map_err(failed_login)?;
    login_answer(&app, outcome, None, &headers)
}

#[utoipa::path(
    post,
    path = "/mfa/totp/enroll",
    tag = "mfa",
    operation_id = "enrollTotp",
    summary = "Start turning on TOTP",
    description = "A new secret for an authenticator app (RFC 6238: SHA-1, 6 digits, 30 s), as base32, an `otpauth://` URI and a QR code (inline SVG). Nothing changes until `/confirm`; a second enrolment replaces an unconfirmed one and is refused (`409`) once MFA is on. A user session with a recent re-authentication only (`reauthentication_required` otherwise: see `POST /api/v1/auth/reauthenticate`).",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    responses(
        responses::UserRoute,
        (status = 200, description = "The pending secret.", body = latchkey_api::TotpEnrollResponse, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 403, response = inline(errors::ReauthRequired)),
        (status = 409, response = inline(errors::Conflict))
    )
)]
pub async fn enroll(State(app): State<AppState>, Caller(caller): Caller) -> ApiResult<Response> {
    let e = app.auth.totp_enroll(&caller).await?;
    let body = TotpEnrollResponse {
        secret: e.secret,
        otpauth_uri: e.otpauth_uri,
        qr_svg: e.qr_svg,
    };
    let mut response = axum::Json(body).into_response();
    no_store(response.headers_mut());
    Ok(response)
}

#[utoipa::path(
    post,
    path = "/mfa/totp/confirm",
    tag = "mfa",
    operation_id = "confirmTotp",
    summary = "Turn on TOTP with a first code",
    description = "Turns MFA on and answers 10 recovery codes, shown once (stored as keyed hashes, each single-use). The user's other sessions end and a notice is mailed. Needs a recent re-authentication, like `/enroll`. Tries are counted per account like logins.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    request_body(content = latchkey_api::TotpCodeRequest, content_type = "application/json"),
    responses(
        responses::UserRoute,
        (status = 200, description = "MFA is on.", body = latchkey_api::RecoveryCodesResponse, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 400, response = inline(errors::InvalidRequest)),
        (status = 401, response = inline(errors::InvalidMfaCode)),
        (status = 403, response = inline(errors::ReauthRequired)),
        (status = 409, response = inline(errors::Conflict)),
        (status = 429, response = inline(errors::RateLimited))
    )
)]
pub async fn confirm(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<TotpCodeRequest>,
) -> ApiResult<Response> {
    let recovery_codes = app.auth.totp_confirm(&caller, &req.code).await?;
    let body = RecoveryCodesResponse {
        enabled: true,
        recovery_codes,
    };
    let mut response = axum::Json(body).into_response();
    no_store(response.headers_mut());
    Ok(response)
}

#[utoipa::path(
    delete,
    path = "/mfa/totp",
    tag = "mfa",
    operation_id = "disableTotp",
    summary = "Turn off TOTP",
    description = "Needs a current TOTP code (not one used before) or an unused recovery code in the body. Deletes the secret and the recovery codes; the user's other sessions end and a notice is mailed. The code is the re-authentication.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    request_body(content = latchkey_api::TotpCodeRequest, content_type = "application/json"),
    responses(
        responses::UserRoute,
        (status = 204, description = "MFA is off.", headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 400, response = inline(errors::InvalidRequest)),
        (status = 401, response = inline(errors::InvalidMfaCode)),
        (status = 403, response = inline(errors::SessionRequired)),
        (status = 404, response = inline(errors::NotFound)),
        (status = 429, response = inline(errors::RateLimited))
    )
)]
pub async fn disable(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<TotpCodeRequest>,
) -> ApiResult<StatusCode> {
    app.auth.totp_disable(&caller, &req.code).await?;
    Ok(StatusCode::NO_CONTENT)
}
