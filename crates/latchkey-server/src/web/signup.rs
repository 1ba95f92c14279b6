//! `/signup`: an account with email and password, the person's default API key shown once,
//! and the web session opened. A sign-up through a provider (`provider.rs`) ends on the same
//! welcome page. Who may sign up is the domain's rule (`LATCHKEY_SIGNUP`): the page is gone
//! when sign-up is closed, and asks for a referral code when it is invite-only.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::AuthError;
use latchkey_core::auth::account::Signup;
use latchkey_core::auth::{Grant, SignupMode};
use latchkey_core::domain::Role;
use latchkey_core::oidc::ProviderKind;
use latchkey_core::password::{POLICY, PolicyRule};
use latchkey_core::secret::Secret;

use super::csrf;
use super::extract::MaybeSignedIn;
use super::form::{Form, Query};
use super::onward::Onward;
use super::page::{self, Layout, MessagePage, Problems, render, see_other};
use super::text::EN;
use crate::http::extract::Client;
use crate::state::AppState;

/// One rule of the password policy as the page lists it; `kind` and `n` let `app.js` tick
/// it off while the person types.
pub struct Rule {
    pub kind: &'static str,
    pub n: usize,
    pub text: String,
}

/// The password policy the domain enforces, in the page's words.
pub fn password_rules() -> Vec<Rule> {
    let t = &EN.signup;
    POLICY
        .iter()
        .map(|rule| {
            let (kind, n, text) = match *rule {
                PolicyRule::MinChars(n) => ("min", n, t.rule_min),
                PolicyRule::MaxChars(n) => ("max", n, t.rule_max),
                PolicyRule::NotCommon => ("common", 0, t.rule_common),
                PolicyRule::NotEmail => ("email", 0, t.rule_email),
                PolicyRule::NotRepeated => ("repeated", 0, t.rule_repeated),
            };
            Rule {
                kind,
                n,
                text: text.replace("{n}", &n.to_string()),
            }
        })
        .collect()
}

/// A hidden field of a form.
pub struct Hidden {
    pub name: &'static str,
    pub value: String,
}

pub fn hidden(onward: &Onward) -> Vec<Hidden> {
    onward
        .fields()
        .into_iter()
        .map(|(name, value)| Hidden { name, value })
        .collect()
}

/// A "Sign up with …" / "Sign in with …" button.
pub struct ProviderButton {
    pub href: String,
    pub label: String,
}

/// A button per configured provider; `wording` holds `{provider}`. An invitation's code
/// (`referral`) goes with the sign-up the button may start.
pub fn provider_buttons(
    app: &AppState,
    wording: &str,
    onward: &Onward,
    referral: Option<&str>,
) -> Vec<ProviderButton> {
    let mut query = onward.query();
    if let Some(code) = referral {
        let pair = form_urlencoded::Serializer::new(String::new())
            .append_pair("referral_code", code)
            .finish();
        query.push(if query.is_empty() { '?' } else { '&' });
        query.push_str(&pair);
    }
    app.oidc
        .provider_list()
        .into_iter()
        .map(|(name, kind)| ProviderButton {
            href: format!("/provider/{name}/start{query}"),
            label: wording.replace("{provider}", &display_name(&name, &kind)),
        })
        .collect()
}

