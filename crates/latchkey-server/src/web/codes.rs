//! Signing in with a mailed code: "email me a code" (`POST /login/code/send`), the code page
//! (`POST /login/code`), and the magic link from the mail (`GET /login?login_id&code`), which
//! shows one button and spends nothing: mail scanners and link previews open links before
//! people do.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_api::ErrorCode;
use latchkey_core::auth::LoginOutcome;

use super::form::Form;
use super::mfa::{self, Step};
use super::page::{self, Layout, Problems, render};
use super::text::EN;
use crate::http::error::ApiError;
use crate::http::extract::Client;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "code.html")]
pub struct CodePage {
    pub layout: Layout,
    pub email: String,
    pub login_id: String,
    pub next: Option<String>,
    pub minutes: u64,
    pub notice: Option<&'static str>,
    /// Seconds until the server takes another send, when it refused one.
    pub wait_secs: Option<u64>,
}

#[derive(Template)]
#[template(path = "magic_link.html")]
pub struct MagicLinkPage {
    pub layout: Layout,
    pub login_id: String,
    pub code: String,
}

/// `GET /login?login_id&code`: the button that signs in. Nothing is spent by showing it.
pub fn magic_link(app: &AppState, login_id: &str, code: &str) -> Response {
    let page = MagicLinkPage {
        layout: Layout::new(app, EN.signin.link_title, None),
        login_id: login_id.to_owned(),
        code: code.to_owned(),
    };
    render(StatusCode::OK, &page)
}

struct Shown<'a> {
    email: &'a str,
    login_id: &'a str,
    next: Option<String>,
}

fn code_page(
    app: &AppState,
    status: StatusCode,
    shown: Shown<'_>,
    problems: Problems,
    notice: Option<&'static str>,
    wait_secs: Option<u64>,
) -> Response {
    let page = CodePage {
        layout: Layout::new(app, EN.signin.code_title, None).with_problems(problems),
        email: shown.email.to_owned(),
        login_id: shown.login_id.to_owned(),
        next: shown.next,
        minutes: app.config.login_code_ttl.as_secs().div_ceil(60),
        notice,
        wait_secs,
    };
    render(status, &page)
}

/// `POST /login/code/send`: mails a code (and its link), from the sign-in page or again from
/// the code page (`login_id` of the code shown so far).
pub async fn send(State(app): State<AppState>, Client(client): Client, Form(f): Form) -> Response {
    let t = &EN.signin;
    let email = f.text("email");
    let next = page::local_path(f.get("next"));
    let previous = f.text("login_id");
    let again = !previous.is_empty();
    match app.auth.send_login_code(&email, &client).await {
        Ok(sent) => {
            let notice = again.then_some(t.code_sent_again);
            let shown = Shown {
                email: &email,
                login_id: &sent.login_id,
                next,
            };
            code_page(
                &app,
                StatusCode::OK,
                shown,
                Problems::default(),
                notice,
                None,
            )
        }
        Err(e) => {
            let e = ApiError::from(e);
            let wait = e.retry_after_secs;
            if again {
                // The code already mailed still works: stay on its page, say when to retry.
                let (status, problems) = super::refusal::refusal(&e);
                let shown = Shown {
                    email: &email,
                    login_id: &previous,
                    next,
                };
                return code_page(&app, status, shown, problems, None, wait);
            }
            let (status, problems) = match e.code {
                ErrorCode::InvalidEmail | ErrorCode::InvalidRequest => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Problems::one(Some("email"), t.invalid_email),
                ),
                _ => super::refusal::refusal(&e),
            };
            super::signin_page::sign_in_page(&app, status, email, next, problems, None)
        }
    }
}

/// `POST /login/code`: the code typed (or the magic link's button), with the second factor
/// when the account has one.
pub async fn verify(
    State(app): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    Form(f): Form,
) -> Response {
    let t = &EN.signin;
    let login_id = f.text("login_id");
    // People paste "123 456" or "123-456": only the digits count.
    let code: String = f
        .text("code")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let email = f.text("email");
    let next = page::local_path(f.get("next"));
    let mfa_code = f.get("mfa_code").map(str::trim).map(str::to_owned);
    let shown = |next| Shown {
        email: &email,
        login_id: &login_id,
        next,
    };
    if code.is_empty() {
        let problems = Problems::one(Some("code"), t.code_required);
        return code_page(
            &app,
            StatusCode::UNPROCESSABLE_ENTITY,
            shown(next),
            problems,
            None,
            None,
        );
    }
    if mfa_code.as_deref() == Some("") {
        let problems = Problems::one(Some("mfa_code"), t.mfa_required);
        let step = Step::Code { login_id, code };
        return mfa::page(
            &app,
            StatusCode::UNPROCESSABLE_ENTITY,
            step,
            next,
            problems,
            None,
        );
    }
    let outcome = app
        .auth
        .verify_login_code(&login_id, &code, mfa_code.as_deref(), &client)
        .await;
    match outcome {
        Ok(LoginOutcome::Signed(grant)) => {
            super::hosted::finish_sign_in(&app, &headers, &grant, next.as_deref()).await
        }
        Ok(LoginOutcome::MfaRequired { .. }) => {
            let step = Step::Code { login_id, code };
            mfa::page(&app, StatusCode::OK, step, next, Problems::default(), None)
        }
        Ok(_) => page::unavailable(&app),
        Err(e) => {
            let e = ApiError::from(e);
            if mfa_code.is_some() {
                let step = Step::Code { login_id, code };
                return mfa::refused(&app, e, step, next);
            }
            match e.code {
                ErrorCode::InvalidSessionCode if email.is_empty() => {
                    // The magic link's button: nothing to show again but the start.
                    super::signin_page::restart(&app, t.code_wrong)
                }
                ErrorCode::InvalidSessionCode => {
                    let problems = Problems::one(Some("code"), t.code_wrong);
                    code_page(
                        &app,
                        StatusCode::UNAUTHORIZED,
                        shown(next),
                        problems,
                        None,
                        None,
                    )
                }
                _ => {
                    let (status, problems) = super::refusal::refusal(&e);
                    code_page(
                        &app,
                        status,
                        shown(next),
                        problems,
                        None,
                        e.retry_after_secs,
                    )
                }
            }
        }
    }
}
