//! `/api/v1/phone/verify/*`: proving the phone number on the account.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use latchkey_api::{PhoneCodeSent, PhoneVerified, PhoneVerifyRequest};
use latchkey_core::auth::phone::PHONE_CODE_TTL;

use super::error::ApiResult;
use super::extract::{ApiJson, Caller, Client};
use crate::app::AppState;

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
