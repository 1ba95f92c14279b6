//! The pages the mailed links open: `/reset-password?token=…` and `/verify-email?token=…`
//! (the defaults of `LATCHKEY_PASSWORD_RESET_URL` and `LATCHKEY_VERIFY_EMAIL_URL`). A GET
//! only reads whether the token is live and shows a form; the action is the form's POST. Mail
//! scanners and link previews fetch links before people do, and must not spend them.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::AuthError;
use latchkey_core::secret::Secret;

use super::extract::MaybeSignedIn;
use super::form::{Form, Query};
use super::page::{self, Layout, MessagePage, Problems, render};
use super::session::WebUser;
use super::signup::{Rule, password_rules, problems_of};
use super::text::EN;
use crate::http::extract::Client;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "reset_password.html")]
pub struct ResetPage {
    pub layout: Layout,
    pub intro: String,
    pub email: String,
    pub token: String,
    pub password_label: &'static str,
    pub rules: Vec<Rule>,
}

#[derive(Template)]
#[template(path = "verify_email.html")]
pub struct VerifyPage {
    pub layout: Layout,
    pub intro: String,
    pub email: String,
    pub token: String,
    /// The browser is signed in to this very account: one button.
    pub own: bool,
}

/// `GET /reset-password?token=…`: the new-password form, if the link is live.
pub async fn reset_form(
    State(app): State<AppState>,
    MaybeSignedIn(user): MaybeSignedIn,
    Query(q): Query,
) -> Response {
    let token = q.text("token");
    if token.is_empty() {
        return reset_dead(&app);
    }
    match app.auth.reset_link(&token).await {
        Ok(email) => {
            let user = user.as_deref();
            reset_page(
                &app,
                StatusCode::OK,
                token,
                email,
                user,
                Problems::default(),
            )
        }
        Err(AuthError::Unavailable(_)) => page::unavailable(&app),
        Err(_) => reset_dead(&app),
    }
}

/// `user`: a browser signed in (to any account) gets its forms bound to that session.
fn reset_page(
    app: &AppState,
    status: StatusCode,
    token: String,
    email: String,
    user: Option<&WebUser>,
    problems: Problems,
) -> Response {
    let page = ResetPage {
        layout: Layout::new(app, EN.links.reset_title, user).with_problems(problems),
        intro: EN.links.reset_intro.replace("{email}", &email),
        email,
        token,
        password_label: EN.links.new_password,
        rules: password_rules(),
    };
    render(status, &page)
}

/// `POST /reset-password`: sets the password; every session of the account ends.
pub async fn reset(
    State(app): State<AppState>,
    Client(client): Client,
    MaybeSignedIn(user): MaybeSignedIn,
    Form(f): Form,
) -> Response {
    let user = user.as_deref();
    let token = f.text("token");
    let email = f.text("email");
    let password = f.get("password").unwrap_or("").to_owned();
    if password.is_empty() {
        let problems = Problems::one(Some("password"), EN.signup.password_required);
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return reset_page(&app, status, token, email, user, problems);
    }
    match app
        .auth
        .reset_password(&token, &Secret::new(password), true, &client)
        .await
    {
        Ok(()) => {
            let page = MessagePage {
                layout: Layout::new(&app, EN.links.reset_done_title, None),
                message: EN.links.reset_done.to_owned(),
                link: Some(("/login".to_owned(), EN.links.sign_in)),
            };
            let mut response = render(StatusCode::OK, &page);
            // This browser's own session ended with all the others.
            super::session::clear(&mut response);
            response
        }
        Err(AuthError::InvalidResetToken) => reset_dead(&app),
        Err(AuthError::Unavailable(_)) => page::unavailable(&app),
        // A refused password leaves the token usable: the form again.
        Err(e) => {
            let (status, problems) = problems_of(e);
            reset_page(&app, status, token, email, user, problems)
        }
    }
}

fn reset_dead(app: &AppState) -> Response {
    dead(
        app,
        EN.links.reset_dead,
        ("/forgot-password", EN.links.ask_new_link),
    )
}

fn verify_dead(app: &AppState) -> Response {
    dead(app, EN.links.verify_dead, ("/login", EN.links.sign_in))
}

