//! `/account/security`: turn two-factor authentication (TOTP) on and off. The same domain
//! calls as `/api/v1/auth/mfa/totp/…`, so the same rules hold: starting needs a recent
//! re-authentication (the page asks for the password inline), confirming takes a first code
//! and returns the recovery codes, shown this once; turning off takes a current code.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use latchkey_api::ErrorCode;
use latchkey_core::error::AuthError;

use super::reauth;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::web::extract::SignedIn;
use crate::web::form::{Form, Query};
use crate::web::page::{self, Layout, Problems, render, see_other};
use crate::web::session::WebUser;
use crate::web::text::EN;

/// An enrolment under way: what the authenticator app needs.
pub struct Enrol {
    pub secret: String,
    /// The QR code as a `data:` URI (CSP allows images from `data:`, not inline styles).
    pub qr: Option<String>,
}

#[derive(Template)]
#[template(path = "account_security.html")]
pub struct SecurityPage {
    pub layout: Layout,
    pub on: bool,
    pub enrol: Option<Enrol>,
    /// Recovery codes, shown this once, one a line.
    pub codes: Option<String>,
    /// Starting needs a recent re-authentication: the form asks for the password.
    pub reauth: bool,
    pub notice: Option<&'static str>,
}

struct View {
    status: StatusCode,
    enrol: Option<Enrol>,
    codes: Option<String>,
    reauth: bool,
    notice: Option<&'static str>,
    problems: Problems,
}

impl View {
    fn ok() -> View {
        View {
            status: StatusCode::OK,
            enrol: None,
            codes: None,
            reauth: false,
            notice: None,
            problems: Problems::default(),
        }
    }
}

async fn render_view(app: &AppState, user: &WebUser, v: View) -> Response {
    let Ok(on) = app.auth.totp_on(&user.principal).await else {
        return page::unavailable(app);
    };
    let page = SecurityPage {
        layout: Layout::new(app, EN.totp.title, Some(user)).with_problems(v.problems),
        on,
        enrol: v.enrol,
        codes: v.codes,
        reauth: v.reauth,
        notice: v.notice,
    };
    render(v.status, &page)
}

/// `GET /account/security`.
pub async fn show(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Query(q): Query,
) -> Response {
    let mut v = View::ok();
    v.notice = match q.get("done") {
        Some("on") => Some(EN.totp.turned_on),
        Some("off") => Some(EN.totp.turned_off),
        _ => None,
    };
    render_view(&app, &user, v).await
}

/// `POST /account/security/totp`: a new pending secret, shown with its QR code.
pub async fn start(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Form(f): Form,
) -> Response {
    let mut v = View::ok();
    v.reauth = reauth::given(&f);
    if let Err(e) = reauth::with_form_password(&app, &user, &f).await {
        return refused(&app, &user, v, e, None).await;
    }
    match app.auth.totp_enroll(&user.principal).await {
        Ok(e) => {
            let svg = base64::engine::general_purpose::STANDARD.encode(e.qr_svg.as_bytes());
            v.reauth = false;
            v.enrol = Some(Enrol {
                secret: e.secret,
                qr: Some(format!("data:image/svg+xml;base64,{svg}")),
            });
            render_view(&app, &user, v).await
        }
        Err(e) => refused(&app, &user, v, e, None).await,
    }
}

/// `POST /account/security/totp/confirm`: turns TOTP on with a first code and shows the
/// recovery codes this once.
pub async fn confirm(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Form(f): Form,
) -> Response {
    let mut v = View::ok();
    // The pending secret, as the page showed it, to show it again if the code is refused (the
    // QR code is not: the app has it by now, or the secret can be typed).
    let secret = f.text("secret");
    v.enrol = (!secret.is_empty()).then_some(Enrol { secret, qr: None });
    let code = f.text("code");
    if code.is_empty() {
        v.status = StatusCode::UNPROCESSABLE_ENTITY;
        v.problems.add(Some("code"), EN.totp.code_required);
        return render_view(&app, &user, v).await;
    }
    match app.auth.totp_confirm(&user.principal, &code).await {
        Ok(codes) => {
            v.enrol = None;
            v.codes = Some(codes.join("\n"));
            render_view(&app, &user, v).await
        }
        Err(e) => refused(&app, &user, v, e, Some("code")).await,
    }
}

/// `POST /account/security/totp/disable`: turns TOTP off with a current code.
pub async fn disable(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Form(f): Form,
) -> Response {
    let mut v = View::ok();
    let code = f.text("off_code");
    if code.is_empty() {
        v.status = StatusCode::UNPROCESSABLE_ENTITY;
        v.problems.add(Some("off_code"), EN.totp.code_required);
        return render_view(&app, &user, v).await;
    }
    match app.auth.totp_disable(&user.principal, &code).await {
        Ok(()) => see_other("/account/security?done=off"),
        Err(e) => refused(&app, &user, v, e, Some("off_code")).await,
    }
}

/// The page again with what went wrong, in the page's words where it has them.
async fn refused(
    app: &AppState,
    user: &WebUser,
    mut v: View,
    e: AuthError,
    code_field: Option<&'static str>,
) -> Response {
    let t = &EN.totp;
    let e = ApiError::from(e);
    v.status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    // A wrong code of a form with a code field is that code's problem, not the prompt's.
    let prompted = match e.code {
        ErrorCode::InvalidCredentials if code_field.is_some() => None,
        code => reauth::prompt(code, t.reauth_needed, t.reauth_wrong),
    };
    if let Some(say) = prompted {
        v.reauth = true;
        v.enrol = None;
        v.problems.add(Some(reauth::FIELD), say);
        return render_view(app, user, v).await;
    }
    match e.code {
        ErrorCode::ServiceUnavailable => return page::unavailable(app),
        ErrorCode::InvalidMfaCode => v.problems.add(code_field, t.code_wrong),
        ErrorCode::RateLimited => v.problems.add(None, EN.signin.rate_limited),
        _ => v.problems.add(None, e.message),
    }
    render_view(app, user, v).await
}
