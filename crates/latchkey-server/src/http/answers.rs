//! How the login routes answer: tokens (`token_response`), the outcome of a login step
//! (`login_answer`), and a refused login counted and logged (`refused_login`, `failed_login`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_api::{MfaRequiredResponse, TokenResponse};
use latchkey_core::clock::rfc3339_ms;
use latchkey_core::{ClientInfo, Grant, LoginOutcome};

use super::cache::{no_store, tokens_uncached};
use super::error::{ApiError, ApiResult};
use super::views::{key_created, user_view};
use super::{device_cookie, refresh_cookie};
use crate::state::AppState;

/// How every login route answers its outcome. `created` is the status of a grant that came
/// with a new account.
pub(super) fn login_answer(
    app: &AppState,
    outcome: LoginOutcome,
    login_id: Option<String>,
    headers: &axum::http::HeaderMap,
) -> ApiResult<Response> {
    match outcome {
        LoginOutcome::Signed(grant) => {
            super::metrics::outcome("latchkey_logins_total", Ok(()));
            // A first sign-in creates the account: 201, with its API key shown once.
            let status = if grant.api_key.is_some() {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let cookie = super::refresh_cookie::wanted(app, headers);
            Ok(token_response(app, status, grant, cookie))
        }
        LoginOutcome::MfaRequired { mfa_token } => {
            let body = MfaRequiredResponse {
                status: "mfa_required".into(),
                login_id: mfa_token.is_none().then_some(login_id).flatten(),
                mfa_token: mfa_token.map(|t| t.expose().to_owned()),
                data: serde_json::json!({"methods": ["totp", "recovery_code"]}),
            };
            let mut response = (StatusCode::OK, axum::Json(body)).into_response();
            no_store(response.headers_mut());
            Ok(response)
        }
        // An outcome this edge cannot answer yet must not turn into tokens: fail closed.
        _ => Err(ApiError::from(latchkey_core::AuthError::Unexpected(
            anyhow::anyhow!("a login outcome this server cannot answer"),
        ))),
    }
}

/// A login step refused: counted by its code, like a refused password (`auth::login`).
pub(super) fn failed_login(e: latchkey_core::AuthError) -> ApiError {
    let e = ApiError::from(e);
    super::metrics::outcome("latchkey_logins_total", Err(e.code));
    e
}

/// A refused password login, counted by its code and logged. Never the address itself: a keyed
/// reference that groups one account's failures.
pub(crate) fn refused_login(app: &AppState, client: &ClientInfo, email: &str, e: &ApiError) {
    super::metrics::outcome("latchkey_logins_total", Err(e.code));
    tracing::warn!(
        client_ip = %client.ip.as_deref().unwrap_or("-"),
        account = %latchkey_core::audit::account_ref(&app.log_key, email),
        reason = %e.code.as_str(),
        "login failed"
    );
}

/// With `cookie`, the refresh token goes in the cookie and not in the body.
pub(super) fn token_response(
    app: &AppState,
    status: StatusCode,
    grant: Grant,
    cookie: bool,
) -> Response {
    let now = app.auth.clock().now_secs();
    let device_token = grant.device_token;
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
        // In cookie mode the browser keeps it in its own `HttpOnly` cookie instead.
        device_token: device_token
            .as_ref()
            .filter(|_| !cookie)
            .map(|t| t.expose().to_owned()),
    };
    let mut response = (status, axum::Json(body)).into_response();
    if let (Some(token), Some(expires_ms)) = (in_cookie, grant.refresh_expires_at) {
        refresh_cookie::set(&mut response, Some(&token), expires_ms / 1000 - now);
    }
    if let Some(token) = device_token.filter(|_| cookie) {
        let ttl = latchkey_core::auth::lockout::DEVICE_TOKEN_TTL.as_secs();
        device_cookie::set(&mut response, token.expose(), ttl);
    }
    // Tokens must not be kept by any cache between here and the client.
    tokens_uncached(response)
}
