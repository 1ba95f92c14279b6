//! `/api/v1/admin/signing-keys…`: operators (deployment-wide, see `auth/operator.rs`) list and
//! rotate the keys that sign access tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use latchkey_api::{SigningKeyList, SigningKeyView};
use latchkey_core::auth::{KeyRotator, SigningKeyInfo};
use latchkey_core::clock::rfc3339_ms;

use super::error::ApiResult;
use super::extract::Caller;
use crate::app::AppState;

pub async fn signing_keys(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<SigningKeyList>> {
    let keys = app.auth.signing_keys(&caller).await?;
    Ok(Json(SigningKeyList {
        signing_keys: keys.into_iter().map(key_view).collect(),
    }))
}

pub async fn rotate(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<(StatusCode, Json<SigningKeyView>)> {
    let key = app
        .auth
        .rotate_signing_key(KeyRotator::Operator(&caller))
        .await?;
    Ok((StatusCode::CREATED, Json(key_view(key))))
}

fn key_view(k: SigningKeyInfo) -> SigningKeyView {
    SigningKeyView {
        kid: k.kid,
        alg: k.algorithm,
        status: k.status.as_str().to_owned(),
        created_at: rfc3339_ms(k.created_at_ms),
        superseded_at: k.superseded_at_ms.map(rfc3339_ms),
        retires_at: k.retires_at_ms.map(rfc3339_ms),
    }
}
