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
    pub or: &'static str,
    pub email_me_a_code: &'static str,
    pub continue_to: &'static str,
    pub bad_app_link_title: &'static str,
    pub bad_app_link: &'static str,
    // the mailed code
    pub code_title: &'static str,
    pub code_sent_to: &'static str,
    pub code_expires: &'static str,
    pub code: &'static str,
    pub code_hint: &'static str,
    pub code_submit: &'static str,
    pub code_required: &'static str,
    pub code_wrong: &'static str,
    pub code_again: &'static str,
    pub code_again_in: &'static str,
    pub code_sent_again: &'static str,
    pub invalid_email: &'static str,
    // the magic link
    pub link_title: &'static str,
    pub link_intro: &'static str,
    pub link_submit: &'static str,
    // the second factor
    pub mfa_title: &'static str,
    pub mfa_intro: &'static str,
    pub mfa_code: &'static str,
    pub mfa_hint: &'static str,
    pub mfa_submit: &'static str,
    pub mfa_required: &'static str,
    pub mfa_wrong: &'static str,
    pub mfa_attempts_left: &'static str,
    pub mfa_expired: &'static str,
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
    or: "or",
    email_me_a_code: "Email me a code",
    continue_to: "Sign in to continue to",
    bad_app_link_title: "This sign-in link cannot be used",
    bad_app_link: "The app that sent you here asked to receive your sign-in at an address this \
        server does not allow, or without a valid PKCE challenge. Go back to the app and try \
        again, or tell its makers.",
    code_title: "Check your email",
    code_sent_to: "We sent a sign-in code to",
    code_expires: "It expires in",
    code: "Sign-in code",
    code_hint: "The 6 digits from the mail. You can also open the link in the mail.",
    code_submit: "Sign in",
    code_required: "Enter the code from the mail.",
    code_wrong: "That code is not right, has expired or was used up. Check the newest mail, \
        or send a new code.",
    code_again: "Send a new code",
    code_again_in: "Send a new code in",
    code_sent_again: "We sent a new code. Only the newest one works.",
    invalid_email: "Enter an email address such as name@example.com.",
    link_title: "Sign in with your link",
    link_intro: "You opened a sign-in link from your mail. Press the button to sign in on this \
        device.",
    link_submit: "Sign in",
    mfa_title: "Second step",
    mfa_intro: "Your account asks for a second factor.",
    mfa_code: "Authentication code",
    mfa_hint: "The 6 digits from your authenticator app, or one of your recovery codes.",
    mfa_submit: "Continue",
    mfa_required: "Enter the code from your authenticator app or a recovery code.",
    mfa_wrong: "That code is not right.",
    mfa_attempts_left: "Tries left:",
    mfa_expired: "This sign-in took too long or used up its tries. Please sign in again.",
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
