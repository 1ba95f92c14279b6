//! Re-authentication for sensitive changes, and the provider identities linked to the
//! account (listed, and removed after a re-authentication).

use super::openapi::{errors, responses};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use latchkey_api::{IdentityList, IdentityView, ReauthenticateRequest, ReauthenticatedResponse};
use latchkey_core::auth::reauth::Proof;
use latchkey_core::clock::rfc3339_ms;
use latchkey_core::secret::Secret;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, Caller};
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/auth/reauthenticate",
    tag = "auth",
    operation_id = "reauthenticate",
    summary = "Prove a credential again for sensitive changes",
    description = "Exactly one proof: `password`; `mfa_code` (a current TOTP code or an unused recovery code); or `login_id` with `session_code`, a code mailed by `POST /api/v1/auth/code` to the account's own address. For `LATCHKEY_REAUTH_WINDOW` (5 minutes) this session may then make sensitive changes: link or remove a provider (`POST /api/v1/oauth/{provider}/link`, `DELETE /api/v1/identities/{id}`), turn on TOTP, create, rescope or rotate an API key that can do more than read. Wrong passwords and codes are counted per account like logins. A user session only.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    request_body(content = latchkey_api::ReauthenticateRequest, content_type = "application/json"),
    responses(
        responses::UserRoute,
        responses::JsonBody,
        (status = 200, description = "Re-authenticated.", body = latchkey_api::ReauthenticatedResponse),
        (status = 401, description = "`invalid_credentials`, `invalid_mfa_code` or `invalid_session_code`: the proof is wrong; or no valid token (`missing_token`, `invalid_token`).", body = latchkey_api::ErrorBody, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 403, response = inline(errors::SessionRequired)),
        (status = 429, response = inline(errors::RateLimited))
    )
)]
pub async fn reauthenticate(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<ReauthenticateRequest>,
) -> ApiResult<Json<ReauthenticatedResponse>> {
    let proof = match (req.password, req.mfa_code, req.login_id, req.session_code) {
        (Some(p), None, None, None) => Proof::Password(Secret::new(p)),
        (None, Some(code), None, None) => Proof::SecondFactor(code),
        (None, None, Some(login_id), Some(code)) => Proof::MailedCode { login_id, code },
        _ => {
            return Err(ApiError::invalid_request(
                "send exactly one proof: password, mfa_code, or login_id with session_code",
            ));
        }
    };
    let until = app.auth.reauthenticate(&caller, proof).await?;
    let now = app.auth.clock().now_ms();
    Ok(Json(ReauthenticatedResponse {
        reauthenticated_until: rfc3339_ms(until),
        expires_in: ((until - now).max(0) / 1000) as u64,
    }))
}

#[utoipa::path(
    get,
    path = "/identities",
    tag = "account",
    operation_id = "listIdentities",
    summary = "The provider sign-ins linked to the account",
    description = "Every Google, Microsoft or OpenID identity that signs in to this account. A user session only.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    responses(
        responses::UserRoute,
        (status = 200, description = "The linked identities, oldest first.", body = latchkey_api::IdentityList),
        (status = 403, response = inline(errors::SessionRequired))
    )
)]
pub async fn list(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<IdentityList>> {
    let identities = app.auth.identities(&caller).await?;
    Ok(Json(IdentityList {
        identities: identities
            .into_iter()
            .map(|i| IdentityView {
                id: i.id,
                provider: i.provider,
                email: i.email,
                linked_at: rfc3339_ms(i.linked_at),
            })
            .collect(),
    }))
}

#[utoipa::path(
    delete,
    path = "/identities/{id}",
    tag = "account",
    operation_id = "deleteIdentity",
    summary = "Remove a provider sign-in from the account",
    description = "Needs a recent re-authentication (`reauthentication_required` otherwise). The last way to sign in (no password and no other identity) cannot be removed (`409 conflict`). A notice is mailed to the account.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("id" = String, Path, description = "The `id` of a linked identity.")
    ),
    responses(
        responses::UserRoute,
        (status = 204, description = "Removed."),
        (status = 403, response = inline(errors::ReauthRequired)),
        (status = 404, response = inline(errors::NotFound)),
        (status = 409, response = inline(errors::Conflict))
    )
)]
pub async fn delete(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    app.auth.unlink_identity(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
