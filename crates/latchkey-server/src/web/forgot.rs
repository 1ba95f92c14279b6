//! `/forgot-password`: mails a reset link. Every valid address gets the same answer, in the
//! same time (the domain looks the account up after answering), under the same limits as
//! `POST /api/v1/auth/password/forgot`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::AuthError;

use super::extract::MaybeSignedIn;
use super::form::{Form, Query};
use super::page::{self, Layout, MessagePage, Problems, render};
use super::session::WebUser;
use super::text::EN;
use crate::http::extract::Client;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "forgot_password.html")]
pub struct ForgotPage {
    pub layout: Layout,
    pub email: String,
}

/// `GET /forgot-password` (`?email=` fills the field, from the sign-in page).
pub async fn form(
    State(app): State<AppState>,
    MaybeSignedIn(user): MaybeSignedIn,
    Query(q): Query,
) -> Response {
    let email = q.text("email");
    forgot_page(
        &app,
        StatusCode::OK,
        email,
        user.as_deref(),
        Problems::default(),
    )
}

/// `user`: a browser signed in (to any account) gets its form bound to that session.
fn forgot_page(
    app: &AppState,
    status: StatusCode,
    email: String,
    user: Option<&WebUser>,
    problems: Problems,
) -> Response {
    let page = ForgotPage {
        layout: Layout::new(app, EN.forgot.title, user).with_problems(problems),
        email,
    };
    render(status, &page)
}

/// `POST /forgot-password`.
pub async fn submit(
    State(app): State<AppState>,
    Client(client): Client,
    MaybeSignedIn(user): MaybeSignedIn,
    Form(f): Form,
) -> Response {
    let user = user.as_deref();
    let t = &EN.forgot;
    let email = f.text("email");
    if email.is_empty() {
        let problems = Problems::one(Some("email"), t.email_required);
        return forgot_page(
            &app,
            StatusCode::UNPROCESSABLE_ENTITY,
            email,
            user,
            problems,
        );
    }
    match app.auth.forgot_password(&email, &client).await {
        Ok(()) => {
            let page = MessagePage {
                layout: Layout::new(&app, t.sent_title, None),
                message: t.sent.replace("{email}", &email),
                link: Some(("/login".to_owned(), t.back)),
            };
            render(StatusCode::OK, &page)
        }
        Err(AuthError::InvalidEmail) => {
            let problems = Problems::one(Some("email"), t.invalid_email);
            forgot_page(
                &app,
                StatusCode::UNPROCESSABLE_ENTITY,
                email,
                user,
                problems,
            )
        }
        Err(AuthError::Unavailable(_)) => page::unavailable(&app),
        Err(e) => {
            let (status, problems) =
                super::refusal::refusal(&crate::http::error::ApiError::from(e));
            forgot_page(&app, status, email, user, problems)
        }
    }
}
