//! Sign-in through an external provider: `/oauth/{provider}/start` and `/callback`, then
//! `/auth/exchange` and `/auth/signup/complete` for the app.

use super::cache::no_store;
use super::openapi::{errors, responses};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use latchkey_api::{
    ExchangeRequest, LinkRequest, LinkStarted, SignupCompleteRequest, SignupRequiredResponse,
};
use latchkey_core::auth::social::{CompleteSignup, Exchanged};
use latchkey_core::oidc::CallbackParams;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::answers::token_response;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, Caller, Client, cookie as read_cookie};
use super::social_cookies::{
    FLOW_COOKIE, LINK_COOKIE, LINK_COOKIE_SECS, encode, flow_cookie, named_cookie, redirect,
};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct StartQuery {
    redirect_to: Option<String>,
    referral_code: Option<String>,
    /// A mobile app's own PKCE challenge, checked at `/auth/exchange`.
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    /// From `POST /oauth/{provider}/link`: link instead of signing in.
    link_ticket: Option<String>,
}

#[utoipa::path(
    get,
    path = "/oauth/{provider}/start",
    tag = "sign-in",
    operation_id = "oauthStart",
    summary = "Start a sign-in with a provider",
    description = "Redirects the browser to the provider with `state`, `nonce` and a PKCE (S256) challenge, and sets a short-lived `HttpOnly`, `SameSite=Lax` cookie (`latchkey_oidc_flow`) that carries them, signed. `redirect_to` must match `LATCHKEY_OIDC_REDIRECT_ALLOW_LIST`. A mobile app may send its own `code_challenge` (S256): the code it receives then needs the matching `code_verifier` at `/api/v1/auth/exchange`.",
    params(
        ("provider" = String, Path, description = "A configured provider's name (`oidc_providers`)."),
        ("redirect_to" = String, Query, description = "Where the result goes: an allowed web origin or app scheme."),
        ("referral_code" = Option<String>, Query, description = "For a new person: join this organization as a member."),
        ("code_challenge" = Option<String>, Query, description = "The app's own PKCE challenge (43 base64url characters)."),
        ("code_challenge_method" = Option<String>, Query),
        ("link_ticket" = Option<String>, Query, description = "From `POST /api/v1/oauth/{provider}/link`: link the provider to that account instead of signing in.")
    ),
    responses(
        responses::PublicRoute,
        (status = 302, description = "To the provider's authorization page.", headers(("Location" = String, description = ""), ("Set-Cookie" = String, description = ""))),
        (status = 400, response = inline(errors::InvalidRequest)),
        (status = 401, response = inline(errors::ExternalLoginFailed))
    )
)]
pub async fn start(
    State(app): State<AppState>,
    ApiPath(provider): ApiPath<String>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Response> {
    let q: StartQuery = query(&uri)?;
    let redirect_to = q
        .redirect_to
        .ok_or_else(|| ApiError::invalid_request("redirect_to is required"))?;
    if q.code_challenge.is_some() && q.code_challenge_method.as_deref().unwrap_or("S256") != "S256"
    {
        return Err(ApiError::invalid_request(
            "code_challenge_method must be S256",
        ));
    }
    let now = app.auth.clock().now_secs();
    let link = match &q.link_ticket {
        Some(ticket) => {
            let binding = read_cookie(&headers, LINK_COOKIE);
            Some(
                app.auth
                    .take_link_ticket(ticket, &provider, binding.as_deref())
                    .await?,
            )
        }
        None => None,
    };
    let started = app
        .oidc
        .start(
            &provider,
            &redirect_to,
            q.referral_code,
            q.code_challenge,
            link,
            now,
        )
        .await?;
    let cookie = flow_cookie(
        &app,
        &started.cookie,
        latchkey_core::oidc::FLOW_TTL_SECS,
        started.form_post,
    );
    Ok(redirect(StatusCode::FOUND, &started.location, cookie))
}

#[utoipa::path(
    get,
    path = "/oauth/{provider}/callback",
    tag = "sign-in",
    operation_id = "oauthCallback",
    summary = "The provider's redirect back",
    description = "Checks `state` against the flow cookie, exchanges the code with the PKCE verifier, and validates the ID token (signature by `kid`, re-reading the provider's keys once when the `kid` is unknown; issuer, with Microsoft's `{tenantid}` template filled from `tid` and the tenant allow-list; audience; authorized party; expiry; issue time; nonce). The person is found by (provider, `sub`), for Microsoft by (`tid`, `oid`); an existing account is linked by email only when the provider asserts it verified (never for Microsoft). Unknown parameters are ignored.",
    params(
        ("provider" = String, Path, description = "A configured provider's name (`oidc_providers`)."),
        ("code" = Option<String>, Query),
        ("state" = Option<String>, Query),
        ("error" = Option<String>, Query)
    ),
    responses(
        responses::PublicRoute,
        (status = 303, description = "To `redirect_to` with `?code=…`, a one-time code (2 minutes) for `/api/v1/auth/exchange`. Never tokens in the URL.", headers(("Location" = String, description = ""))),
        (status = 200, description = "For a link (`link_ticket` at start): the confirmation page, HTML naming the Latchkey account and the provider's account, whose form posts to `/api/v1/oauth/{provider}/link/confirm`. Nothing is linked yet.", content_type = "text/html"),
        (status = 400, response = inline(errors::InvalidRequest)),
        (status = 401, response = inline(errors::ExternalLoginFailed)),
        (status = 409, response = inline(errors::Conflict))
    )
)]
pub async fn callback_get(
    State(app): State<AppState>,
    Client(client): Client,
    ApiPath(provider): ApiPath<String>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Response> {
    let params: CallbackParams = query(&uri)?;
    callback(app, provider, &headers, params, &client).await
}

/// `response_mode=form_post`.
#[utoipa::path(
    post,
    path = "/oauth/{provider}/callback",
    tag = "sign-in",
    operation_id = "oauthCallbackFormPost",
    summary = "The provider's answer with response_mode=form_post",
    params(
        ("provider" = String, Path, description = "A configured provider's name (`oidc_providers`).")
    ),
    request_body(content = ref("#/components/schemas/OauthCallbackFormPostRequest"), content_type = "application/x-www-form-urlencoded"),
    responses(
        responses::PublicRoute,
        (status = 303, description = "To `redirect_to` with `?code=…`, a one-time code (2 minutes) for `/api/v1/auth/exchange`. Never tokens in the URL.", headers(("Location" = String, description = ""))),
        (status = 200, description = "For a link (`link_ticket` at start): the confirmation page, HTML naming the Latchkey account and the provider's account, whose form posts to `/api/v1/oauth/{provider}/link/confirm`. Nothing is linked yet.", content_type = "text/html"),
        (status = 400, response = inline(errors::InvalidRequest)),
        (status = 401, response = inline(errors::ExternalLoginFailed)),
        (status = 409, response = inline(errors::Conflict))
    )
)]
pub async fn callback_post(
    State(app): State<AppState>,
    Client(client): Client,
    ApiPath(provider): ApiPath<String>,
    headers: HeaderMap,
    body: String,
) -> ApiResult<Response> {
    let params: CallbackParams = serde_urlencoded_form(&body)?;
    callback(app, provider, &headers, params, &client).await
}