/// An expired or used link: what happened, and the way forward.
fn dead(app: &AppState, message: &str, (href, text): (&str, &'static str)) -> Response {
    let page = MessagePage {
        layout: Layout::new(app, EN.links.dead_title, None),
        message: message.to_owned(),
        link: Some((href.to_owned(), text)),
    };
    render(StatusCode::GONE, &page)
}

/// `GET /verify-email?token=…`: one button in a browser signed in to the account; otherwise
/// the account's password keeps it as it is, or the mailbox's owner takes it over.
pub async fn verify_form(
    State(app): State<AppState>,
    MaybeSignedIn(user): MaybeSignedIn,
    Query(q): Query,
) -> Response {
    let token = q.text("token");
    if token.is_empty() {
        return verify_dead(&app);
    }
    let session = user.as_ref().map(|u| &u.principal);
    match app.auth.verification_link(&token, session).await {
        Ok(link) if link.verified => verified(&app, &link.email, EN.links.verify_already),
        Ok(link) => verify_page(
            &app,
            StatusCode::OK,
            token,
            &link.email,
            link.own,
            user.as_deref(),
            Problems::default(),
        ),
        Err(AuthError::Unavailable(_)) => page::unavailable(&app),
        Err(_) => verify_dead(&app),
    }
}

fn verify_page(
    app: &AppState,
    status: StatusCode,
    token: String,
    email: &str,
    own: bool,
    user: Option<&WebUser>,
    problems: Problems,
) -> Response {
    let page = VerifyPage {
        // Signed in (to this account or another): the forms are bound to that session.
        layout: Layout::new(app, EN.links.verify_title, user).with_problems(problems),
        intro: EN.links.verify_intro.replace("{email}", email),
        email: email.to_owned(),
        token,
        own,
    };
    render(status, &page)
}

/// `POST /verify-email`: `how` is `session` (the button of a signed-in browser), `password`,
/// or `mailbox` (the takeover of an account someone else set up with this address).
pub async fn verify(
    State(app): State<AppState>,
    Client(client): Client,
    MaybeSignedIn(user): MaybeSignedIn,
    Form(f): Form,
) -> Response {
    let token = f.text("token");
    let result = match (f.get("how"), &user) {
        (Some("session"), Some(u)) => {
            app.auth
                .verify_email_in_session(&token, &u.principal, &client)
                .await
        }
        (Some("mailbox"), _) => app.auth.verify_email(&token, None, &client).await,
        _ => {
            let password = f.get("password").unwrap_or("");
            if password.is_empty() {
                Err(AuthError::InvalidCredentials)
            } else {
                let password = Secret::new(password.to_owned());
                app.auth
                    .verify_email(&token, Some(&password), &client)
                    .await
            }
        }
    };
    let email = f.text("email");
    match result {
        Ok(()) if f.get("how") == Some("mailbox") => {
            let mut response = verified(&app, &email, EN.links.verify_taken_over);
            // A takeover ended every session of the account, this browser's too.
            super::session::clear(&mut response);
            response
        }
        Ok(()) => verified(&app, &email, EN.links.verify_done),
        Err(AuthError::InvalidVerificationToken) => verify_dead(&app),
        Err(AuthError::Unavailable(_)) => page::unavailable(&app),
        Err(e) => {
            let problems = match e {
                AuthError::InvalidCredentials => {
                    Problems::one(Some("password"), EN.links.wrong_password)
                }
                e => super::refusal::refusal(&crate::http::error::ApiError::from(e)).1,
            };
            let own = f.get("how") == Some("session");
            verify_page(
                &app,
                StatusCode::UNAUTHORIZED,
                token,
                &email,
                own,
                user.as_deref(),
                problems,
            )
        }
    }
}

fn verified(app: &AppState, email: &str, wording: &str) -> Response {
    let page = MessagePage {
        layout: Layout::new(app, EN.links.verify_done_title, None),
        message: wording.replace("{email}", email),
        link: Some(("/".to_owned(), EN.links.to_account)),
    };
    render(StatusCode::OK, &page)
}
