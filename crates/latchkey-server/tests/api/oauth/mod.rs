//! The OAuth 2.0 surface, checked against the RFC texts: the token endpoint (RFC 6749),
//! revocation (RFC 7009), introspection (RFC 7662) and metadata (RFC 8414).

mod discovery;
mod introspect;
mod revoke;
mod third_party;
mod token;

use serde_json::Value;

use crate::helpers::assert_error_shape;
use crate::helpers::oauth::{
    ClientAuth, INTROSPECT, TOKEN, assert_no_store, claims_of, header, introspector,
    password_grant, post_form, token_ok,
};

pub const REVOKE: &str = "/oauth2/revoke";
/// An RFC 6749 §5.2 error in the documented shape: the status, `error` and
/// `error_description`, never cached; returns the body.
pub async fn oauth_error(r: reqwest::Response, status: u16, error: &str, what: &str) -> Value {
    assert_no_store(&r, what);
    let challenge = header(&r, "www-authenticate");
    let got = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(got, status, "{what}: {body}");
    assert_eq!(assert_error_shape(status, &body, what), error, "{what}");
    assert!(body["error_description"].is_string(), "{what}: {body}");
    if error == "invalid_client" {
        assert!(
            challenge.starts_with("Basic "),
            "{what}: challenge {challenge:?}"
        );
    }
    body
}