async fn callback(
    app: AppState,
    provider: String,
    headers: &HeaderMap,
    params: CallbackParams,
    client: &latchkey_core::ClientInfo,
) -> ApiResult<Response> {
    let now = app.auth.clock().now_secs();
    let cookie = read_cookie(headers, FLOW_COOKIE);
    let from_pages = cookie
        .as_deref()
        .is_some_and(|c| app.oidc.started_by_pages(c));
    let (who, flow) = match app
        .oidc
        .callback(&provider, params, cookie.as_deref(), now)
        .await
        .inspect_err(|e| tracing::warn!(%provider, reason = %e, "provider sign-in refused"))
    {
        Ok(done) => done,
        // A person on the hosted pages (who may have cancelled at the provider) gets a page.
        Err(latchkey_core::AuthError::ExternalLogin(_)) if from_pages => {
            let back = app
                .oidc
                .with_param(&app.oidc.pages_return_url(), "error", "refused");
            return Ok(redirect(
                StatusCode::SEE_OTHER,
                &back,
                flow_cookie(&app, "", 0, false),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let location = match &flow.link {
        Some(asker) => {
            // Nothing is linked yet: the person confirms on a page naming the account.
            let binding = read_cookie(headers, LINK_COOKIE);
            let pending = app
                .auth
                .pending_link(asker, &who, &flow.redirect_to, binding.as_deref())
                .await?;
            let mut response = super::link_page::confirmation(&pending);
            response
                .headers_mut()
                .insert(header::SET_COOKIE, flow_cookie(&app, "", 0, false));
            return Ok(response);
        }
        None => {
            let code = app
                .auth
                .external_sign_in(&who, flow.referral_code, flow.app_challenge, client)
                .await?;
            app.oidc.handoff_url(&flow.redirect_to, &code)
        }
    };
    // The flow is over: its cookie goes, so its state cannot serve twice.
    Ok(redirect(
        StatusCode::SEE_OTHER,
        &location,
        flow_cookie(&app, "", 0, false),
    ))
}

/// `POST /oauth/{provider}/link`: a signed-in user asks for the URL that links a provider.
#[utoipa::path(
    post,
    path = "/oauth/{provider}/link",
    tag = "sign-in",
    operation_id = "oauthLink",
    summary = "Link a provider to the signed-in account",
    description = "For people whose provider does not vouch for their email (Microsoft): signed in to Latchkey, they get a one-time URL (a `/start` with a link ticket) to open in the browser; after signing in at the provider the identity is linked to their account and later sign-ins through it reach that account. An identity already linked to another account is `409 conflict` at the callback. A user session only.",
    security(("bearerAuth" = []), ("agentAuth" = []), ("agentAuth" = [], "apiKeyHeader" = [])),
    params(
        ("provider" = String, Path, description = "A configured provider's name (`oidc_providers`).")
    ),
    request_body(content = latchkey_api::LinkRequest, content_type = "application/json"),
    responses(
        responses::UserRoute,
        responses::JsonBody,
        (status = 200, description = "The URL to open.", body = latchkey_api::LinkStarted),
        (status = 403, response = inline(errors::SessionRequired))
    )
)]
pub async fn link(
    State(app): State<AppState>,
    ApiPath(provider): ApiPath<String>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<LinkRequest>,
) -> ApiResult<Response> {
    if !app.oidc.redirect_allowed(&req.redirect_to) {
        return Err(ApiError::invalid_request(
            "redirect_to is not in the allowed redirect list",
        ));
    }
    app.oidc.require_provider(&provider)?;
    let (ticket, binding) = app.auth.link_ticket(&caller, &provider).await?;
    let mut url = format!("{}/api/v1/oauth/{provider}/start", app.config.issuer());
    url.push_str(&format!(
        "?link_ticket={ticket}&redirect_to={}",
        encode(&req.redirect_to)
    ));
    let mut response = axum::Json(LinkStarted { url }).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::SET_COOKIE,
        named_cookie(&app, LINK_COOKIE, &binding, LINK_COOKIE_SECS),
    );
    no_store(headers);
    Ok(response)
}

#[derive(Deserialize)]
struct ConfirmForm {
    confirm: String,
    decision: Option<String>,
}

/// The confirmation page's form: links (or cancels), then back to the app.
#[utoipa::path(
    post,
    path = "/oauth/{provider}/link/confirm",
    tag = "sign-in",
    operation_id = "oauthLinkConfirm",
    summary = "Confirm a provider link on Latchkey's page",
    description = "Posted by the HTML page the callback of a link shows (it names the Latchkey account and the provider's account): `confirm` is the page's one-time token (10 minutes), `decision` is `link` (the default) or `cancel`. Needs the `latchkey_link` cookie of the browser that asked for the link. Links the identity and mails a notice to the account, then redirects to `redirect_to?linked=<provider>` (or `?link_cancelled=<provider>`).",
    params(
        ("provider" = String, Path, description = "A configured provider's name (`oidc_providers`).")
    ),
    request_body(content = ref("#/components/schemas/OauthLinkConfirmRequest"), content_type = "application/x-www-form-urlencoded"),
    responses(
        responses::PublicRoute,
        (status = 303, description = "Back to the app.", headers(("Location" = String, description = ""))),
        (status = 400, response = inline(errors::InvalidRequest)),
        (status = 401, response = inline(errors::ExternalLoginFailed)),
        (status = 409, response = inline(errors::Conflict))
    )
)]
pub async fn link_confirm(
    State(app): State<AppState>,
    Client(client): Client,
    ApiPath(provider): ApiPath<String>,
    headers: HeaderMap,
    body: String,
) -> ApiResult<Response> {
    let form: ConfirmForm = serde_urlencoded_form(&body)?;
    let binding = read_cookie(&headers, LINK_COOKIE);
    let cancel = match form.decision.as_deref() {
        None | Some("link") => false,
        Some("cancel") => true,
        Some(_) => return Err(ApiError::invalid_request("decision is link or cancel")),
    };
    let location = if cancel {
        let to = app
            .auth
            .cancel_link(&form.confirm, &provider, binding.as_deref())
            .await?;
        app.oidc.with_param(&to, "link_cancelled", &provider)
    } else {
        let to = app
            .auth
            .confirm_link(&form.confirm, &provider, binding.as_deref(), &client)
            .await?;
        app.oidc.with_param(&to, "linked", &provider)
    };
    Ok(redirect(
        StatusCode::SEE_OTHER,
        &location,
        named_cookie(&app, LINK_COOKIE, "", 0),
    ))
}

