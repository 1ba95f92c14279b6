//! The error responses each kind of route shares, named once (`responses(UserRoute, …)`) instead
//! of row by row in every operation. An operation lists its sets first and then its own rows; a
//! row of its own for a status a set also names replaces the set's (e.g. `503` as
//! [`errors::ChangeSaved`] on a route that saves a change).

use std::collections::BTreeMap;

use utoipa::openapi::{RefOr, Response};
use utoipa::{IntoResponses, ToResponse};

use super::errors;

type Responses = BTreeMap<String, RefOr<Response>>;

fn row<'s, R: ToResponse<'s>>(status: &str) -> (String, RefOr<Response>) {
    (status.to_owned(), R::response().1)
}

/// Any route that reads or writes storage: an unexpected failure (500), or a store or the
/// password hasher unavailable (503).
pub struct PublicRoute;

impl IntoResponses for PublicRoute {
    fn responses() -> Responses {
        Responses::from([
            row::<errors::InternalError>("500"),
            row::<errors::ServiceUnavailable>("503"),
        ])
    }
}

/// A route that needs a user's or an API key's access token: [`PublicRoute`] and `401` for a
/// missing or refused token.
pub struct UserRoute;

impl IntoResponses for UserRoute {
    fn responses() -> Responses {
        let mut responses = PublicRoute::responses();
        responses.extend([row::<errors::Unauthorized>("401")]);
        responses
    }
}

/// An organization admin's or an operator's route: [`UserRoute`] and `403` for a caller who is
/// not one (or lacks a scope).
pub struct AdminRoute;

impl IntoResponses for AdminRoute {
    fn responses() -> Responses {
        let mut responses = UserRoute::responses();
        responses.extend([row::<errors::Forbidden>("403")]);
        responses
    }
}

/// A route that reads a JSON body, beside its route set: `400` for a body that is not
/// acceptable, `413` for one over the limit.
pub struct JsonBody;

impl IntoResponses for JsonBody {
    fn responses() -> Responses {
        Responses::from([
            row::<errors::InvalidRequest>("400"),
            row::<errors::PayloadTooLarge>("413"),
        ])
    }
}

/// The OAuth endpoints' form routes (RFC 6749 §5.2 errors): [`PublicRoute`], `400` in the OAuth
/// shape, `401 invalid_client`, `413`.
pub struct OAuthFormRoute;

impl IntoResponses for OAuthFormRoute {
    fn responses() -> Responses {
        let mut responses = PublicRoute::responses();
        responses.extend([
            row::<errors::OAuthError>("400"),
            row::<errors::InvalidClient>("401"),
            row::<errors::PayloadTooLarge>("413"),
        ]);
        responses
    }
}

/// The forward-auth checks a reverse proxy calls: [`UserRoute`], `400` for an original request
/// that cannot be read exactly, `403` for one no policy rule allows, `414` for a long original
/// URI.
pub struct ForwardAuthRoute;

impl IntoResponses for ForwardAuthRoute {
    fn responses() -> Responses {
        let mut responses = UserRoute::responses();
        responses.extend([
            row::<errors::ForwardAuthBadRequest>("400"),
            row::<errors::ForwardAuthDenied>("403"),
            row::<errors::UriTooLong>("414"),
        ]);
        responses
    }
}
