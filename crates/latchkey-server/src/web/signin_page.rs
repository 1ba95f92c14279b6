//! The sign-in page as every step of signing in shows it again (a refused password, an
//! expired code, a second factor gone stale), and how a refused step reads. Below the steps
//! (`signin`, `codes`, `mfa`) and the other entry pages, which all hand back to it.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::page::{Layout, Problems, render};
use super::text::EN;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignInPage {
    pub layout: Layout,
    pub email: String,
    pub next: Option<String>,
    /// A notice above the form (signed out, session ended).
    pub notice: Option<&'static str>,
    /// Provider buttons and the links to sign-up and forgotten passwords (entry's part).
    pub more: super::signup::SignInExtras,
    /// The app a hosted sign-in continues to (its origin).
    pub app_name: Option<String>,
}

pub(super) fn sign_in_page(
    app: &AppState,
    status: StatusCode,
    email: String,
    next: Option<String>,
    problems: Problems,
    notice: Option<&'static str>,
) -> Response {
    let page = SignInPage {
        // Before `next` moves into the page.
        more: super::signup::sign_in_extras(app, next.as_deref()),
        layout: Layout::new(app, EN.signin.title, None).with_problems(problems),
        email,
        next,
        notice,
        app_name: None,
    };
    render(status, &page)
}

/// Back to the start of signing in, saying why.
pub(super) fn restart(app: &AppState, why: &str) -> Response {
    let problems = Problems::one(None, why);
    sign_in_page(
        app,
        StatusCode::UNAUTHORIZED,
        String::new(),
        None,
        problems,
        None,
    )
}
