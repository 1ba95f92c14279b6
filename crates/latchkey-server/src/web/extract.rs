//! The extractors of the pages: who is signed in, read from what the session middleware
//! resolved for this request. Above both `session` (which resolves) and `page` (which answers a
//! refusal), so neither needs the other.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;

use super::page;
use super::session::{Resolved, WebUser, resolved};
use crate::state::AppState;

/// A page for signed-in people: anyone else is sent to sign in, and back here afterwards.
pub struct SignedIn(pub Box<WebUser>);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        match resolved(parts) {
            Resolved::SignedIn(user) => Ok(SignedIn(user)),
            Resolved::Unavailable => Err(page::unavailable(app)),
            Resolved::SignedOut => {
                let next = page::here(&parts.uri);
                let to = format!(
                    "/login?next={}",
                    percent_encoding::utf8_percent_encode(
                        &next,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                );
                Err(page::see_other(&to))
            }
        }
    }
}

/// A page for everyone, which shows more to a signed-in person.
pub struct MaybeSignedIn(pub Option<Box<WebUser>>);

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        match resolved(parts) {
            Resolved::SignedIn(user) => Ok(MaybeSignedIn(Some(user))),
            Resolved::SignedOut => Ok(MaybeSignedIn(None)),
            Resolved::Unavailable => Err(page::unavailable(app)),
        }
    }
}
