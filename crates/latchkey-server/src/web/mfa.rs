//! The second step of a sign-in: a TOTP code or a recovery code, after a password
//! (`POST /login/mfa` with the challenge token) or after a mailed code (`POST /login/code`
//! again, with the code and the second factor).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_api::ErrorCode;
use latchkey_core::auth::LoginOutcome;

use super::form::Form;
use super::page::{self, Layout, Problems, render};
use super::text::EN;
use crate::http::error::ApiError;
use crate::http::extract::Client;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "mfa.html")]
pub struct MfaPage {
    pub layout: Layout,
    /// After a password: the challenge token.
    pub mfa_token: Option<String>,
    /// After a mailed code: the login and its code, sent again with the second factor.
    pub login_id: Option<String>,
    pub code: Option<String>,
    pub next: Option<String>,
    pub attempts_left: Option<u32>,
}

/// Where the second step continues from.
pub enum Step {
    Password { mfa_token: String },
    Code { login_id: String, code: String },
}

pub fn page(
    app: &AppState,
    status: StatusCode,
    step: Step,
    next: Option<String>,
    problems: Problems,
    attempts_left: Option<u32>,
) -> Response {
    let (mfa_token, login_id, code) = match step {
        Step::Password { mfa_token } => (Some(mfa_token), None, None),
        Step::Code { login_id, code } => (None, Some(login_id), Some(code)),
    };
    let page = MfaPage {
        layout: Layout::new(app, EN.signin.mfa_title, None).with_problems(problems),
        mfa_token,
        login_id,
        code,
        next,
        attempts_left,
    };
    render(status, &page)
}

/// `POST /login/mfa`: the second factor after a password.
pub async fn submit(
    State(app): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    Form(f): Form,
) -> Response {
    let t = &EN.signin;
    let token = f.text("mfa_token");
    let code = f.text("mfa_code");
    let next = page::local_path(f.get("next"));
    let step = || Step::Password {
        mfa_token: token.clone(),
    };
    if code.is_empty() {
        let problems = Problems::one(Some("mfa_code"), t.mfa_required);
        return page(
            &app,
            StatusCode::UNPROCESSABLE_ENTITY,
            step(),
            next,
            problems,
            None,
        );
    }
    match app.auth.verify_mfa(&token, &code, &client).await {
        Ok(LoginOutcome::Signed(grant)) => {
            super::hosted::finish_sign_in(&app, &headers, &grant, next.as_deref()).await
        }
        Ok(_) => page::unavailable(&app),
        Err(e) => refused(&app, ApiError::from(e), step(), next),
    }
}

/// A refused second factor: the page again with the tries left, or back to the start when
/// the challenge is spent.
pub fn refused(app: &AppState, e: ApiError, step: Step, next: Option<String>) -> Response {
    let t = &EN.signin;
    match e.code {
        ErrorCode::InvalidMfaCode => {
            let left = e
                .data
                .as_ref()
                .and_then(|d| d.get("attempts_left"))
                .and_then(serde_json::Value::as_u64)
                .map(|n| n as u32);
            if left == Some(0) {
                return super::signin_page::restart(app, t.mfa_expired);
            }
            let problems = Problems::one(Some("mfa_code"), t.mfa_wrong);
            page(app, StatusCode::UNAUTHORIZED, step, next, problems, left)
        }
        ErrorCode::InvalidToken | ErrorCode::InvalidSessionCode => {
            super::signin_page::restart(app, t.mfa_expired)
        }
        _ => {
            let (status, problems) = super::refusal::refusal(&e);
            page(app, status, step, next, problems, None)
        }
    }
}
