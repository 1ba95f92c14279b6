//! `/api/v1/phone/verify/*`: proving the phone number on the account.

use super::openapi::{errors, responses};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use latchkey_api::{PhoneCodeSent, PhoneVerified, PhoneVerifyRequest};
use latchkey_core::auth::phone::PHONE_CODE_TTL;

use super::error::ApiResult;
use super::extract::{ApiJson, Caller, Client};
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/phone/verify/start",
    tag = "phone",
    operation_id = "phoneVerifyStart",
    summary = "Text a verification code to the account's phone number",
    description = "A 6-digit code, valid 10 minutes and 5 tries, sent through the configured SMS webhook (or, without one, written to the development outbox). One send per account per minute (`429` with `Retry-After`); sends also count against the per-IP login limit, and against budgets per destination number (5) and per organization (50) per day, whichever accounts ask (`429` with `Retry-After`; nothing is sent). A user session only.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    responses(
        responses::UserRoute,
        (status = 202, description = "The code was sent.", body = latchkey_api::PhoneCodeSent),
        (status = 400, response = inline(errors::InvalidRequest)),
        (status = 403, response = inline(errors::SessionRequired)),
        (status = 429, response = inline(errors::RateLimited))
    )
)]
pub async fn start(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Client(client): Client,
) -> ApiResult<(StatusCode, Json<PhoneCodeSent>)> {
    app.auth
        .phone_verify_start(&caller, &app.sms, &client)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(PhoneCodeSent {
            sent: true,
            expires_in: PHONE_CODE_TTL.as_secs() as i64,
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/phone/verify",
    tag = "phone",
    operation_id = "phoneVerify",
    summary = "Check the code and mark the phone number verified",
    description = "Each try counts before the comparison; a wrong, expired, used or out-of-tries code is `invalid_request`.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    request_body(content = latchkey_api::PhoneVerifyRequest, content_type = "application/json"),
    responses(
        responses::UserRoute,
        responses::JsonBody,
        (status = 200, description = "Verified.", body = latchkey_api::PhoneVerified),
        (status = 403, response = inline(errors::SessionRequired))
    )
)]
pub async fn verify(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<PhoneVerifyRequest>,
) -> ApiResult<Json<PhoneVerified>> {
    let phone = app.auth.phone_verify(&caller, &req.code).await?;
    Ok(Json(PhoneVerified {
        phone,
        verified: true,
    }))
}
