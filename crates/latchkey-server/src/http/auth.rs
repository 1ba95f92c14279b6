//! `/api/v1/auth/*`: sign-up, login, refresh, logout.

use super::openapi::{errors, responses};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_api::{LoginRequest, LogoutAllResponse, RefreshRequest, SignupRequest};
use latchkey_core::auth::account::Signup;
use latchkey_core::secret::Secret;

use super::answers::{login_answer, refused_login, token_response};
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, Caller, Client, MaybeJson, bearer};
use super::refresh_cookie;
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/auth/signup",
    tag = "auth",
    operation_id = "signup",
    summary = "Create an account and open its first session",
    description = "Without a referral code the user founds a new organization and is its admin; with one they join that organization as a member. The answer also carries the user's default API key (`api_key`), shown this once. Sign-ups are rate-limited per client IP. `LATCHKEY_SIGNUP` decides who may: `open` (default), `invite` (a `referral_code` is required) or `closed`; a refused sign-up is `403 forbidden`.",
    params(
        ("X-Refresh-Token-Mode" = Option<String>, Header, description = "`cookie` asks for the refresh token in an `HttpOnly; Secure; SameSite=Strict` cookie `latchkey_refresh` (path `/api/v1/auth`) instead of the response body, when the server offers it (`LATCHKEY_REFRESH_COOKIE`). On refresh the cookie is read only with this header, which a cross-origin page cannot send without passing CORS; on logout the cookie is cleared.")
    ),
    request_body(content = latchkey_api::SignupRequest, content_type = "application/json"),
    responses(
        responses::PublicRoute,
        responses::JsonBody,
        (status = 201, description = "The account exists and its first session is open.", body = latchkey_api::TokenResponse, headers(("Cache-Control" = String, description = "`no-store`."), ("Pragma" = String, description = "`no-cache`."))),
        (status = 409, response = inline(errors::EmailTaken)),
        (status = 422, response = inline(errors::SignupRejected)),
        (status = 429, response = inline(errors::RateLimited)),
        (status = 403, description = "`forbidden` (sign-up is closed, or invite-only without a referral code), or `email_not_verified` when verified addresses are required (the account exists and the verification mail is sent; log in once it is verified).", body = latchkey_api::ErrorBody, headers(("Cache-Control" = String, description = "`no-store`.")))
    )
)]
pub async fn signup(
    State(app): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SignupRequest>,
) -> ApiResult<Response> {
    let grant = app
        .auth
        .signup(
            Signup {
                email: req.email,
                password: Secret::new(req.password),
                name: req.name,
                phone: req.phone,
                referral_code: req.referral_code,
            },
            &client,
        )
        .await?;
    let cookie = refresh_cookie::wanted(&app, &headers);
    Ok(token_response(&app, StatusCode::CREATED, grant, cookie))
}

#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    operation_id = "login",
    summary = "Log in with email and password",
    description = "Attempts are counted *before* the password is checked, so a burst of parallel guesses cannot all be evaluated. Every step is counted before it is evaluated, per client IP (100 per 15 minutes; IPv6 by /64) and per account: 10 from one address (or one known device, see `X-Device-Token`) and 50 from all addresses without a device token together. Passwords, second factors and mailed codes share these budgets; once over a limit even the right answer is `429` with `Retry-After` until the window passes. Only a completed sign-in (every factor) gives its steps back; a right password or code whose account asks for a second factor gives nothing back. An unknown email and a wrong password get the same answer. A new session's answer carries a `device_token` for the next sign-in.",
    params(
        ("X-Device-Token" = Option<String>, Header, description = "The `device_token` of an earlier sign-in of this client (`lkd_…`; browsers in cookie mode send the `latchkey_device` cookie instead): this device's wrong guesses count in a budget of its own (`LATCHKEY_LOGIN_LIMIT_PER_ACCOUNT_IP`), so failures from elsewhere do not lock it out. An unknown, expired or other account's token counts as none."),
        ("X-Refresh-Token-Mode" = Option<String>, Header, description = "`cookie` asks for the refresh token in an `HttpOnly; Secure; SameSite=Strict` cookie `latchkey_refresh` (path `/api/v1/auth`) instead of the response body, when the server offers it (`LATCHKEY_REFRESH_COOKIE`). On refresh the cookie is read only with this header, which a cross-origin page cannot send without passing CORS; on logout the cookie is cleared.")
    ),
    request_body(content = latchkey_api::LoginRequest, content_type = "application/json"),
    responses(
        responses::PublicRoute,
        responses::JsonBody,
        (status = 200, description = "A new session is open, or (`status: mfa_required`) the account asks for a second factor: continue at `POST /api/v1/auth/mfa/verify` with `mfa_token`.", body = ref("#/components/schemas/LoginResponse200"), headers(("Cache-Control" = String, description = "`no-store`."), ("Pragma" = String, description = "`no-cache`."))),
        (status = 401, response = inline(errors::InvalidCredentials)),
        (status = 403, description = "`account_disabled`, or `email_not_verified` when verified addresses are required.", body = latchkey_api::ErrorBody, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 429, response = inline(errors::RateLimited))
    )
)]
pub async fn login(
    State(app): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let outcome = app
        .auth
        .login(&req.email, &Secret::new(req.password), &client)
        .await
        .map_err(ApiError::from)
        .inspect_err(|e| refused_login(&app, &client, &req.email, e))?;
    login_answer(&app, outcome, None, &headers)
}

