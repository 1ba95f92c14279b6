//! Signing in and up through a provider from the pages. The buttons on `/login` and `/signup`
//! open `/provider/{name}/start`, which starts the same flow as the API's
//! `/api/v1/oauth/{name}/start`, with this server's return page as `redirect_to` and a PKCE
//! challenge whose verifier only this browser holds (in a signed cookie): a one-time code
//! that leaks from the return page's address is useless elsewhere, and a code from someone
//! else's sign-in cannot be slipped into this browser. `/provider/return` trades the code for
//! a web session, the second-factor step, or, for a new person, the phone-number step
//! (`/provider/signup`) before the account exists.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::AuthError;
use latchkey_core::auth::SignupMode;
use latchkey_core::auth::social::{CompleteSignup, Exchanged};
use latchkey_core::oidc::{FLOW_TTL_SECS, s256};
use latchkey_core::secret::{ct_eq, hmac_b64, random_token};
use serde::{Deserialize, Serialize};

use super::extract::MaybeSignedIn;
use super::form::{Form, Query};
use super::onward::Onward;
use super::page::{Layout, MessagePage, Problems, render, see_other};
use super::signup::{non_empty, problems_of, welcome};
use super::text::EN;
use crate::http::cookies::cookie;
use crate::http::extract::Client;
use crate::state::AppState;

/// Where the provider's callback sends the browser back (always on the allow-list).
pub const RETURN_PATH: &str = latchkey_core::oidc::PAGES_RETURN_PATH;

/// The browser's half of a provider sign-in started on the pages.
const COOKIE: &str = "__Host-latchkey-provider";
/// The time at the provider plus the phone-number step.
const COOKIE_SECS: i64 = FLOW_TTL_SECS + 900;

/// What the provider cookie carries, signed: the PKCE verifier, where to go afterwards, and
/// an invitation's referral code.
#[derive(Serialize, Deserialize)]
struct Started {
    verifier: String,
    onward: Onward,
    referral: Option<String>,
    /// The provider's name, for the pages that follow.
    provider: String,
}

fn label(app: &AppState, provider: &str) -> String {
    app.oidc
        .provider_list()
        .into_iter()
        .find(|(name, _)| name == provider)
        .map_or_else(
            || provider.to_owned(),
            |(n, k)| super::signup::display_name(&n, &k),
        )
}

/// `GET /provider/{name}/start`: to the provider.
pub async fn start(
    State(app): State<AppState>,
    Path(provider): Path<String>,
    MaybeSignedIn(user): MaybeSignedIn,
    Query(q): Query,
) -> Response {
    let Some(onward) = Onward::read(&app, &q) else {
        return super::onward::refused(&app);
    };
    // Signed in already ("automatic login check"): straight on.
    if user.is_some() {
        return see_other(&onward.after_sign_in());
    }
    if app.oidc.require_provider(&provider).is_err() {
        return failed(&app, StatusCode::NOT_FOUND, EN.provider.failed);
    }
    let started = Started {
        verifier: random_token::<32>(),
        onward,
        referral: non_empty(&q.text("referral_code")),
        provider: provider.clone(),
    };
    let now = app.auth.clock().now_secs();
    let flow = app
        .oidc
        .start(
            &provider,
            &app.oidc.pages_return_url(),
            started.referral.clone(),
            Some(s256(&started.verifier)),
            None,
            now,
        )
        .await;
    match flow {
        Ok(flow) => {
            let mut response = see_other(&flow.location);
            let h = response.headers_mut();
            h.append(
                header::SET_COOKIE,
                crate::http::social_cookies::flow_cookie(
                    &app,
                    &flow.cookie,
                    FLOW_TTL_SECS,
                    flow.form_post,
                ),
            );
            set_cookie(&mut response, &seal(&app, &started), COOKIE_SECS);
            response
        }
        Err(e) => {
            tracing::warn!(%provider, reason = %e, "provider sign-in could not start");
            failed(&app, StatusCode::BAD_GATEWAY, EN.provider.unreachable)
        }
    }
}

