//! `/api/v1/authorize`: forward-auth for nginx `auth_request`, Traefik ForwardAuth and Envoy
//! ext_authz. The proxy sends the client's headers plus the original method and URI; the
//! answer is 200 with the caller's identity in headers, or 401/403 in the error shape.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_api::ErrorCode;

use super::error::{ApiError, ApiResult};
use super::extract::credential;
use crate::app::AppState;

fn header<'a>(h: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| h.get(*n))
        .and_then(|v| v.to_str().ok())
}

pub async fn authorize(State(app): State<AppState>, parts: Parts) -> ApiResult<Response> {
    let (token, api_key) = credential(&parts)?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::MissingToken,
            "an access or auth token is required",
        )
    })?;
    let principal = app.auth.authenticate(token, api_key).await?;
    // Envoy's ext_authz sends the original request itself (method and path as they were).
    let method = header(&parts.headers, &["x-forwarded-method", "x-original-method"])
        .unwrap_or(parts.method.as_str());
    let uri = header(&parts.headers, &["x-forwarded-uri", "x-original-uri"])
        .map(str::to_owned)
        .unwrap_or_else(|| parts.uri.path().to_owned());
    let policy = app.policy.current();
    let rule = policy.decide(method, &uri).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "no policy rule allows {method} {}",
                uri.split('?').next().unwrap_or("")
            ),
        )
    })?;
    principal
        .require_scopes(rule.scopes.iter().map(String::as_str))
        .map_err(ApiError::from)?;
    let mut r = StatusCode::OK.into_response();
    let h = r.headers_mut();
    for (name, value) in [
        ("x-latchkey-user", principal.user_id.as_str()),
        ("x-latchkey-org", principal.org_id.as_str()),
        ("x-latchkey-role", principal.role.as_str()),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&principal.scopes.join(" ")) {
        h.insert("x-latchkey-scopes", v);
    }
    if let Some(Ok(v)) = principal.key_id().map(HeaderValue::from_str) {
        h.insert("x-latchkey-key", v);
    }
    Ok(r)
}
