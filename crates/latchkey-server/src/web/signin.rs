//! `/login` and its steps, `/` and signing out. Handlers are thin: they call `Auth` as the
//! JSON API does (the same limits, audit events and errors), and open the web session.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_core::auth::LoginOutcome;
use latchkey_core::secret::Secret;

use super::extract::{MaybeSignedIn, SignedIn};
use super::form::{Form, Query};
use super::hosted::Hosted;
use super::page::{self, Layout, Problems, render, see_other};
use super::refusal::refusal;
use super::session::{self, WebUser};
use super::signin_page::{SignInPage, sign_in_page};
use super::text::EN;
use crate::http::error::ApiError;
use crate::http::extract::Client;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub layout: Layout,
    /// Admins also get the link to `/admin`.
    pub is_admin: bool,
}

/// `/`: the account page when signed in, else the sign-in page.
pub async fn home(State(app): State<AppState>, MaybeSignedIn(user): MaybeSignedIn) -> Response {
    match user {
        Some(user) => {
            let page = HomePage {
                layout: Layout::new(&app, EN.home.title, Some(&user)),
                is_admin: user.principal.role == latchkey_core::domain::Role::Admin,
            };
            render(StatusCode::OK, &page)
        }
        None => see_other("/login"),
    }
}

/// `GET /login`. A browser whose web session is live skips the form ("automatic login
/// check"): it goes straight on, to the app of a hosted sign-in or where it was going. A
/// magic link (`login_id` and `code`) shows its button; an app's request (`redirect_to`,
/// `code_challenge`) is checked against the allow-list and remembered for the sign-in.
pub async fn form(
    State(app): State<AppState>,
    MaybeSignedIn(user): MaybeSignedIn,
    Query(q): Query,
) -> Response {
    let next = page::local_path(q.get("next"));
    if let (Some(login_id), Some(code)) = (q.get("login_id"), q.get("code")) {
        return super::codes::magic_link(&app, login_id, code);
    }
    let hosted = match Hosted::from_query(&app, &q) {
        Some(Ok(hosted)) => Some(hosted),
        Some(Err(())) => {
            let t = &EN.signin;
            let page = page::MessagePage {
                layout: Layout::new(&app, t.bad_app_link_title, user.as_deref()),
                message: t.bad_app_link.to_owned(),
                link: None,
            };
            return render(StatusCode::BAD_REQUEST, &page);
        }
        None => None,
    };
    if let Some(user) = user {
        return match &hosted {
            Some(h) => super::hosted::hand_to_app(&app, &user, h).await,
            None => see_other(next.as_deref().unwrap_or("/")),
        };
    }
    let notice = match q.get("done") {
        Some("signed-out") => Some(EN.signin.signed_out),
        Some("signed-out-everywhere") => Some(EN.signin.signed_out_everywhere),
        _ => None,
    };
    let more = super::signup::sign_in_extras(&app, next.as_deref());
    let page = SignInPage {
        layout: Layout::new(&app, EN.signin.title, None),
        email: String::new(),
        next,
        notice,
        more,
        app_name: hosted.as_ref().map(Hosted::app_name),
    };
    let mut response = render(StatusCode::OK, &page);
    match &hosted {
        Some(h) => super::hosted::remember(&app, &mut response, h),
        // A plain sign-in: an app's request left from before must not take it over.
        None => super::hosted::forget(&mut response),
    }
    response
}

/// `POST /login` with email and password.
pub async fn submit(
    State(app): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    Form(f): Form,
) -> Response {
    let t = &EN.signin;
    let email = f.text("email");
    let password = f.get("password").unwrap_or("").to_owned();
    let next = page::local_path(f.get("next"));
    let mut problems = Problems::default();
    if email.is_empty() {
        problems.add(Some("email"), t.email_required);
    }
    if password.is_empty() {
        problems.add(Some("password"), t.password_required);
    }
    if !problems.is_empty() {
        return sign_in_page(
            &app,
            StatusCode::UNPROCESSABLE_ENTITY,
            email,
            next,
            problems,
            None,
        );
    }
    match app
        .auth
        .login(&email, &Secret::new(password), &client)
        .await
    {
        Ok(LoginOutcome::Signed(grant)) => {
            super::hosted::finish_sign_in(&app, &headers, &grant, next.as_deref()).await
        }
        Ok(LoginOutcome::MfaRequired {
            mfa_token: Some(token),
        }) => {
            let step = super::mfa::Step::Password {
                mfa_token: token.expose().to_owned(),
            };
            super::mfa::page(&app, StatusCode::OK, step, next, Problems::default(), None)
        }
        // A new kind of outcome needs its page before the web can offer it.
        Ok(_) => page::unavailable(&app),
        Err(e) => {
            let e = ApiError::from(e);
            crate::http::answers::refused_login(&app, &client, &email, &e);
            let (status, problems) = refusal(&e);
            sign_in_page(&app, status, email, next, problems, None)
        }
    }
}

/// `POST /logout`: ends this web session and its Latchkey session.
pub async fn logout(State(app): State<AppState>, SignedIn(user): SignedIn, _f: Form) -> Response {
    end(&app, &user, false).await
}

/// `POST /logout-all`: ends every session of the person, on every device.
pub async fn logout_all(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    _f: Form,
) -> Response {
    end(&app, &user, true).await
}

async fn end(app: &AppState, user: &WebUser, everywhere: bool) -> Response {
    let result = if everywhere {
        app.auth.logout_all(&user.principal).await.map(|_| ())
    } else {
        app.auth.logout(&user.principal).await
    };
    match result {
        Ok(()) => {
            let done = if everywhere {
                "signed-out-everywhere"
            } else {
                "signed-out"
            };
            let mut response = see_other(&format!("/login?done={done}"));
            session::clear(&mut response);
            response
        }
        Err(_) => page::unavailable(app),
    }
}
