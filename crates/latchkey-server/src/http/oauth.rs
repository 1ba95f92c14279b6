//! OAuth 2.0: the token endpoint (RFC 6749), revocation (RFC 7009), introspection (RFC 7662)
//! and the authorization-server metadata (RFC 8414). Form-encoded in, JSON out, errors in the
//! documented shape plus RFC 6749's `error_description`.

use super::openapi::{errors, responses};
use std::collections::HashMap;

use axum::Json;
use axum::extract::{FromRef, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use latchkey_api::ErrorCode;
use latchkey_core::auth::oauth::{Introspection, Introspector, OAuthClient, parse_scope};
use latchkey_core::secret::Secret;
use latchkey_core::{Grant, LoginOutcome};
use serde_json::json;

use super::answers::refused_login;
use super::cache::tokens_uncached;
use super::error::{ApiError, ApiResult};
use super::extract::{Client, read_body};
use crate::state::AppState;

/// The parameters of an `application/x-www-form-urlencoded` body, each at most once
/// (RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once").
pub struct OAuthForm(HashMap<String, String>);

impl<S: Send + Sync> FromRequest<S> for OAuthForm
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let form_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form_type {
            return Err(ApiError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            )
            .oauth());
        }
        let bytes = read_body(req, state).await.map_err(ApiError::oauth)?;
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(&bytes) {
            // An empty value counts as omitted (RFC 6749 §3.1).
            if value.is_empty() {
                continue;
            }
            if params.contains_key(name.as_ref()) {
                // Echo a bounded, plain name only: it is the client's input.
                let shown: String = name
                    .chars()
                    .take(40)
                    .filter(char::is_ascii_graphic)
                    .collect();
                return Err(ApiError::invalid_request(format!(
                    "the parameter {shown} is repeated"
                ))
                .oauth());
            }
            params.insert(name.into_owned(), value.into_owned());
        }
        Ok(OAuthForm(params))
    }
}

impl OAuthForm {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn require(&self, name: &str) -> ApiResult<&str> {
        self.get(name).ok_or_else(|| {
            ApiError::invalid_request(format!("the parameter {name} is missing")).oauth()
        })
    }
}

/// How the caller authenticated itself: an API key as the client (HTTP Basic or the form's
/// `client_id` + `client_secret`), a bearer token (introspection), or nothing.
enum CallerAuth {
    None,
    Key { id: Option<String>, secret: String },
    Bearer(String),
}