/// `GET /provider/return?code=…`: where the provider's callback sends the browser.
pub async fn finish(
    State(app): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    Query(q): Query,
) -> Response {
    let (Some(started), Some(code)) = (open(&app, &headers), q.get("code")) else {
        // Cancelled or refused at the provider (`?error=`), or not started in this browser.
        let mut response = failed(&app, StatusCode::BAD_REQUEST, EN.provider.failed);
        set_cookie(&mut response, "", 0);
        return response;
    };
    match app
        .auth
        .exchange_code(code, Some(&started.verifier), &client)
        .await
    {
        Ok(Exchanged::Signed(grant)) => {
            crate::http::metrics::outcome("latchkey_logins_total", Ok(()));
            let mut response = see_other(&started.onward.after_sign_in());
            super::session::sign_in(&app, &mut response, &grant);
            set_cookie(&mut response, "", 0);
            response
        }
        Ok(Exchanged::MfaRequired { mfa_token }) => {
            let mut response = mfa_step(&app, mfa_token, &started.onward);
            set_cookie(&mut response, "", 0);
            response
        }
        Ok(Exchanged::SignupRequired {
            signup_token,
            email,
            email_code_required,
            ..
        }) => {
            let step = Step {
                signup_token,
                email: email.unwrap_or_default(),
                email_code_required,
            };
            let input = StepInput {
                phone: country_hint(&headers),
                name: String::new(),
                referral_code: started.referral.clone().unwrap_or_default(),
                email_code: String::new(),
            };
            phone_page(
                &app,
                StatusCode::OK,
                &started,
                step,
                input,
                Problems::default(),
            )
        }
        Err(e) => {
            let message = match e {
                AuthError::AccountDisabled => EN.signin.account_disabled,
                AuthError::EmailNotVerified => EN.signin.email_not_verified,
                AuthError::Forbidden(_) => EN.provider.closed,
                AuthError::Unavailable(_) => return super::page::unavailable(&app),
                _ => EN.provider.failed,
            };
            let code = crate::http::error::ApiError::from(e).code;
            crate::http::metrics::outcome("latchkey_logins_total", Err(code));
            let mut response = failed(&app, StatusCode::UNAUTHORIZED, message);
            set_cookie(&mut response, "", 0);
            response
        }
    }
}

/// The sign-up step as the provider left it.
struct Step {
    signup_token: String,
    email: String,
    email_code_required: bool,
}

struct StepInput {
    phone: String,
    name: String,
    referral_code: String,
    email_code: String,
}

#[derive(Template)]
#[template(path = "provider_signup.html")]
pub struct PhonePage {
    pub layout: Layout,
    pub intro: String,
    pub signup_token: String,
    pub email_code_required: bool,
    pub email_code_hint: String,
    pub email_code: String,
    pub phone: String,
    pub phone_hint: String,
    pub name: String,
    pub referral_code: String,
    pub referral_required: bool,
    pub email: String,
}

fn phone_page(
    app: &AppState,
    status: StatusCode,
    started: &Started,
    step: Step,
    input: StepInput,
    problems: Problems,
) -> Response {
    let t = &EN.provider;
    let page = PhonePage {
        layout: Layout::new(app, t.phone_title, None).with_problems(problems),
        intro: t
            .phone_intro
            .replace("{email}", &step.email)
            .replace("{provider}", &label(app, &started.provider)),
        signup_token: step.signup_token,
        email_code_required: step.email_code_required,
        email_code_hint: t.email_code_hint.replace("{email}", &step.email),
        email_code: input.email_code,
        phone: input.phone,
        phone_hint: t.phone_hint.replace("{example}", "+44 20 7946 0958"),
        name: input.name,
        referral_code: input.referral_code,
        referral_required: app.auth.settings().signup == SignupMode::Invite
            && started.referral.is_none(),
        email: step.email,
    };
    render(status, &page)
}

/// `POST /provider/signup`: the phone number (and what else the step needs); the account
/// is created now, and the person lands signed in with their key shown once.
pub async fn complete(
    State(app): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    Form(f): Form,
) -> Response {
    let Some(started) = open(&app, &headers) else {
        return failed(&app, StatusCode::BAD_REQUEST, EN.provider.failed);
    };
    let t = &EN.provider;
    let step = Step {
        signup_token: f.text("signup_token"),
        email: f.text("email"),
        email_code_required: f.get("email_code_required") == Some("1"),
    };
    let input = StepInput {
        phone: f.text("phone"),
        name: f.text("name"),
        referral_code: f.text("referral_code"),
        email_code: f.text("email_code"),
    };
    let mut problems = Problems::default();
    if input.phone.is_empty() {
        problems.add(Some("phone"), t.phone_required);
    }
    if step.email_code_required && input.email_code.is_empty() {
        problems.add(Some("email_code"), t.email_code_required);
    }
    if !problems.is_empty() {
        return phone_page(
            &app,
            StatusCode::UNPROCESSABLE_ENTITY,
            &started,
            step,
            input,
            problems,
        );
    }
    let request = CompleteSignup {
        signup_token: step.signup_token.clone(),
        email_code: non_empty(&input.email_code),
        phone: input.phone.clone(),
        name: non_empty(&input.name),
        referral_code: non_empty(&input.referral_code),
    };
    match app.auth.complete_signup(request, &client).await {
        Ok(grant) => {
            let mut response = welcome(&app, grant, &started.onward);
            set_cookie(&mut response, "", 0);
            response
        }
        // The step is spent or expired: only a new start helps.
        Err(AuthError::ExternalLogin(_)) => failed(&app, StatusCode::UNAUTHORIZED, t.failed),
        Err(AuthError::Unavailable(_)) => super::page::unavailable(&app),
        Err(e) => {
            let (status, problems) = problems_of(e);
            phone_page(&app, status, &started, step, input, problems)
        }
    }
}