#[utoipa::path(
    post,
    path = "/auth/exchange",
    tag = "sign-in",
    operation_id = "exchange",
    summary = "Trade the one-time code from a provider sign-in",
    description = "Single use. A known person gets the usual token response, or, when the account has a second factor (and the provider is not marked `satisfies_mfa`), `status: mfa_required` with an `mfa_token` for `POST /api/v1/auth/mfa/verify`, as after a password. A new person gets `signup_required` with a `signup_token` (10 minutes, single use) for `/api/v1/auth/signup/complete`; a provider that does not vouch for the address (`email_verified` not true) cannot sign anyone up (`external_login_failed`): sign up with a mailed code, then link the provider. `403 email_not_verified` when verified addresses are required and the account's is not.",
    request_body(content = latchkey_api::ExchangeRequest, content_type = "application/json"),
    responses(
        responses::PublicRoute,
        responses::JsonBody,
        (status = 200, description = "Tokens, the second step of MFA, or the sign-up step.", body = ref("#/components/schemas/ExchangeResponse200"), headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 401, response = inline(errors::ExternalLoginFailed)),
        (status = 403, description = "`account_disabled`, or `email_not_verified` when verified addresses are required, or `forbidden` for a new person while sign-up is closed (`LATCHKEY_SIGNUP=closed`).", body = latchkey_api::ErrorBody, headers(("Cache-Control" = String, description = "`no-store`.")))
    )
)]
pub async fn exchange(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    Client(client): Client,
    ApiJson(req): ApiJson<ExchangeRequest>,
) -> ApiResult<Response> {
    match app
        .auth
        .exchange_code(&req.code, req.code_verifier.as_deref(), &client)
        .await
        .map_err(super::answers::failed_login)?
    {
        Exchanged::Signed(grant) => {
            super::metrics::outcome("latchkey_logins_total", Ok(()));
            Ok(token_response(
                &app,
                StatusCode::OK,
                *grant,
                super::refresh_cookie::wanted(&app, &headers),
            ))
        }
        Exchanged::MfaRequired { mfa_token } => super::answers::login_answer(
            &app,
            latchkey_core::LoginOutcome::MfaRequired {
                mfa_token: Some(mfa_token),
            },
            None,
            &headers,
        ),
        Exchanged::SignupRequired {
            signup_token,
            email,
            expires_in_secs,
            email_code_required,
        } => {
            let mut response = axum::Json(SignupRequiredResponse {
                signup_required: true,
                signup_token,
                email,
                expires_in: expires_in_secs,
                email_code_required,
            })
            .into_response();
            no_store(response.headers_mut());
            Ok(response)
        }
    }
}