/// The refresh token comes in the body or as `Authorization: Bearer` (for clients that send
/// every credential in that header); a JWT in `Authorization` asks for the lenient refresh.
#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "auth",
    operation_id = "refresh",
    summary = "Rotate a refresh token, or exchange a recently expired access token",
    description = r#"Exchanges a refresh token for a new pair, or (lenient refresh) a recently expired access token for a new access token.

**Where the token goes.** Send `{"refresh_token": "lkr_…"}` in the body, or the refresh token as `Authorization: Bearer lkr_…` with an empty body. When both are present the body wins. An access token (a JWT) in `Authorization` with no `refresh_token` in the body asks for a lenient refresh (below).

**Rotation.** Every successful use rotates the chain: R1 answers with a new access token and R2, and R1 is marked used in the same atomic step. Keep only the newest refresh token.

**Grace for the immediate parent.** If R1 comes back within 10 seconds of its use (`refresh_reuse_grace`, configurable, at most 5 minutes) *and* R2 has not been used yet, the answer is exactly the same pair as the first time (the same access token and the same R2), never a new branch: parallel tabs and responses lost on a mobile network are safe. The grace covers the immediate parent only.

**Reuse revokes the session.** R1 after the grace, R1 after R2 was used, or any older ancestor is treated as theft: the whole session is revoked (R2 and every access token of the session are refused at once) and the answer is `401 invalid_token` with the message "the refresh token was already used; the session has been revoked". The user must log in again.

**Lenient refresh.** A client holding only an access token that expired less than 10 minutes ago (`lenient_refresh_window`, configurable; zero disables it) may send it as `Authorization: Bearer <jwt>` with no body. The token's signature, issuer and audience must verify and its session must be live; each token (`jti`) can be exchanged once only, a second attempt is `401 invalid_token`. The token must have expired: a still-valid access token is refused (`401 invalid_token`, renew it with the refresh token). A token that itself came from a lenient refresh cannot be exchanged again (`401 invalid_token`): when it expires, use the refresh token. The answer carries a new access token for the same session and **no** `refresh_token`/`refresh_expires_at`: the client keeps its refresh token.

The access token of the previous pair is left alone: requests in flight with it still succeed until it expires (unless the session is revoked).

