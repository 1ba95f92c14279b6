//! `/api/v1/auth/password/*`: change, and reset a forgotten password by mail.

use super::openapi::{errors, responses};
use axum::extract::State;
use axum::http::StatusCode;
use latchkey_api::{
    EmailVerifyRequest, PasswordChangeRequest, PasswordForgotRequest, PasswordResetRequest,
};
use latchkey_core::secret::Secret;

use super::error::ApiResult;
use super::extract::{ApiJson, Caller, Client};
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/auth/password/change",
    tag = "auth",
    operation_id = "changePassword",
    summary = "Change the password",
    description = "For a signed-in user (a user session only). The current password is checked (tries counted like logins per account), the new one against the password policy. The user's other sessions end; this one stays. Earlier reset links stop working; unless `remove_recent_changes` is `false`, provider links, API keys and the second factor set up within `LATCHKEY_RESET_CLEANUP_WINDOW` (24 hours) are removed. A notice is mailed. The current password is the re-authentication.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    request_body(content = latchkey_api::PasswordChangeRequest, content_type = "application/json"),
    responses(
        responses::UserRoute,
        responses::JsonBody,
        (status = 204, description = "Changed.", headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 401, description = "`invalid_credentials` (wrong current password), or no valid token.", body = latchkey_api::ErrorBody, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 403, response = inline(errors::SessionRequired)),
        (status = 422, response = inline(errors::SignupRejected)),
        (status = 429, response = inline(errors::RateLimited))
    )
)]
pub async fn change(
    State(app): State<AppState>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<PasswordChangeRequest>,
) -> ApiResult<StatusCode> {
    app.auth
        .change_password(
            &caller,
            &Secret::new(req.current_password),
            &Secret::new(req.new_password),
            req.remove_recent_changes.unwrap_or(true),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/auth/password/forgot",
    tag = "auth",
    operation_id = "forgotPassword",
    summary = "Mail a password-reset link",
    description = "Always `202` for a valid address (no account enumeration); an existing, enabled account gets a mail with a link to the reset page (`LATCHKEY_PASSWORD_RESET_URL`, `?token=lkp_…`) that works once, for 30 minutes, at its stored address; the answer comes before the account is looked up and the mail sent (the same time for every address). Limited per client IP and per address like sign-in codes.",
    request_body(content = latchkey_api::PasswordForgotRequest, content_type = "application/json"),
    responses(
        responses::PublicRoute,
        responses::JsonBody,
        (status = 202, description = "Accepted (the same for every valid address).", headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 422, response = inline(errors::InvalidEmail)),
        (status = 429, response = inline(errors::RateLimited))
    )
)]
pub async fn forgot(
    State(app): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<PasswordForgotRequest>,
) -> ApiResult<StatusCode> {
    app.auth.forgot_password(&req.email, &client).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(
    post,
    path = "/auth/email/verify",
    tag = "auth",
    operation_id = "verifyEmail",
    summary = "Confirm the email address",
    description = "Takes the `token` of the link mailed at sign-up (once, for 24 hours; the link opens `LATCHKEY_VERIFY_EMAIL_URL?token=lkv_…`). A sign-in code proves the address too. With `LATCHKEY_REQUIRE_VERIFIED_EMAIL`, logins of unverified accounts are refused with `403 email_not_verified`.\n\nThe link proves the mailbox, not who created the account (anyone can sign up with any address). Sent with the account's `password`, the person who signed up confirms their own address and keeps everything (a wrong password is `401 invalid_credentials`, counted like a login, and leaves the token usable). Sent alone, on an account whose address was never verified, it **takes the account over** for the mailbox's owner: its password, sessions, refresh tokens, API keys, linked sign-ins and second factor are removed, and the address is verified; sign in afterwards with a mailed code or set a password through `/auth/password/forgot`.",
    request_body(content = latchkey_api::EmailVerifyRequest, content_type = "application/json"),
    responses(
        responses::PublicRoute,
        responses::JsonBody,
        (status = 204, description = "The address is verified.", headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 401, description = "`invalid_token`: the verification token is unknown, expired or already used; `invalid_credentials`: the password sent with it is wrong.", body = latchkey_api::ErrorBody, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 429, response = inline(errors::RateLimited))
    )
)]
pub async fn verify_email(
    State(app): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<EmailVerifyRequest>,
) -> ApiResult<StatusCode> {
    let password = req.password.map(Secret::new);
    app.auth
        .verify_email(&req.token, password.as_ref(), &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/auth/password/reset",
    tag = "auth",
    operation_id = "resetPassword",
    summary = "Set a new password with a mailed token",
    description = "Checks the new password against the policy first (a refused one leaves the token usable), then spends the token, sets the password, ends every session of the user (their refresh tokens stop working), every other reset link and every API key, and mails a notice. Unless `remove_recent_changes` is `false`, provider links and the second factor set up within `LATCHKEY_RESET_CLEANUP_WINDOW` (24 hours) are removed too.",
    request_body(content = latchkey_api::PasswordResetRequest, content_type = "application/json"),
    responses(
        responses::PublicRoute,
        responses::JsonBody,
        (status = 204, description = "The password is set; every session ended.", headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 401, description = "`invalid_token`: the reset token is unknown, expired or already used.", body = latchkey_api::ErrorBody, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 422, response = inline(errors::SignupRejected))
    )
)]
pub async fn reset(
    State(app): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<PasswordResetRequest>,
) -> ApiResult<StatusCode> {
    app.auth
        .reset_password(
            &req.token,
            &Secret::new(req.new_password),
            req.remove_recent_changes.unwrap_or(true),
            &client,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
