//! Form fields and query parameters as pages read them (the first of each name), and the
//! extractor every POST goes through: it refuses a form another site sent (see `csrf`).

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::csrf;
use super::session::Resolved;
use crate::state::AppState;

/// Name → value, the first of each name kept (a repeated field cannot smuggle a second value).
#[derive(Debug, Default, Clone)]
pub struct Fields(HashMap<String, String>);

impl Fields {
    pub fn parse(bytes: &[u8]) -> Fields {
        let mut map = HashMap::new();
        for (k, v) in form_urlencoded::parse(bytes) {
            map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        Fields(map)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value trimmed; empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").trim().to_owned()
    }
}

/// The query string's parameters.
pub struct Query(pub Fields);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Query(Fields::parse(
            parts.uri.query().unwrap_or("").as_bytes(),
        )))
    }
}

/// A POSTed form that passed both CSRF checks for the request's web session (or, signed out,
/// for the public forms). A refused one is answered with the page saying so.
pub struct Form(pub Fields);

impl FromRequest<AppState> for Form {
    type Rejection = Response;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let user = match parts.extensions.get::<Resolved>() {
            Some(Resolved::SignedIn(u)) => Some(u.clone()),
            _ => None,
        };
        let bytes = axum::body::to_bytes(body, crate::http::BODY_LIMIT)
            .await
            .map_err(|_| axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
        let fields = Fields::parse(&bytes);
        let binding = user.as_ref().map_or(csrf::PUBLIC, |u| u.sid.as_str());
        csrf::check(app, &parts.headers, fields.get(csrf::FIELD), binding)
            .map_err(|why| super::page::refused(app, why, user.as_deref()))?;
        Ok(Form(fields))
    }
}