**Cookie mode.** With `X-Refresh-Token-Mode: cookie` on a server with `LATCHKEY_REFRESH_COOKIE` on, the refresh token is read from the `latchkey_refresh` cookie when the body has none, and the new one is set in the cookie, not the body."#,
    security((), ("bearerAuth" = [])),
    params(
        ("X-Refresh-Token-Mode" = Option<String>, Header, description = "`cookie` asks for the refresh token in an `HttpOnly; Secure; SameSite=Strict` cookie `latchkey_refresh` (path `/api/v1/auth`) instead of the response body, when the server offers it (`LATCHKEY_REFRESH_COOKIE`). On refresh the cookie is read only with this header, which a cross-origin page cannot send without passing CORS; on logout the cookie is cleared.")
    ),
    request_body(content = Option<latchkey_api::RefreshRequest>, content_type = "application/json", description = "Optional when the token is sent as `Authorization: Bearer`."),
    responses(
        responses::PublicRoute,
        responses::JsonBody,
        (status = 200, description = "The next pair (rotation), the same pair again (replay inside the grace), or a new access token only (lenient refresh: no `refresh_token`).", body = latchkey_api::TokenResponse, headers(("Cache-Control" = String, description = "`no-store`."), ("Pragma" = String, description = "`no-cache`."))),
        (status = 401, response = inline(errors::InvalidRefresh)),
        (status = 403, response = inline(errors::AccountDisabled))
    )
)]
pub async fn refresh(
    State(app): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    MaybeJson(body): MaybeJson<RefreshRequest>,
) -> ApiResult<Response> {
    let header_token = bearer(&headers)?.map(str::to_owned);
    let body_token = body.and_then(|b| b.refresh_token);
    let cookie = refresh_cookie::wanted(&app, &headers);
    let cookie_token = cookie.then(|| refresh_cookie::read(&headers)).flatten();
    let from_cookie = body_token.is_none() && cookie_token.is_some();
    let grant = match (body_token.or(cookie_token), header_token) {
        (Some(token), _) => app.auth.refresh(&token, &client).await,
        (None, Some(token)) => app.auth.refresh_bearer(&token, &client).await,
        (None, None) => {
            return Err(ApiError::invalid_request(
                "send refresh_token in the body or a token in Authorization: Bearer",
            ));
        }
    }
    .map_err(ApiError::from);
    super::metrics::outcome(
        "latchkey_refreshes_total",
        grant.as_ref().map(|_| ()).map_err(|e| e.code),
    );
    match grant {
        Ok(grant) => Ok(token_response(&app, StatusCode::OK, grant, cookie)),
        // A refused cookie is removed, so the browser stops sending a dead token; a server in
        // trouble (503) keeps it, and the session with it.
        Err(e) if from_cookie => {
            let mut response = e.into_response();
            if response.status() == StatusCode::UNAUTHORIZED {
                refresh_cookie::set(&mut response, None, 0);
            }
            Ok(response)
        }
        Err(e) => Err(e),
    }
}

#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    operation_id = "logout",
    summary = "End the current session",
    description = "Revokes the session of the access token: its refresh tokens fail and its access tokens are refused at once.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("X-Refresh-Token-Mode" = Option<String>, Header, description = "`cookie` asks for the refresh token in an `HttpOnly; Secure; SameSite=Strict` cookie `latchkey_refresh` (path `/api/v1/auth`) instead of the response body, when the server offers it (`LATCHKEY_REFRESH_COOKIE`). On refresh the cookie is read only with this header, which a cross-origin page cannot send without passing CORS; on logout the cookie is cleared.")
    ),
    responses(
        responses::UserRoute,
        (status = 204, description = "The session has ended."),
        (status = 403, response = inline(errors::SessionRequired))
    )
)]
pub async fn logout(
    State(app): State<AppState>,
    headers: HeaderMap,
    Caller(caller): Caller,
) -> ApiResult<Response> {
    app.auth.logout(&caller).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if refresh_cookie::wanted(&app, &headers) {
        refresh_cookie::set(&mut response, None, 0);
    }
    Ok(response)
}

#[utoipa::path(
    post,
    path = "/auth/logout-all",
    tag = "auth",
    operation_id = "logoutAll",
    summary = "End every session of the caller",
    description = "Revokes all live sessions of the user, the current one included.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    responses(
        responses::UserRoute,
        (status = 200, description = "How many sessions were revoked.", body = latchkey_api::LogoutAllResponse),
        (status = 403, response = inline(errors::SessionRequired))
    )
)]
pub async fn logout_all(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<axum::Json<LogoutAllResponse>> {
    let sessions_revoked = app.auth.logout_all(&caller).await?;
    Ok(axum::Json(LogoutAllResponse { sessions_revoked }))
}
