//! The axum side: `Authorized` for handlers, and `GuardError` as a response in Latchkey's error
//! shape (`{"status":"failed","code","error","message","data":{}}`).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::{Guard, GuardError, Identity};

/// The verified caller of a route: `Authorization: Bearer <access token>`.
pub struct Authorized(pub Identity);

impl<S: Send + Sync> FromRequestParts<S> for Authorized
where
    Guard: FromRef<S>,
{
    type Rejection = GuardError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, GuardError> {
        let token = bearer(&parts.headers).ok_or(GuardError::MissingToken)?;
        Guard::from_ref(state).verify(token).await.map(Authorized)
    }
}

pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl GuardError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            GuardError::MissingToken => (StatusCode::UNAUTHORIZED, "missing_token"),
            GuardError::Expired | GuardError::InvalidToken(_) | GuardError::Revoked => {
                (StatusCode::UNAUTHORIZED, "invalid_token")
            }
            GuardError::InsufficientScope(_) => (StatusCode::FORBIDDEN, "insufficient_scope"),
            GuardError::KeysUnavailable | GuardError::CheckUnavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable")
            }
        }
    }
}

impl IntoResponse for GuardError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = self.to_string();
        let body = json!({
            "status": "failed", "code": status.as_u16(), "error": code,
            "message": message, "data": {},
        });
        let mut response = (status, axum::Json(body)).into_response();
        let challenge = match &self {
            GuardError::MissingToken => Some(r#"Bearer realm="api""#.to_owned()),
            GuardError::KeysUnavailable | GuardError::CheckUnavailable => None,
            _ => Some(format!(r#"Bearer realm="api", error="{code}""#)),
        };
        if let Some(v) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        if matches!(
            self,
            GuardError::KeysUnavailable | GuardError::CheckUnavailable
        ) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
