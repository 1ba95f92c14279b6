//! `/api/v1/auth/*`: sign-up, login, refresh, logout.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_api::{LoginRequest, LogoutAllResponse, RefreshRequest, SignupRequest, TokenResponse};
use latchkey_core::Grant;
use latchkey_core::auth::account::Signup;
use latchkey_core::clock::rfc3339_ms;
use latchkey_core::secret::Secret;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, Caller, Client, MaybeJson, bearer};
use super::views::{key_created, user_view};
use crate::app::AppState;

pub async fn signup(
    State(app): State<AppState>,
    Client(client): Client,
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
    Ok(token_response(&app, StatusCode::CREATED, grant))
}

pub async fn login(
    State(app): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let outcome = app
        .auth
        .login(&req.email, &Secret::new(req.password), &client)
        .await
        .map_err(ApiError::from)
        .inspect_err(|e| {
            // Never the address itself: a keyed reference that groups one account's failures.
            tracing::warn!(
                client_ip = %client.ip.as_deref().unwrap_or("-"),
                account = %crate::telemetry::account_ref(&app.log_key, &req.email),
                reason = %e.code.as_str(),
                "login failed"
            );
        })?;
    super::mfa::login_answer(&app, outcome, None)
}

/// The refresh token comes in the body or as `Authorization: Bearer` (for clients that send
/// every credential in that header); a JWT in `Authorization` asks for the lenient refresh.
pub async fn refresh(
    State(app): State<AppState>,
    headers: HeaderMap,
    MaybeJson(body): MaybeJson<RefreshRequest>,
) -> ApiResult<Response> {
    let header_token = bearer(&headers)?.map(str::to_owned);
    let body_token = body.and_then(|b| b.refresh_token);
    let grant = match (body_token, header_token) {
        (Some(token), _) => app.auth.refresh(&token).await?,
        (None, Some(token)) => app.auth.refresh_bearer(&token).await?,
        (None, None) => {
            return Err(ApiError::invalid_request(
                "send refresh_token in the body or a token in Authorization: Bearer",
            ));
        }
    };
    Ok(token_response(&app, StatusCode::OK, grant))
}

pub async fn logout(State(app): State<AppState>, Caller(caller): Caller) -> ApiResult<StatusCode> {
    app.auth.logout(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn logout_all(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<axum::Json<LogoutAllResponse>> {
    let sessions_revoked = app.auth.logout_all(&caller).await?;
    Ok(axum::Json(LogoutAllResponse { sessions_revoked }))
}

pub(super) fn token_response(app: &AppState, status: StatusCode, grant: Grant) -> Response {
    let now = app.auth.clock().now_secs();
    let body = TokenResponse {
        access_token: grant.access_token.expose().to_owned(),
        token_type: "Bearer".into(),
        expires_in: (grant.access_expires_at - now).max(0),
        expires_at: rfc3339_ms(grant.access_expires_at * 1000),
        refresh_token: grant.refresh_token.map(|t| t.expose().to_owned()),
        refresh_expires_at: grant.refresh_expires_at.map(rfc3339_ms),
        session_id: grant.session_id,
        user: user_view(&grant.user),
        api_key: grant.api_key.map(key_created),
    };
    let mut response = (status, axum::Json(body)).into_response();
    // Tokens must not be kept by any cache between here and the client.
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
