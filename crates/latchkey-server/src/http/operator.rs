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
use super::openapi::responses;
use crate::state::AppState;

const OPERATORS_ONLY: &str = "Operators only: users granted the flag on the server with `latchkey users operator <email>`, with their own access token (never an API token). Anyone else gets `403 forbidden`, an organization admin too: the signing key belongs to the whole deployment.";

#[utoipa::path(
    get,
    path = "/admin/signing-keys",
    tag = "operator",
    operation_id = "listSigningKeys",
    summary = "Every signing key and its status",
    description = OPERATORS_ONLY,
    security(("bearerAuth" = [])),
    responses(
        responses::AdminRoute,
        (status = 200, description = "Newest first: the key that signs, the keys that still verify until `retires_at`, and retired ones.", body = latchkey_api::SigningKeyList)
    )
)]
pub async fn signing_keys(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<SigningKeyList>> {
    let keys = app.auth.signing_keys(&caller).await?;
    Ok(Json(SigningKeyList {
        signing_keys: keys.into_iter().map(key_view).collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/admin/signing-keys/rotate",
    tag = "operator",
    operation_id = "rotateSigningKey",
    summary = "Sign with a new key",
    description = "The new key signs at once on this instance; the others follow within 2 seconds, or as soon as they meet a token with its kid. The previous key keeps verifying until the last token it signed has expired, then retires and leaves the JWKS. Recorded in the audit log as `signing_key.rotated`. Operators only: users granted the flag on the server with `latchkey users operator <email>`, with their own access token (never an API token); anyone else gets `403 forbidden`.",
    security(("bearerAuth" = [])),
    responses(
        responses::AdminRoute,
        (status = 201, description = "The new signing key.", body = latchkey_api::SigningKeyView)
    )
)]
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
