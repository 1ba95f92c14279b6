//! The hosted pages: server-rendered HTML (askama templates in `templates/`, checked at
//! compile time) for people in a browser, beside the JSON API in `http/`. Handlers are thin
//! and call the domain (`Auth`) as the API handlers do, so the same limits, audit events and
//! errors apply. Every page gets the security headers (`page`), every POST the CSRF checks
//! (`form`, `csrf`), and every page request its web session (`session`).
//!
//! Pages are not API operations: they are routed here with plain `.route` and stay out of the
//! OpenAPI document.

mod account;
mod admin;
mod assets;
mod codes;
pub mod csrf;
mod extract;
pub mod form;
pub mod hosted;
mod mfa;
pub mod page;
mod refusal;
pub mod session;
mod signin;
mod signin_page;
pub mod text;
pub mod times;
// ---- entry: sign-up, provider sign-in and sign-up, mailed links, forgot password ----
mod forgot;
mod links;
mod onward;
mod provider;
mod signup;
// ---- security: the new-address link, /account/security ----
mod confirm_email;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

#[expect(
    clippy::disallowed_methods,
    reason = "HTML pages are not API operations and stay out of the OpenAPI document"
)]
pub fn router(app: &AppState) -> Router<AppState> {
    // ---- pages: sign-in, sign-out --------------------------------------------------------
    let pages = Router::new()
        .route("/", get(signin::home))
        .route("/login", get(signin::form).post(signin::submit))
        .route("/login/mfa", post(mfa::submit))
        .route("/login/code/send", post(codes::send))
        .route("/login/code", post(codes::verify))
        .route("/logout", post(signin::logout))
        .route("/logout-all", post(signin::logout_all));
    // ---- pages: /account sessions and API keys, /admin, signing keys (adminkeys) ----------
    let pages = pages.merge(admin::router());
    // ---- (other areas add their routes here, each in its own block) ----------------------
    // ---- entry: sign-up, provider sign-in and sign-up, mailed links, forgot password ------
    let pages = pages
        .route("/signup", get(signup::form).post(signup::submit))
        .route("/provider/{provider}/start", get(provider::start))
        .route(provider::RETURN_PATH, get(provider::finish))
        .route("/provider/signup", post(provider::complete))
        .route("/reset-password", get(links::reset_form).post(links::reset))
        .route("/verify-email", get(links::verify_form).post(links::verify))
        .route("/forgot-password", get(forgot::form).post(forgot::submit));
    // ---- security: the new-address link, /account/security -------------------------------
    let pages = pages.route(
        "/confirm-email",
        get(confirm_email::form).post(confirm_email::submit),
    );

    // ---- totp: /account/security, two-factor authentication ------------------------------
    let pages = pages
        .route("/account/security", get(account::security::show))
        .route("/account/security/totp", post(account::security::start))
        .route(
            "/account/security/totp/confirm",
            post(account::security::confirm),
        )
        .route(
            "/account/security/totp/disable",
            post(account::security::disable),
        );

    let pages = pages.layer(axum::middleware::from_fn_with_state(
        app.clone(),
        session::layer,
    ));
    pages
        .merge(assets::router())
        .layer(axum::middleware::from_fn(page::security_headers))
}
