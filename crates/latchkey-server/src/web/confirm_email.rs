//! `/confirm-email?token=…`: the link mailed to a new address. The GET only shows a button
//! (mail scanners and link previews fetch links before people do, and must not spend it); the
//! button's POST confirms the change through the domain, as `POST /api/v1/me/email/confirm`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::AuthError;

use super::extract::MaybeSignedIn;
use super::form::{Form, Query};
use super::page::{self, Layout, MessagePage, render};
use super::text::EN;
use crate::http::extract::Client;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "confirm_email.html")]
pub struct ConfirmEmailPage {
    pub layout: Layout,
    pub token: String,
}

/// `GET /confirm-email?token=lke_…`: the page with the button; nothing is spent.
pub async fn form(
    State(app): State<AppState>,
    MaybeSignedIn(user): MaybeSignedIn,
    Query(q): Query,
) -> Response {
    let token = q.text("token");
    if token.is_empty() {
        return message(
            &app,
            StatusCode::GONE,
            EN.confirm_email.dead_title,
            EN.confirm_email.dead.to_owned(),
        );
    }
    let page = ConfirmEmailPage {
        layout: Layout::new(&app, EN.confirm_email.title, user.as_deref()),
        token,
    };
    render(StatusCode::OK, &page)
}

/// `POST /confirm-email`: spends the link; the account's address becomes the new one.
pub async fn submit(
    State(app): State<AppState>,
    Client(client): Client,
    Form(f): Form,
) -> Response {
    let t = &EN.confirm_email;
    match app
        .auth
        .confirm_email_change(&f.text("token"), &client)
        .await
    {
        Ok(email) => message(
            &app,
            StatusCode::OK,
            t.done_title,
            t.done.replace("{email}", &email),
        ),
        Err(AuthError::Unavailable(_)) => page::unavailable(&app),
        Err(AuthError::EmailTaken) => {
            message(&app, StatusCode::CONFLICT, t.title, t.taken.to_owned())
        }
        Err(AuthError::AccountDisabled) => {
            message(&app, StatusCode::FORBIDDEN, t.title, t.disabled.to_owned())
        }
        Err(_) => message(&app, StatusCode::GONE, t.dead_title, t.dead.to_owned()),
    }
}

fn message(app: &AppState, status: StatusCode, title: &str, message: String) -> Response {
    let page = MessagePage {
        layout: Layout::new(app, title, None),
        message,
        link: Some(("/".to_owned(), EN.confirm_email.onwards)),
    };
    render(status, &page)
}
