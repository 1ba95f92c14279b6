//! Two-factor authentication: TOTP enrolment and the second step of a login.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_api::{
    MfaRequiredResponse, MfaVerifyRequest, RecoveryCodesResponse, TotpCodeRequest,
    TotpEnrollResponse,
};
use latchkey_core::LoginOutcome;

use super::auth::token_response;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, Caller, Client};
use crate::app::AppState;

/// How every login route answers its outcome. `created` is the status of a grant that came
/// with a new account.
pub(super) fn login_answer(
    app: &AppState,
    outcome: LoginOutcome,
    login_id: Option<String>,
    headers: &axum::http::HeaderMap,
) -> ApiResult<Response> {
    match outcome {
        LoginOutcome::Signed(grant) => {
            super::metrics::outcome("latchkey_logins_total", Ok(()));
            // A first sign-in creates the account: 201, with its API key shown once.
            let status = if grant.api_key.is_some() {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let cookie = super::refresh_cookie::wanted(app, headers);
            Ok(token_response(app, status, grant, cookie))
        }
        LoginOutcome::MfaRequired { mfa_token } => {
            let body = MfaRequiredResponse {
                status: "mfa_required".into(),
                login_id: mfa_token.is_none().then_some(login_id).flatten(),
                mfa_token: mfa_token.map(|t| t.expose().to_owned()),
                data: serde_json::json!({"methods": ["totp", "recovery_code"]}),
            };
            let mut response = (StatusCode::OK, axum::Json(body)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        // An outcome this edge cannot answer yet must not turn into tokens: fail closed.
        _ => Err(ApiError::from(latchkey_core::AuthError::Unexpected(
            anyhow::anyhow!("a login outcome this server cannot answer"),
        ))),
    }
}

/// A login step refused: counted by its code, like a refused password (`auth::login`).
pub(super) fn failed_login(e: latchkey_core::AuthError) -> ApiError {
    let e = ApiError::from(e);
    super::metrics::outcome("latchkey_logins_total", Err(e.code));
    e
}

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

pub async fn enroll(State(app): State<AppState>, Caller(caller): Caller) -> ApiResult<Response> {
    let e = app.auth.totp_enroll(&caller).await?;
    let body = TotpEnrollResponse {
        secret: e.secret,
        otpauth_uri: e.otpauth_uri,
        qr_svg: e.qr_svg,
    };
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

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
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub async fn disable(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<TotpCodeRequest>,
) -> ApiResult<StatusCode> {
    app.auth.totp_disable(&caller, &req.code).await?;
    Ok(StatusCode::NO_CONTENT)
}
