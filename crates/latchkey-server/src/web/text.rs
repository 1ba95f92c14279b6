//! Every word the pages show, in one place, ready for translation: templates receive the
//! catalogue as `t` and write `{{ t.signin.title }}`. One struct per area of the pages; each
//! area adds its own struct and its own field of `Text` (append-only, in its own block).

/// The English catalogue.
pub static EN: Text = Text {
    common: COMMON,
    signin: SIGNIN,
    home: HOME,
};

pub struct Text {
    pub common: Common,
    pub signin: SignIn,
    pub home: Home,
}

// ---- common: the layout and words every page shares ----------------------------------------

pub struct Common {
    pub skip_to_content: &'static str,
    pub error_summary: &'static str,
    pub sign_out: &'static str,
    pub sign_out_everywhere: &'static str,
    pub signed_in_as: &'static str,
    pub try_again_in: &'static str,
    pub unavailable: &'static str,
    pub refused_title: &'static str,
    pub refused_cross_site: &'static str,
    pub refused_expired_form: &'static str,
    pub back_to_sign_in: &'static str,
    pub not_found_title: &'static str,
    pub not_found: &'static str,
}

const COMMON: Common = Common {
    skip_to_content: "Skip to content",
    error_summary: "There is a problem",
    sign_out: "Sign out",
    sign_out_everywhere: "Sign out everywhere",
    signed_in_as: "Signed in as",
    try_again_in: "Try again in",
    unavailable: "The service is busy or briefly unavailable. Please try again in a moment.",
    refused_title: "This form could not be sent",
    refused_cross_site: "The form was sent from another site or without the headers a browser \
        sends. Open the page again here and send it from there.",
    refused_expired_form: "The page was open too long or belongs to another sign-in. Open it \
        again and send the form once more.",
    back_to_sign_in: "Back to sign in",
    not_found_title: "Page not found",
    not_found: "There is no page at this address.",
};

// ---- signin: /login and its steps (pages) --------------------------------------------------

pub struct SignIn {
    pub title: &'static str,
    pub heading: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub submit: &'static str,
    pub email_required: &'static str,
    pub password_required: &'static str,
    pub invalid_credentials: &'static str,
    pub account_disabled: &'static str,
    pub email_not_verified: &'static str,
    pub rate_limited: &'static str,
    pub signed_out: &'static str,
    pub signed_out_everywhere: &'static str,
    pub session_ended: &'static str,
}

const SIGNIN: SignIn = SignIn {
    title: "Sign in",
    heading: "Sign in",
    email: "Email address",
    password: "Password",
    submit: "Sign in",
    email_required: "Enter your email address.",
    password_required: "Enter your password.",
    invalid_credentials: "The email address or password is not right.",
    account_disabled: "This account is disabled. Ask your organization's admin.",
    email_not_verified: "Confirm your email address first: open the link in the mail we sent.",
    rate_limited: "Too many tries. For your safety, signing in is paused for this account or \
        network.",
    signed_out: "You are signed out.",
    signed_out_everywhere: "You are signed out on every device.",
    session_ended: "Your session has ended. Please sign in again.",
};

// ---- home: `/` for a signed-in person until the account console takes over ----------------

pub struct Home {
    pub title: &'static str,
    pub heading: &'static str,
    pub intro: &'static str,
}

const HOME: Home = Home {
    title: "Your account",
    heading: "Your account",
    intro: "You are signed in.",
};
