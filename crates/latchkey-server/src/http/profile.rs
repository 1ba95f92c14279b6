//! The caller's own account: edit the profile, change the address (confirmed from the new
//! mailbox), mail the confirmation again, delete the account, new recovery codes.

use super::cache::no_store;
use super::openapi::{errors, responses};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_api::{
    EmailChangeConfirmRequest, EmailChangeRequest, EmailChangeStarted, EmailChanged,
    ProfileUpdated, RecoveryCodesResponse, UpdateProfileRequest, VerificationSent,
};
use latchkey_core::auth::profile::ProfileChange;

use super::error::ApiResult;
use super::extract::{ApiJson, Caller, Client};
use super::views::profile_view;
use crate::state::AppState;

#[utoipa::path(
    patch,
    path = "/me",
    tag = "account",
    operation_id = "updateMe",
    summary = "Change the caller's name or phone number",
    description = "Absent fields stay; `null` or blank removes. A new phone number is unverified: a code is texted to it at once when the send limits allow (`phone_code_sent`), to be sent back at `POST /api/v1/phone/verify` (or ask again at `POST /api/v1/phone/verify/start`). Writes `profile.updated` with the changed `fields`. A user session only.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    request_body(content = latchkey_api::UpdateProfileRequest, content_type = "application/json"),
    responses(
        responses::UserRoute,
        responses::JsonBody,
        (status = 200, description = "The profile as it is now.", body = latchkey_api::ProfileUpdated),
        (status = 403, response = inline(errors::SessionRequired)),
        (status = 404, response = inline(errors::NotFound))
    )
)]
pub async fn update(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Client(client): Client,
    ApiJson(req): ApiJson<UpdateProfileRequest>,
) -> ApiResult<Json<ProfileUpdated>> {
    let change = ProfileChange {
        name: req.name,
        phone: req.phone,
    };
    let (profile, phone_code_sent) = app
        .auth
        .update_profile(&caller, change, &app.sms, &client)
        .await?;
    Ok(Json(ProfileUpdated {
        user: profile_view(profile),
        phone_code_sent,
    }))
}

#[utoipa::path(
    delete,
    path = "/me",
    tag = "account",
    operation_id = "deleteMe",
    summary = "Delete the caller's account",
    description = "Needs a recent re-authentication (`reauthentication_required` otherwise). Every session, API key and token of the account ends at once, on every instance; its sign-in methods, second factor and pending links go with it. Writes `account.deleted` and mails a notice. The last admin of an organization that has other members is refused (`409 conflict`): make another member admin first. The last member of an organization takes the organization with them (its referral code stops working).",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    responses(
        responses::UserRoute,
        (status = 204, description = "The account is deleted."),
        (status = 403, response = inline(errors::ReauthRequired)),
        (status = 404, response = inline(errors::NotFound)),
        (status = 409, response = inline(errors::Conflict))
    )
)]
pub async fn delete(State(app): State<AppState>, Caller(caller): Caller) -> ApiResult<StatusCode> {
    app.auth.delete_account(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/me/email",
    tag = "account",
    operation_id = "requestEmailChange",
    summary = "Ask to change the account's email address",
    description = "Mails a link to the new address (`<issuer>/confirm-email?token=lke_…`, once, for an hour; a later request replaces it) and a notice to the current one. The address changes only when the link is used (`POST /api/v1/me/email/confirm`). Needs a recent re-authentication. An address another account holds is `409 email_taken`; 5 requests per account and login window (`429`). Writes `email.change_requested`.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    request_body(content = latchkey_api::EmailChangeRequest, content_type = "application/json"),
    responses(
        responses::UserRoute,
        responses::JsonBody,
        (status = 202, description = "The link was mailed to the new address.", body = latchkey_api::EmailChangeStarted),
        (status = 403, response = inline(errors::ReauthRequired)),
        (status = 409, response = inline(errors::EmailTaken)),
        (status = 422, response = inline(errors::InvalidEmail)),
        (status = 429, response = inline(errors::RateLimited))
    )
)]
pub async fn request_email_change(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<EmailChangeRequest>,
) -> ApiResult<(StatusCode, Json<EmailChangeStarted>)> {
    let ttl = app.auth.request_email_change(&caller, &req.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(EmailChangeStarted {
            sent: true,
            expires_in: ttl.as_secs(),
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/me/email/confirm",
    tag = "account",
    operation_id = "confirmEmailChange",
    summary = "Confirm a new email address",
    description = "Takes the `token` of the link mailed to the new address. The account's address becomes the new one and is verified (the link proved the mailbox); verification and reset links mailed to the old address stop working, and the old address gets a notice. Needs no credential: the link is the proof. Writes `email.changed`.",
    request_body(content = latchkey_api::EmailChangeConfirmRequest, content_type = "application/json"),
    responses(
        responses::PublicRoute,
        responses::JsonBody,
        (status = 200, description = "The address changed.", body = latchkey_api::EmailChanged, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 401, description = "`invalid_token`: the link is unknown, expired or already used.", body = latchkey_api::ErrorBody, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 403, response = inline(errors::AccountDisabled)),
        (status = 409, response = inline(errors::EmailTaken))
    )
)]
pub async fn confirm_email_change(
    State(app): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<EmailChangeConfirmRequest>,
) -> ApiResult<Response> {
    let email = app.auth.confirm_email_change(&req.token, &client).await?;
    let mut response = Json(EmailChanged {
        email,
        email_verified: true,
    })
    .into_response();
    no_store(response.headers_mut());
    Ok(response)
}

#[utoipa::path(
    post,
    path = "/me/email/verification",
    tag = "account",
    operation_id = "resendVerification",
    summary = "Mail the address confirmation link again",
    description = "For an account whose address is not verified yet (`409 conflict` once it is). One mail a minute and 5 per login window per account (`429` with `Retry-After`). Writes `email.verification_sent`. A user session only.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    responses(
        responses::UserRoute,
        (status = 202, description = "The link was mailed.", body = latchkey_api::VerificationSent),
        (status = 403, response = inline(errors::SessionRequired)),
        (status = 409, response = inline(errors::Conflict)),
        (status = 429, response = inline(errors::RateLimited))
    )
)]
pub async fn resend_verification(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<(StatusCode, Json<VerificationSent>)> {
    let after = app.auth.resend_verification(&caller).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(VerificationSent {
            sent: true,
            retry_after: after.as_secs(),
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/mfa/recovery-codes",
    tag = "mfa",
    operation_id = "regenerateRecoveryCodes",
    summary = "Make new recovery codes",
    description = "10 new single-use codes, shown once; the earlier ones stop working at once. Needs TOTP on (`404` otherwise) and a recent re-authentication. Writes `mfa.recovery_codes_regenerated` and mails a notice.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    responses(
        responses::UserRoute,
        (status = 200, description = "The new codes.", body = latchkey_api::RecoveryCodesResponse, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 403, response = inline(errors::ReauthRequired)),
        (status = 404, response = inline(errors::NotFound))
    )
)]
pub async fn regenerate_recovery_codes(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Response> {
    let recovery_codes = app.auth.regenerate_recovery_codes(&caller).await?;
    let mut response = Json(RecoveryCodesResponse {
        enabled: true,
        recovery_codes,
    })
    .into_response();
    no_store(response.headers_mut());
    Ok(response)
}
