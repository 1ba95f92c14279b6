//! Error responses the operations name (`response = inline(errors::NotFound)`): each is the
//! documented error shape with the codes that can occur and an example of each.

use super::{ErrorResponse, Header};

error_response!(AccountDisabled, "`account_disabled`: the account is disabled.",
headers: [Header::CacheControl],
examples: [
    ("account_disabled", "The account is disabled.", r#"{"status": "failed", "code": 403, "error": "account_disabled", "message": "the account is disabled", "data": {}}"#),
]);
error_response!(ChangeSaved, "`service_unavailable` with `data.committed: true`: the change is saved but the token store could not be reached, so it is not in effect yet. Every instance retries publishing it every few seconds; retrying the same call is safe (a retried removal finishes the saved one and answers 204 while it is still pending). Other `service_unavailable` answers (`data: {}`) saved nothing.",
headers: [Header::CacheControl, Header::RetryAfter],
examples: [
    ("committed", "Saved, not yet in effect.", r#"{"status": "failed", "code": 503, "error": "service_unavailable", "message": "the change is saved and will take effect once the token store is reachable; retrying the same call is safe", "data": {"committed": true}}"#),
]);
error_response!(Conflict, "`conflict`: a concurrent change won; retry.",
headers: [Header::CacheControl],
examples: [
    ("conflict", "A concurrent change won (e.g. two rotations of one API key); retry.", r#"{"status": "failed", "code": 409, "error": "conflict", "message": "the key was rotated concurrently; retry", "data": {}}"#),
]);
error_response!(EmailTaken, "`email_taken`: the email is already registered.",
headers: [Header::CacheControl],
examples: [
    ("email_taken", "An account with this email (compared case-insensitively) already exists.", r#"{"status": "failed", "code": 409, "error": "email_taken", "message": "an account with this email already exists", "data": {}}"#),
]);
error_response!(ExternalLoginFailed, "`external_login_failed`: the provider sign-in or its hand-off was refused.",
headers: [Header::CacheControl],
examples: [
    ("external_login_failed", "The ID token's nonce does not match this sign-in.", r#"{"status": "failed", "code": 401, "error": "external_login_failed", "message": "the ID token's nonce does not match this sign-in", "data": {}}"#),
]);
error_response!(Forbidden, "`forbidden`: the caller may not do this (not an admin, an API token or a narrowed token where a user's full session is needed, an admin acting on their own account, or a scope only an operator may grant); `insufficient_scope`: a scope the caller does not hold.",
headers: [Header::CacheControl],
examples: [
    ("forbidden", "The caller may not do this: not an organization admin, an API token on a route that needs a user's session, an admin acting on their own account, or no forward-auth policy rule allows the request.", r#"{"status": "failed", "code": 403, "error": "forbidden", "message": "this route needs a user's access token, not an API token", "data": {}}"#),
    ("insufficient_scope", "The token lacks a scope the route requires.", r#"{"status": "failed", "code": 403, "error": "insufficient_scope", "message": "the token lacks the scope orders:write", "data": {}}"#),
]);
error_response!(ForwardAuthBadRequest, "`invalid_request`: the original request is missing, half-given, sent twice, or cannot be read exactly. Latchkey never guesses it.",
headers: [Header::CacheControl],
examples: [
    ("invalid_request", "An original URI with raw non-ASCII bytes.", r#"{"status": "failed", "code": 400, "error": "invalid_request", "message": "the original URI contains bytes that are not printable ASCII", "data": {}}"#),
]);
error_response!(ForwardAuthDenied, r#"`forbidden`: no policy rule allows the original request, the matching rule is limited to other organizations or to a role the caller lacks (API tokens hold no role), the original request is described twice (a client's header of another proxy convention beside the proxy's own), or the original path has dot segments, `;` parameters, encoded separators or control characters; `insufficient_scope`: a rule matched but the caller lacks one of its scopes (with a `WWW-Authenticate: Bearer … error="insufficient_scope"` challenge)."#,
headers: [Header::CacheControl, Header::WwwAuthenticate],
examples: [
    ("forbidden", "The caller may not do this: not an organization admin, an API token on a route that needs a user's session, an admin acting on their own account, or no forward-auth policy rule allows the request.", r#"{"status": "failed", "code": 403, "error": "forbidden", "message": "no policy rule allows DELETE /orders/42", "data": {}}"#),
    ("insufficient_scope", "The token lacks a scope the route requires.", r#"{"status": "failed", "code": 403, "error": "insufficient_scope", "message": "the token lacks the scope orders:write", "data": {}}"#),
]);
error_response!(InternalError, "`internal_error`: an unexpected failure (logged on the server).",
headers: [Header::CacheControl],
examples: [
    ("internal_error", "An unexpected error; details are logged on the server, never returned.", r#"{"status": "failed", "code": 500, "error": "internal_error", "message": "internal error", "data": {}}"#),
]);
error_response!(InvalidApiKey, "`invalid_api_key`: the API key is unknown, revoked or expired.",
headers: [Header::CacheControl],
examples: [
    ("invalid_api_key", "The API key is unknown, revoked or expired (`/get-token`), or the `x-api-key` header does not belong to the auth token.", r#"{"status": "failed", "code": 401, "error": "invalid_api_key", "message": "the API key is unknown, revoked or expired", "data": {}}"#),
]);
error_response!(InvalidClient, "`invalid_client`: client authentication is missing where required, malformed or wrong.",
headers: [Header::CacheControl, Header::BasicChallenge],
examples: [
    ("invalid_client", "`invalid_client`: client authentication is missing where required, malformed or wrong.", r#"{"status": "failed", "code": 401, "error": "invalid_client", "message": "the client credentials are not valid", "data": {}, "error_description": "the client credentials are not valid"}"#),
]);
error_response!(InvalidCredentials, "`invalid_credentials`: wrong email or password (the same answer for an unknown email).",
headers: [Header::CacheControl, Header::WwwAuthenticate],
examples: [
    ("invalid_credentials", "Wrong email or password. An unknown email gets the very same answer.", r#"{"status": "failed", "code": 401, "error": "invalid_credentials", "message": "invalid email or password", "data": {}}"#),
]);
error_response!(InvalidEmail, "`invalid_email`: the address is not valid, or the mail server refused it; nothing was stored.",
headers: [Header::CacheControl],
examples: [
    ("invalid_email", "The address is not valid, or the mail server refused it.", r#"{"status": "failed", "code": 422, "error": "invalid_email", "message": "invalid email, try again", "data": {}}"#),
]);
error_response!(InvalidMfaCode, r#"`invalid_mfa_code`: the TOTP code is wrong or was already used in its window, or the recovery code is unknown or used. During a login `data` is `{"mfa_required": true, "attempts_left": N}`; at 0 the login is dead."#,
headers: [Header::CacheControl, Header::WwwAuthenticate],
examples: [
    ("invalid_mfa_code", "A wrong second factor during a login, with the tries left.", r#"{"status": "failed", "code": 401, "error": "invalid_mfa_code", "message": "the two-factor code is wrong or was already used", "data": {"mfa_required": true, "attempts_left": 4}}"#),
]);
error_response!(InvalidRefresh, "`invalid_token`: the refresh token (or the expired access token of a lenient refresh) is refused.",
headers: [Header::CacheControl, Header::WwwAuthenticate],
examples: [
    ("invalid_token", "The token is malformed, expired, wrongly signed, for another issuer or audience, of a revoked session, or a reused refresh token. The message says which.", r#"{"status": "failed", "code": 401, "error": "invalid_token", "message": "the refresh token was already used; the session has been revoked", "data": {}}"#),
]);
error_response!(InvalidRequest, "`invalid_request`: the body or a parameter is not acceptable.",
headers: [Header::CacheControl],
examples: [
    ("invalid_request", "Malformed JSON, missing or unknown fields, wrong types, an invalid email, phone or name.", r#"{"status": "failed", "code": 400, "error": "invalid_request", "message": "malformed JSON: EOF while parsing an object at line 1 column 9", "data": {}}"#),
]);
error_response!(NotFound, "`not_found`: no such resource of the caller.",
headers: [Header::CacheControl],
examples: [
    ("not_found", "No such route, or no such resource of the caller.", r#"{"status": "failed", "code": 404, "error": "not_found", "message": "session not found", "data": {}}"#),
]);
error_response!(OAuthError, "RFC 6749 §5.2 errors: `invalid_request`, `invalid_grant`, `unsupported_grant_type`, `invalid_scope`; the body also carries `error_description`.",
headers: [Header::CacheControl],
examples: [
    ("invalid_grant", "RFC 6749 §5.2 errors: `invalid_request`, `invalid_grant`, `unsupported_grant_type`, `invalid_scope`; the body also carries `error_description`.", r#"{"status": "failed", "code": 400, "error": "invalid_grant", "message": "invalid email or password", "data": {}, "error_description": "invalid email or password"}"#),
]);
error_response!(PayloadTooLarge, "`payload_too_large`: the body is larger than 1 MiB.",
headers: [Header::CacheControl],
examples: [
    ("payload_too_large", "The request body is larger than 1 MiB.", r#"{"status": "failed", "code": 413, "error": "payload_too_large", "message": "the request body is larger than 1 MiB", "data": {}}"#),
]);
error_response!(UnsupportedMediaType, "`unsupported_media_type`: the body is not declared as JSON.",
headers: [Header::CacheControl],
examples: [
    ("unsupported_media_type", "A JSON route got a body whose `Content-Type` is not `application/json` (or `application/<name>+json`, UTF-8 if a charset is named), or none at all.", r#"{"status": "failed", "code": 415, "error": "unsupported_media_type", "message": "the body must be sent as Content-Type: application/json", "data": {}}"#),
]);
error_response!(RateLimited, "`rate_limited`: too many attempts; wait `Retry-After` seconds.",
headers: [Header::CacheControl, Header::RetryAfter],
examples: [
    ("rate_limited", "Too many attempts; `Retry-After` says how many seconds to wait.", r#"{"status": "failed", "code": 429, "error": "rate_limited", "message": "too many attempts; retry later", "data": {}}"#),
]);
error_response!(ServiceUnavailable, "`service_unavailable`: password hashing is saturated, or a store Latchkey depends on (Redis, the database) is unreachable right now; the request was refused, not allowed. Wait `Retry-After` seconds and retry.",
headers: [Header::CacheControl, Header::RetryAfter],
examples: [
    ("service_unavailable", "The service is overloaded; retry after `Retry-After` seconds.", r#"{"status": "failed", "code": 503, "error": "service_unavailable", "message": "the service is overloaded; retry later", "data": {}}"#),
    ("storage_unreachable", "Redis or the database cannot be reached; retry after `Retry-After` seconds.", r#"{"status": "failed", "code": 503, "error": "service_unavailable", "message": "a storage backend is unreachable; retry later", "data": {}}"#),
]);
error_response!(SessionRequired, "`forbidden`: this route acts as the user and needs a user's access token, not an API auth token.",
headers: [Header::CacheControl],
examples: [
    ("forbidden", "The caller may not do this: not an organization admin, an API token on a route that needs a user's session, an admin acting on their own account, or no forward-auth policy rule allows the request.", r#"{"status": "failed", "code": 403, "error": "forbidden", "message": "this route needs a user's access token, not an API token", "data": {}}"#),
]);
error_response!(SignupRejected, "`weak_password` or `unknown_referral_code`.",
headers: [Header::CacheControl],
examples: [
    ("weak_password", "The password breaks the policy: 8 to 256 characters, not a common password, not the email, not one repeated character.", r#"{"status": "failed", "code": 422, "error": "weak_password", "message": "the password is too common; choose another", "data": {}}"#),
    ("unknown_referral_code", "The referral code matches no organization.", r#"{"status": "failed", "code": 422, "error": "unknown_referral_code", "message": "the referral code is not known", "data": {}}"#),
]);
error_response!(Unauthorized, "`missing_token` or `invalid_token`: no usable access token.",
headers: [Header::CacheControl, Header::WwwAuthenticate],
examples: [
    ("missing_token", "No access token was sent (the `WWW-Authenticate` challenge carries no error code, RFC 6750 §3.1).", r#"{"status": "failed", "code": 401, "error": "missing_token", "message": "an access token is required", "data": {}}"#),
    ("invalid_token", "The token is malformed, expired, wrongly signed, for another issuer or audience, of a revoked session, or a reused refresh token. The message says which.", r#"{"status": "failed", "code": 401, "error": "invalid_token", "message": "the token has expired", "data": {}}"#),
    ("invalid_api_key", "The API key is unknown, revoked or expired (`/get-token`), or the `x-api-key` header does not belong to the auth token.", r#"{"status": "failed", "code": 401, "error": "invalid_api_key", "message": "x-api-key does not belong to this token", "data": {}}"#),
]);
error_response!(UnknownScope, "`unknown_scope`: a scope that is not in the server's scope catalogue.",
headers: [Header::CacheControl],
examples: [
    ("unknown_scope", "Only scopes the operator lists in `LATCHKEY_SCOPES` can be granted.", r#"{"status": "failed", "code": 422, "error": "unknown_scope", "message": "the scope admin is not in the scope catalogue", "data": {}}"#),
]);
error_response!(UriTooLong, "`uri_too_long`: the original URI is longer than 8 KiB.",
headers: [Header::CacheControl],
examples: [
    ("uri_too_long", "The original URI is longer than 8 KiB.", r#"{"status": "failed", "code": 414, "error": "uri_too_long", "message": "the original URI is longer than 8192 bytes", "data": {}}"#),
]);
error_response!(ReauthRequired, "`reauthentication_required`: a sensitive change needs a credential proved in this session within the last minutes (`POST /api/v1/auth/reauthenticate`); `forbidden`: an API token where a user's session is needed.",
headers: [Header::CacheControl],
examples: [
    ("reauthentication_required", "A sensitive change without a recent re-authentication in this session.", r#"{"status": "failed", "code": 403, "error": "reauthentication_required", "message": "this change needs a recent re-authentication: confirm your password, a two-factor code or a mailed code at POST /api/v1/auth/reauthenticate, then retry", "data": {}}"#),
    ("forbidden", "The caller may not do this: not an organization admin, an API token on a route that needs a user's session, an admin acting on their own account, or no forward-auth policy rule allows the request.", r#"{"status": "failed", "code": 403, "error": "forbidden", "message": "this route needs a user's access token, not an API token", "data": {}}"#),
]);
error_response!(ReauthOrScope, "`reauthentication_required`: an API key that can do more than read needs a credential proved in this session within the last minutes (`POST /api/v1/auth/reauthenticate`); `forbidden`: an API token where a user's session is needed; `insufficient_scope`: a scope the caller does not hold.",
headers: [Header::CacheControl],
examples: [
    ("reauthentication_required", "A sensitive change without a recent re-authentication in this session.", r#"{"status": "failed", "code": 403, "error": "reauthentication_required", "message": "this change needs a recent re-authentication: confirm your password, a two-factor code or a mailed code at POST /api/v1/auth/reauthenticate, then retry", "data": {}}"#),
    ("forbidden", "The caller may not do this: not an organization admin, an API token on a route that needs a user's session, an admin acting on their own account, or no forward-auth policy rule allows the request.", r#"{"status": "failed", "code": 403, "error": "forbidden", "message": "this route needs a user's access token, not an API token", "data": {}}"#),
    ("insufficient_scope", "The token lacks a scope the route requires.", r#"{"status": "failed", "code": 403, "error": "insufficient_scope", "message": "the token lacks the scope orders:write", "data": {}}"#),
]);