#[utoipa::path(
    post,
    path = "/auth/signup/complete",
    tag = "sign-in",
    operation_id = "signupComplete",
    summary = "Finish a sign-up that started at a provider",
    description = "Takes the phone number (E.164) and creates the account: without a referral code the person founds an organization and is its admin; with one they join it as a member. The answer carries the default API key, shown this once. An address that already has an account is `email_taken` (sign in with it and link the provider from there). A rejected phone or referral code leaves the `signup_token` usable.\n\nWhen the sign-up step said `email_code_required` (the provider does not vouch for the address), `email_code` must carry the six-digit code mailed to it: missing is `400 invalid_request`, wrong is `401 invalid_session_code` (5 tries, the `signup_token` stays usable meanwhile). An address is never stored as an account's address without proof.",
    request_body(content = latchkey_api::SignupCompleteRequest, content_type = "application/json"),
    responses(
        responses::PublicRoute,
        responses::JsonBody,
        (status = 201, description = "A new session.", body = latchkey_api::TokenResponse, headers(("Cache-Control" = String, description = "`no-store`."), ("Pragma" = String, description = "`no-cache`."))),
        (status = 401, description = "`external_login_failed` (the `signup_token` is unknown, expired or used; or no code could be mailed for an address the provider does not vouch for), or `invalid_session_code` (a wrong `email_code`).", body = latchkey_api::ErrorBody, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 403, description = "`forbidden`: sign-up is closed, or invite-only (`LATCHKEY_SIGNUP`) and no `referral_code` came with the start or with this request; the `signup_token` stays usable.", body = latchkey_api::ErrorBody, headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 409, response = inline(errors::EmailTaken)),
        (status = 422, response = inline(errors::SignupRejected)),
        (status = 429, response = inline(errors::RateLimited))
    )
)]
pub async fn signup_complete(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    Client(client): Client,
    ApiJson(req): ApiJson<SignupCompleteRequest>,
) -> ApiResult<Response> {
    let grant = app
        .auth
        .complete_signup(
            CompleteSignup {
                signup_token: req.signup_token,
                email_code: req.email_code,
                phone: req.phone,
                name: req.name,
                referral_code: req.referral_code,
            },
            &client,
        )
        .await?;
    let cookie = super::refresh_cookie::wanted(&app, &headers);
    Ok(token_response(&app, StatusCode::CREATED, grant, cookie))
}

fn query<T: DeserializeOwned>(uri: &Uri) -> ApiResult<T> {
    Query::<T>::try_from_uri(uri)
        .map(|Query(q)| q)
        .map_err(|_| ApiError::invalid_request("the query string is malformed"))
}

fn serde_urlencoded_form<T: DeserializeOwned>(body: &str) -> ApiResult<T> {
    let uri: Uri = format!("/?{body}")
        .parse()
        .map_err(|_| ApiError::invalid_request("the form body is malformed"))?;
    query(&uri)
}
