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
use super::refresh_cookie;
use super::views::{key_created, user_view};
use crate::app::AppState;

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
        .inspect_err(|e| {
            super::metrics::outcome("latchkey_logins_total", Err(e.code));
            // Never the address itself: a keyed reference that groups one account's failures.
            tracing::warn!(
                client_ip = %client.ip.as_deref().unwrap_or("-"),
                account = %crate::telemetry::account_ref(&app.log_key, &req.email),
                reason = %e.code.as_str(),
                "login failed"
            );
        })?;
    super::mfa::login_answer(&app, outcome, None, &headers)
}

/// The refresh token comes in the body or as `Authorization: Bearer` (for clients that send
/// every credential in that header); a JWT in `Authorization` asks for the lenient refresh.
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
        (Some(token), _) => app.auth.refresh_from(&token, &client).await,
        (None, Some(token)) => app.auth.refresh_bearer(&token).await,
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

pub async fn logout_all(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<axum::Json<LogoutAllResponse>> {
    let sessions_revoked = app.auth.logout_all(&caller).await?;
    Ok(axum::Json(LogoutAllResponse { sessions_revoked }))
}

/// With `cookie`, the refresh token goes in the cookie and not in the body.
pub(super) fn token_response(
    app: &AppState,
    status: StatusCode,
    grant: Grant,
    cookie: bool,
) -> Response {
    let now = app.auth.clock().now_secs();
    let in_cookie = if cookie {
        grant.refresh_token.as_ref().map(|t| t.expose().to_owned())
    } else {
        None
    };
    let body = TokenResponse {
        access_token: grant.access_token.expose().to_owned(),
        token_type: "Bearer".into(),
        expires_in: (grant.access_expires_at - now).max(0),
        expires_at: rfc3339_ms(grant.access_expires_at * 1000),
        refresh_token: grant
            .refresh_token
            .filter(|_| !cookie)
            .map(|t| t.expose().to_owned()),
        refresh_expires_at: grant.refresh_expires_at.map(rfc3339_ms),
        session_id: grant.session_id,
        user: user_view(&grant.user),
        api_key: grant.api_key.map(key_created),
    };
    let mut response = (status, axum::Json(body)).into_response();
    if let (Some(token), Some(expires_ms)) = (in_cookie, grant.refresh_expires_at) {
        refresh_cookie::set(&mut response, Some(&token), expires_ms / 1000 - now);
    }
    // Tokens must not be kept by any cache between here and the client.
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