/// "Google", "Microsoft", or the configured name with a capital.
pub fn display_name(name: &str, kind: &ProviderKind) -> String {
    match kind {
        ProviderKind::Google => "Google".to_owned(),
        ProviderKind::Microsoft { .. } => "Microsoft".to_owned(),
        ProviderKind::Generic => {
            let mut chars = name.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

/// What the sign-in page shows of sign-up and the providers (its template includes
/// `signin_more.html`).
pub struct SignInExtras {
    pub providers: Vec<ProviderButton>,
    pub signup_open: bool,
    /// `next` carried on to the sign-up page.
    pub onward_query: String,
}

pub fn sign_in_extras(app: &AppState, next: Option<&str>) -> SignInExtras {
    let onward = Onward {
        next: next.map(str::to_owned),
        app: None,
    };
    SignInExtras {
        providers: provider_buttons(app, EN.provider.sign_in_with, &onward, None),
        signup_open: !closed(app),
        onward_query: onward.query(),
    }
}

#[derive(Template)]
#[template(path = "signup.html")]
pub struct SignupPage {
    pub layout: Layout,
    pub email: String,
    pub name: String,
    pub referral_code: String,
    pub referral_required: bool,
    pub password_label: &'static str,
    pub rules: Vec<Rule>,
    pub providers: Vec<ProviderButton>,
    pub hidden: Vec<Hidden>,
    pub onward_query: String,
}

#[derive(Template)]
#[template(path = "signup_welcome.html")]
pub struct WelcomePage {
    pub layout: Layout,
    pub role_line: &'static str,
    pub verify_line: Option<String>,
    pub api_key: Option<String>,
    pub go_on: String,
}

/// `GET /signup`. A browser that is signed in already goes on; `?referral_code=` fills the
/// field (an invitation link).
pub async fn form(
    State(app): State<AppState>,
    MaybeSignedIn(user): MaybeSignedIn,
    Query(q): Query,
) -> Response {
    if closed(&app) {
        return gone(&app);
    }
    let Some(onward) = Onward::read(&app, &q) else {
        return super::onward::refused(&app);
    };
    if user.is_some() {
        return see_other(&onward.after_sign_in());
    }
    let input = Input {
        email: String::new(),
        name: String::new(),
        referral_code: q.text("referral_code"),
    };
    signup_page(&app, StatusCode::OK, input, &onward, Problems::default())
}

struct Input {
    email: String,
    name: String,
    referral_code: String,
}

fn signup_page(
    app: &AppState,
    status: StatusCode,
    input: Input,
    onward: &Onward,
    problems: Problems,
) -> Response {
    let page = SignupPage {
        layout: Layout::new(app, EN.signup.title, None).with_problems(problems),
        email: input.email,
        name: input.name,
        referral_required: app.auth.settings().signup == SignupMode::Invite,
        providers: provider_buttons(
            app,
            EN.signup.with_provider,
            onward,
            non_empty(&input.referral_code).as_deref(),
        ),
        referral_code: input.referral_code,
        password_label: EN.signup.password,
        rules: password_rules(),
        hidden: hidden(onward),
        onward_query: onward.query(),
    };
    render(status, &page)
}

/// `POST /signup`.
pub async fn submit(
    State(app): State<AppState>,
    Client(client): Client,
    Form(f): Form,
) -> Response {
    if closed(&app) {
        return gone(&app);
    }
    let Some(onward) = Onward::read(&app, &f) else {
        return super::onward::refused(&app);
    };
    let t = &EN.signup;
    let input = Input {
        email: f.text("email"),
        name: f.text("name"),
        referral_code: f.text("referral_code"),
    };
    let password = f.get("password").unwrap_or("").to_owned();
    let mut problems = Problems::default();
    if input.email.is_empty() {
        problems.add(Some("email"), t.email_required);
    }
    if password.is_empty() {
        problems.add(Some("password"), t.password_required);
    }
    let invite = app.auth.settings().signup == SignupMode::Invite;
    if invite && input.referral_code.is_empty() {
        problems.add(Some("referral_code"), t.referral_required);
    }
    if !problems.is_empty() {
        return signup_page(
            &app,
            StatusCode::UNPROCESSABLE_ENTITY,
            input,
            &onward,
            problems,
        );
    }
    let request = Signup {
        email: input.email.clone(),
        password: Secret::new(password),
        name: non_empty(&input.name),
        phone: None,
        referral_code: non_empty(&input.referral_code),
    };
    match app.auth.signup(request, &client).await {
        Ok(grant) => welcome(&app, grant, &onward),
        Err(AuthError::EmailNotVerified) => {
            // Verified addresses are required: the account exists, the mail is on its way.
            let page = MessagePage {
                layout: Layout::new(&app, t.check_mail_title, None),
                message: t.check_mail.replace("{email}", &input.email),
                link: Some((format!("/login{}", onward.query()), EN.signup.sign_in)),
            };
            render(StatusCode::OK, &page)
        }
        Err(AuthError::Unavailable(_)) => page::unavailable(&app),
        Err(e) => {
            let (status, problems) = problems_of(e);
            signup_page(&app, status, input, &onward, problems)
        }
    }
}

/// The account exists: open the web session and show the default API key, once.
pub fn welcome(app: &AppState, mut grant: Grant, onward: &Onward) -> Response {
    let t = &EN.signup;
    let key = grant.api_key.take().map(|k| k.key.expose().to_owned());
    let mut layout = Layout::new(app, t.welcome_title, None);
    // The header's sign-out form belongs to the session this answer opens.
    layout.user = Some(grant.user.email.clone());
    layout.csrf = csrf::token(app, &grant.session_id);
    let page = WelcomePage {
        layout,
        role_line: match grant.user.role {
            Role::Admin => t.welcome_admin,
            _ => t.welcome_member,
        },
        verify_line: (!grant.user.email_verified)
            .then(|| t.verify_sent.replace("{email}", &grant.user.email)),
        api_key: key,
        go_on: onward.after_sign_in(),
    };
    let mut response = render(StatusCode::CREATED, &page);
    super::session::sign_in(app, &mut response, &grant);
    response
}

/// What a refused sign-up tells the person, by field where there is one.
pub fn problems_of(e: AuthError) -> (StatusCode, Problems) {
    let t = &EN.signup;
    let field = match &e {
        AuthError::EmailTaken => Some(("email", t.email_taken.to_owned())),
        AuthError::InvalidEmail => Some(("email", EN.forgot.invalid_email.to_owned())),
        AuthError::WeakPassword(why) => Some(("password", sentence(why))),
        AuthError::UnknownReferralCode => Some(("referral_code", t.unknown_referral.to_owned())),
        AuthError::Forbidden(_) => Some(("referral_code", t.referral_required.to_owned())),
        AuthError::InvalidSessionCode => Some(("email_code", EN.provider.wrong_code.to_owned())),
        AuthError::InvalidInput { field, message } => {
            let known = ["email", "name", "phone", "referral_code", "email_code"];
            known.iter().find(|k| *k == field).map(|k| {
                (
                    *k,
                    sentence(&format!("{field} {message}").replace('_', " ")),
                )
            })
        }
        _ => None,
    };
    let e = crate::http::error::ApiError::from(e);
    let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    match field {
        Some((field, message)) => (status, Problems::one(Some(field), message)),
        None => super::refusal::refusal(&e),
    }
}

/// The domain's lower-case message as a sentence.
fn sentence(s: &str) -> String {
    let mut chars = s.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

pub fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn closed(app: &AppState) -> bool {
    app.auth.settings().signup == SignupMode::Closed
}

/// Sign-up is closed: no such page.
fn gone(app: &AppState) -> Response {
    let page = MessagePage {
        layout: Layout::new(app, EN.common.not_found_title, None),
        message: EN.signup.closed.to_owned(),
        link: Some(("/login".to_owned(), EN.common.back_to_sign_in)),
    };
    render(StatusCode::NOT_FOUND, &page)
}