/// The account asks for its second factor. Until the pages' second-factor step takes a
/// provider's sign-in, the person signs in with the password and the code.
fn mfa_step(
    app: &AppState,
    _mfa_token: latchkey_core::secret::Secret,
    onward: &Onward,
) -> Response {
    let page = MessagePage {
        layout: Layout::new(app, EN.provider.failed_title, None),
        message: EN.provider.second_factor.to_owned(),
        link: Some((
            format!("/login{}", onward.query()),
            EN.common.back_to_sign_in,
        )),
    };
    render(StatusCode::UNAUTHORIZED, &page)
}

/// A provider sign-in that cannot go on, with the way back to the start.
fn failed(app: &AppState, status: StatusCode, message: &str) -> Response {
    let page = MessagePage {
        layout: Layout::new(app, EN.provider.failed_title, None),
        message: message.to_owned(),
        link: Some(("/login".to_owned(), EN.provider.start_again)),
    };
    render(status, &page)
}

fn seal(app: &AppState, started: &Started) -> String {
    let json = serde_json::to_vec(started).unwrap_or_default();
    let body = URL_SAFE_NO_PAD.encode(json);
    let mac = hmac_b64(&app.web_key, format!("provider|{body}").as_bytes());
    format!("{body}.{mac}")
}

fn open(app: &AppState, headers: &HeaderMap) -> Option<Started> {
    let value = cookie(headers, COOKIE)?;
    let (body, given) = value.rsplit_once('.')?;
    let mac = hmac_b64(&app.web_key, format!("provider|{body}").as_bytes());
    // Compared in constant time: a forged signature must not be found byte by byte.
    if !ct_eq(given.as_bytes(), mac.as_bytes()) {
        return None;
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
}

/// HttpOnly, Secure, `__Host-` (this host only), `SameSite=Lax`: it must come along on the
/// provider's redirect back, a top-level navigation from another site.
fn set_cookie(response: &mut Response, value: &str, max_age: i64) {
    let v = format!("{COOKIE}={value}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age={max_age}");
    if let Ok(v) = HeaderValue::from_str(&v) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The calling code of the browser's first region in `Accept-Language` (`en-GB` → `+44`), as
/// a start for the phone field; empty when unknown.
fn country_hint(headers: &HeaderMap) -> String {
    let region = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|tag| tag.split(';').next())
        .and_then(|tag| tag.trim().split(['-', '_']).nth(1))
        .map(str::to_ascii_uppercase);
    let code = match region.as_deref() {
        Some("US" | "CA") => "1",
        Some("GB") => "44",
        Some("DE") => "49",
        Some("FR") => "33",
        Some("ES") => "34",
        Some("IT") => "39",
        Some("NL") => "31",
        Some("BE") => "32",
        Some("CH") => "41",
        Some("AT") => "43",
        Some("SE") => "46",
        Some("NO") => "47",
        Some("DK") => "45",
        Some("FI") => "358",
        Some("PL") => "48",
        Some("PT") => "351",
        Some("IE") => "353",
        Some("IN") => "91",
        Some("AU") => "61",
        Some("NZ") => "64",
        Some("BR") => "55",
        Some("MX") => "52",
        Some("JP") => "81",
        Some("CN") => "86",
        Some("KR") => "82",
        Some("SG") => "65",
        Some("ZA") => "27",
        _ => return String::new(),
    };
    format!("+{code} ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phone_field_starts_with_the_browsers_country_code() {
        let hint = |lang: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::ACCEPT_LANGUAGE,
                HeaderValue::from_str(lang).unwrap(),
            );
            country_hint(&h)
        };
        assert_eq!(hint("en-GB,en;q=0.9"), "+44 ");
        assert_eq!(hint("de-de"), "+49 ");
        assert_eq!(hint("en-US"), "+1 ");
        assert_eq!(hint("fr"), "");
        assert_eq!(country_hint(&HeaderMap::new()), "");
    }
}