fn caller_auth(headers: &HeaderMap, form: &OAuthForm) -> ApiResult<CallerAuth> {
    let bad = |m: &str| ApiError::new(ErrorCode::InvalidClient, m).oauth();
    let from_header = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| bad("the Authorization header is not valid text"))?;
            let (scheme, rest) = v.trim().split_once(' ').unwrap_or((v, ""));
            if scheme.eq_ignore_ascii_case("basic") {
                Some(basic(rest.trim()).ok_or_else(|| bad("the Basic credentials are malformed"))?)
            } else if scheme.eq_ignore_ascii_case("bearer") && !rest.trim().is_empty() {
                Some(CallerAuth::Bearer(rest.trim().to_owned()))
            } else {
                return Err(bad("the Authorization header must use the Basic scheme"));
            }
        }
    };
    let in_form = form.get("client_secret").map(|secret| CallerAuth::Key {
        id: form.get("client_id").map(str::to_owned),
        secret: secret.to_owned(),
    });
    match (from_header, in_form) {
        // RFC 6749 §2.3: a client uses one authentication method per request.
        (Some(_), Some(_)) => Err(ApiError::invalid_request(
            "send the client credentials either in Authorization or in the body, not both",
        )
        .oauth()),
        (Some(a), None) | (None, Some(a)) => Ok(a),
        (None, None) => Ok(CallerAuth::None),
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`, as RFC 6749 §2.3.1 asks.
fn basic(encoded: &str) -> Option<CallerAuth> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    let (id, secret) = (decode(id)?, decode(secret)?);
    if secret.is_empty() {
        return None;
    }
    Some(CallerAuth::Key {
        id: (!id.is_empty()).then_some(id),
        secret,
    })
}

async fn client_of(app: &AppState, auth: &CallerAuth) -> ApiResult<Option<OAuthClient>> {
    match auth {
        CallerAuth::Key { id, secret } => Ok(Some(
            app.auth
                .authenticate_client(id.as_deref(), secret)
                .await
                .map_err(ApiError::from_oauth)?,
        )),
        CallerAuth::Bearer(_) => Err(ApiError::new(
            ErrorCode::InvalidClient,
            "the client authenticates with HTTP Basic or client_id and client_secret",
        )
        .oauth()),
        CallerAuth::None => Ok(None),
    }
}

/// `POST /oauth2/token`.
#[utoipa::path(
    post,
    path = "/oauth2/token",
    tag = "oauth",
    operation_id = "oauthToken",
    summary = "OAuth 2.0 token endpoint (RFC 6749)",
    description = "`password` (email as username; public clients need no client authentication), `refresh_token` (the same rotation, grace and reuse rules as `/api/v1/auth/refresh`) and `client_credentials` (an API key as the client; answers with the key's auth token, as `/get-token` does, whose scopes are the key's). Client authentication, when sent, must be valid on every grant.",
    security((), ("clientBasic" = [])),
    request_body(content = ref("#/components/schemas/OAuthTokenRequest"), content_type = "application/x-www-form-urlencoded"),
    responses(
        responses::OAuthFormRoute,
        (status = 200, description = "The tokens.", body = ref("#/components/schemas/OAuthTokenResponse"), headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 429, response = inline(errors::RateLimited))
    )
)]
pub async fn token(
    State(app): State<AppState>,
    Client(client_info): Client,
    headers: HeaderMap,
    form: OAuthForm,
) -> ApiResult<Response> {
    let auth = caller_auth(&headers, &form)?;
    // client_credentials checks its client itself, in the same read as the token.
    if form.get("grant_type") != Some("client_credentials") {
        client_of(&app, &auth).await?;
    }
    let scope = form
        .get("scope")
        .map(parse_scope)
        .transpose()
        .map_err(ApiError::from_oauth)?;
    let grant = match form.require("grant_type")? {
        "password" => {
            let username = form.require("username")?;
            let password = Secret::new(form.require("password")?.to_owned());
            let outcome = app
                .auth
                .oauth_password(username, &password, &client_info, scope.as_deref())
                .await
                .map_err(ApiError::from_oauth)
                .inspect_err(|e| refused_login(&app, &client_info, username, e))?;
            match outcome {
                LoginOutcome::Signed(grant) => {
                    super::metrics::outcome("latchkey_logins_total", Ok(()));
                    grant
                }
                // Never tokens for an outcome that asks for more (a second factor): fail closed.
                _ => {
                    return Err(ApiError::new(
                        ErrorCode::InvalidGrant,
                        "this account needs another login step (multi-factor authentication); \
                         log in at POST /api/v1/auth/login",
                    )
                    .oauth());
                }
            }
        }
        "refresh_token" => {
            let token = form.require("refresh_token")?;
            let grant = app
                .auth
                .oauth_refresh(token, scope.as_deref(), &client_info)
                .await
                .map_err(ApiError::from_oauth);
            super::metrics::outcome(
                "latchkey_refreshes_total",
                grant.as_ref().map(|_| ()).map_err(|e| e.code),
            );
            grant?
        }
        "client_credentials" => {
            return client_credentials(&app, &auth, scope.as_deref()).await;
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedGrantType,
                "grant_type must be password, refresh_token or client_credentials",
            )
            .oauth());
        }
    };
    Ok(grant_response(&app, grant))
}

fn grant_response(app: &AppState, grant: Grant) -> Response {
    let now = app.auth.clock().now_secs();
    let scope = app.auth.granted_scope(&grant);
    let mut body = json!({
        "access_token": grant.access_token.expose(),
        "token_type": "Bearer",
        "expires_in": (grant.access_expires_at - now).max(0),
        "scope": scope,
        "session_id": grant.session_id,
    });
    if let Some(refresh) = &grant.refresh_token {
        body["refresh_token"] = json!(refresh.expose());
    }
    tokens_uncached(Json(body).into_response())
}

async fn client_credentials(
    app: &AppState,
    auth: &CallerAuth,
    scope: Option<&[String]>,
) -> ApiResult<Response> {
    let CallerAuth::Key { id, secret } = auth else {
        return Err(ApiError::new(
            ErrorCode::InvalidClient,
            "client_credentials needs client authentication: an API key as the client",
        )
        .oauth());
    };
    let minted = app
        .auth
        .client_credentials(id.as_deref(), secret, scope)
        .await
        .map_err(ApiError::from_oauth)?;
    let body = json!({
        "access_token": minted.token.expose(),
        "token_type": "Bearer",
        "expires_in": minted.expires_in.as_secs(),
        "scope": minted.scopes.join(" "),
    });
    Ok(tokens_uncached(Json(body).into_response()))
}

/// `POST /oauth2/revoke` (RFC 7009): 200 whether or not the token was known.
#[utoipa::path(
    post,
    path = "/oauth2/revoke",
    tag = "oauth",
    operation_id = "oauthRevoke",
    summary = "Revoke a token (RFC 7009)",
    description = "A refresh token or a user's access token ends its session (every token of it is refused at once); an API auth token is dropped (its key mints a new one at `/get-token`). Unknown, invalid or already revoked tokens are answered with 200 too. Client authentication is optional; when sent it must be valid.",
    security((), ("clientBasic" = [])),
    request_body(content = ref("#/components/schemas/OAuthTokenParam"), content_type = "application/x-www-form-urlencoded"),
    responses(
        responses::OAuthFormRoute,
        (status = 200, description = "Revoked, or nothing to revoke.", headers(("Cache-Control" = String, description = "`no-store`.")))
    )
)]
pub async fn revoke(
    State(app): State<AppState>,
    headers: HeaderMap,
    form: OAuthForm,
) -> ApiResult<Response> {
    let auth = caller_auth(&headers, &form)?;
    // A public client may revoke its own tokens; credentials, when sent, must be valid.
    client_of(&app, &auth).await?;
    let token = form.require("token")?;
    app.auth
        .revoke_token(token)
        .await
        .map_err(ApiError::from_oauth)?;
    Ok(tokens_uncached(().into_response()))
}

/// `POST /oauth2/introspect` (RFC 7662), for a caller holding `latchkey:introspect`.
#[utoipa::path(
    post,
    path = "/oauth2/introspect",
    tag = "oauth",
    operation_id = "oauthIntrospect",
    summary = "Introspect a token (RFC 7662)",
    description = r#"For an API key as the client, or a bearer access token, whose scopes include the reserved `latchkey:introspect` (only an operator grants it; anyone else is refused with `403 insufficient_scope`). Answers `{"active": false}` for anything revoked, expired, unknown or of another organization; for a live access token, API auth token or refresh token its `sub`, current `scope`, `exp`, `token_type` (and `client_id` for an API auth token)."#,
    security(("clientBasic" = []), ("bearerAuth" = [])),
    request_body(content = ref("#/components/schemas/OAuthTokenParam"), content_type = "application/x-www-form-urlencoded"),
    responses(
        responses::OAuthFormRoute,
        (status = 200, description = "The token's state.", body = ref("#/components/schemas/IntrospectionResponse"), headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 403, response = inline(errors::Forbidden))
    )
)]
pub async fn introspect(
    State(app): State<AppState>,
    headers: HeaderMap,
    form: OAuthForm,
) -> ApiResult<Response> {
    let auth = caller_auth(&headers, &form)?;
    let oauth = |e: latchkey_core::error::AuthError| ApiError::from(e).oauth();
    let (caller, client);
    let who = match &auth {
        CallerAuth::Bearer(bearer) => {
            caller = app.auth.authenticate(bearer, None).await.map_err(oauth)?;
            Introspector::Token(&caller)
        }
        _ => match client_of(&app, &auth).await? {
            Some(found) => {
                client = found;
                Introspector::Client(&client)
            }
            None => {
                return Err(ApiError::new(
                    ErrorCode::InvalidClient,
                    "introspection needs client authentication (an API key) or a bearer token, \
                     holding the scope latchkey:introspect",
                )
                .oauth());
            }
        },
    };
    let token = form.require("token")?;
    let info = app.auth.introspect(who, token).await.map_err(oauth)?;
    Ok(tokens_uncached(
        Json(introspection_body(&app, info)).into_response(),
    ))
}

fn introspection_body(app: &AppState, info: Introspection) -> serde_json::Value {
    if !info.active {
        return json!({"active": false});
    }
    let settings = app.auth.settings();
    let mut body = json!({
        "active": true,
        "sub": info.sub,
        "scope": info.scope,
        "exp": info.exp,
        "token_type": info.token_type,
        "iss": settings.issuer,
        "aud": settings.audience,
        "org": info.org,
    });
    if let Some(iat) = info.iat {
        body["iat"] = json!(iat);
    }
    if let Some(client_id) = info.client_id {
        body["client_id"] = json!(client_id);
    }
    if let Some(sid) = info.sid {
        body["sid"] = json!(sid);
    }
    body
}

/// RFC 8414 metadata; the same document answers OpenID Connect discovery.
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "oauth",
    operation_id = "oauthMetadata",
    summary = "Authorization server metadata (RFC 8414)",
    description = "Issuer (equal to the `iss` of access tokens), endpoints, `jwks_uri`, grant types and client authentication methods.",
    responses(
        (status = 200, description = "The metadata.", body = ref("#/components/schemas/AuthorizationServerMetadata"))
    )
)]
pub async fn metadata(State(app): State<AppState>) -> Response {
    let settings = app.auth.settings();
    let base = settings.issuer.trim_end_matches('/');
    let auth_methods = ["client_secret_basic", "client_secret_post"];
    let body = json!({
        "issuer": settings.issuer,
        "token_endpoint": format!("{base}/oauth2/token"),
        "revocation_endpoint": format!("{base}/oauth2/revoke"),
        "introspection_endpoint": format!("{base}/oauth2/introspect"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "grant_types_supported": ["password", "refresh_token", "client_credentials"],
        // No authorization endpoint: no response type is offered.
        "response_types_supported": [],
        "scopes_supported": settings.scopes,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": [],
        "subject_types_supported": ["public"],
        "claims_supported": ["iss", "aud", "sub", "sid", "org", "role", "scope", "iat", "exp", "jti"],
        "access_token_signing_alg_values_supported": ["EdDSA"],
    });
    let mut r = Json(body).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "oauth",
    operation_id = "openidConfiguration",
    summary = "The same metadata at the OpenID discovery address",
    description = "Issuer (equal to the `iss` of access tokens), endpoints, `jwks_uri`, grant types and client authentication methods.",
    responses(
        (status = 200, description = "The metadata.", body = ref("#/components/schemas/AuthorizationServerMetadata"))
    )
)]
/// The same metadata under the OpenID Connect discovery name, for clients that only look there.
pub async fn openid_configuration(state: State<AppState>) -> Response {
    metadata(state).await
}
