//! Every word the pages show, in one place, ready for translation: templates receive the
//! catalogue as `t` and write `{{ t.signin.title }}`. One struct per area of the pages; each
//! area adds its own struct and its own field of `Text` (append-only, in its own block).

mod adminkeys;
use adminkeys::{ADMIN, KEYS, SESSIONS};
pub use adminkeys::{Admin, Keys, Sessions};
mod security;
use security::CONFIRM_EMAIL;
pub use security::ConfirmEmail;
mod totp;
use totp::TOTP;
pub use totp::Totp;

/// The English catalogue.
pub static EN: Text = Text {
    common: COMMON,
    signin: SIGNIN,
    home: HOME,
    sessions: SESSIONS,
    keys: KEYS,
    admin: ADMIN,
    // entry
    signup: SIGNUP,
    provider: PROVIDER,
    links: LINKS,
    forgot: FORGOT,
    // security
    confirm_email: CONFIRM_EMAIL,
    // totp: /account/security
    totp: TOTP,
};

pub struct Text {
    pub common: Common,
    pub signin: SignIn,
    pub home: Home,
    pub sessions: Sessions,
    pub keys: Keys,
    pub admin: Admin,
    // entry
    pub signup: SignUp,
    pub provider: ProviderText,
    pub links: Links,
    pub forgot: Forgot,
    // security
    pub confirm_email: ConfirmEmail,
    // totp: /account/security
    pub totp: Totp,
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
    pub nav_label: &'static str,
    pub sessions: &'static str,
    pub keys: &'static str,
    pub admin: &'static str,
    pub security: &'static str,
}

const HOME: Home = Home {
    title: "Your account",
    heading: "Your account",
    intro: "You are signed in.",
    nav_label: "Your account",
    sessions: "Sessions: where you are signed in",
    keys: "API keys",
    admin: "Organization admin",
    security: "Security: two-factor authentication",
};

// ---- entry: sign-up, provider sign-in, mail links, forgot password (entry) ------------------
// Placeholders in braces ({n}, {email}, {provider}, {example}) are filled in by the page.

pub struct SignUp {
    pub title: &'static str,
    pub have_account: &'static str,
    pub sign_in: &'static str,
    pub or: &'static str,
    pub with_provider: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub rules_heading: &'static str,
    pub rule_min: &'static str,
    pub rule_max: &'static str,
    pub rule_common: &'static str,
    pub rule_email: &'static str,
    pub rule_repeated: &'static str,
    pub rule_met: &'static str,
    pub rule_unmet: &'static str,
    pub name: &'static str,
    pub optional: &'static str,
    pub referral_code: &'static str,
    pub referral_hint: &'static str,
    pub referral_hint_required: &'static str,
    pub submit: &'static str,
    pub email_required: &'static str,
    pub password_required: &'static str,
    pub referral_required: &'static str,
    pub email_taken: &'static str,
    pub unknown_referral: &'static str,
    pub closed: &'static str,
    pub welcome_title: &'static str,
    pub welcome_admin: &'static str,
    pub welcome_member: &'static str,
    pub verify_sent: &'static str,
    pub key_heading: &'static str,
    pub key_once: &'static str,
    pub key_label: &'static str,
    pub copy: &'static str,
    pub copied: &'static str,
    pub go_on: &'static str,
    pub check_mail_title: &'static str,
    pub check_mail: &'static str,
    pub bad_onward: &'static str,
    pub no_account: &'static str,
    pub create_link: &'static str,
}

const SIGNUP: SignUp = SignUp {
    title: "Create your account",
    have_account: "Already have an account?",
    sign_in: "Sign in",
    or: "or with your email address",
    with_provider: "Sign up with {provider}",
    email: "Email address",
    password: "Password",
    rules_heading: "Your password needs to be:",
    rule_min: "at least {n} characters long",
    rule_max: "at most {n} characters long",
    rule_common: "not a commonly used password (checked when you send the form)",
    rule_email: "different from your email address",
    rule_repeated: "not one character repeated over and over",
    rule_met: "(done)",
    rule_unmet: "(not yet)",
    name: "Your name",
    optional: "(optional)",
    referral_code: "Referral code",
    referral_hint: "Were you invited? Enter the organization's code to join it. Without a code \
        you start a new organization and are its admin.",
    referral_hint_required: "Sign-up is by invitation: enter the code of the organization that \
        invited you.",
    submit: "Create account",
    email_required: "Enter your email address.",
    password_required: "Choose a password.",
    referral_required: "Enter the referral code of the organization that invited you.",
    email_taken: "An account with this address exists already. Sign in, or ask for a \
        password-reset link.",
    unknown_referral: "This referral code is not known. Check it with the person who invited \
        you.",
    closed: "Sign-up is closed on this server. Ask an administrator for an account.",
    welcome_title: "Your account is ready",
    welcome_admin: "You are the admin of your new organization: invite others with its \
        referral code from your account page.",
    welcome_member: "You joined the organization as a member.",
    verify_sent: "We sent a link to {email}: open it to confirm your address.",
    key_heading: "Your API key",
    key_once: "This is the only time the key is shown. Copy it and keep it somewhere safe: \
        programs use it to act for you. You can create more keys from your account.",
    key_label: "API key",
    copy: "Copy",
    copied: "Copied",
    go_on: "Continue",
    check_mail_title: "Confirm your email address",
    check_mail: "Your account is created. We sent a link to {email}: open it to confirm your \
        address, then sign in.",
    bad_onward: "This sign-in link is not valid: it names an app address this server does not \
        allow. Go back to the app and start again.",
    no_account: "New here?",
    create_link: "Create an account",
};

pub struct ProviderText {
    pub sign_in_with: &'static str,
    pub or_with: &'static str,
    pub phone_title: &'static str,
    pub phone_intro: &'static str,
    pub phone: &'static str,
    pub phone_hint: &'static str,
    pub phone_required: &'static str,
    pub email_code: &'static str,
    pub email_code_hint: &'static str,
    pub email_code_required: &'static str,
    pub wrong_code: &'static str,
    pub submit: &'static str,
    pub failed_title: &'static str,
    pub failed: &'static str,
    pub unreachable: &'static str,
    pub closed: &'static str,
    pub start_again: &'static str,
    pub second_factor: &'static str,
}

const PROVIDER: ProviderText = ProviderText {
    sign_in_with: "Sign in with {provider}",
    or_with: "or",
    phone_title: "One more step",
    phone_intro: "To create your account for {email} with {provider}, add your phone number.",
    phone: "Phone number",
    phone_hint: "In international form: a + and the country code, then the number, for \
        example {example}.",
    phone_required: "Enter your phone number.",
    email_code: "Code from the mail",
    email_code_hint: "Your provider does not confirm this address, so we mailed a six-digit \
        code to {email}.",
    email_code_required: "Enter the code from the mail.",
    wrong_code: "The code is wrong or has expired.",
    submit: "Create account",
    failed_title: "The sign-in did not finish",
    failed: "Signing in with the provider could not be completed. This happens when it took \
        too long or was started in another browser. Please start again.",
    unreachable: "The provider cannot be reached right now. Please try again in a moment.",
    closed: "There is no account for this sign-in, and sign-up is closed on this server.",
    start_again: "Start again",
    second_factor: "This account has a second factor. Please sign in with your password and \
        your code.",
};

pub struct Links {
    pub reset_title: &'static str,
    pub reset_intro: &'static str,
    pub new_password: &'static str,
    pub reset_submit: &'static str,
    pub reset_done_title: &'static str,
    pub reset_done: &'static str,
    pub reset_dead: &'static str,
    pub dead_title: &'static str,
    pub ask_new_link: &'static str,
    pub verify_title: &'static str,
    pub verify_intro: &'static str,
    pub verify_submit: &'static str,
    pub verify_password_intro: &'static str,
    pub current_password: &'static str,
    pub verify_takeover_heading: &'static str,
    pub verify_takeover: &'static str,
    pub verify_takeover_submit: &'static str,
    pub verify_done_title: &'static str,
    pub verify_done: &'static str,
    pub verify_taken_over: &'static str,
    pub verify_already: &'static str,
    pub verify_dead: &'static str,
    pub wrong_password: &'static str,
    pub sign_in: &'static str,
    pub to_account: &'static str,
}

const LINKS: Links = Links {
    reset_title: "Choose a new password",
    reset_intro: "Choose a new password for {email}. Every device signed in to the account \
        will be signed out.",
    new_password: "New password",
    reset_submit: "Set new password",
    reset_done_title: "Your password is changed",
    reset_done: "Every device was signed out. Sign in with your new password.",
    reset_dead: "Password-reset links work once, for 30 minutes. This one has expired or was \
        used already. Ask for a new one.",
    dead_title: "This link no longer works",
    ask_new_link: "Ask for a new link",
    verify_title: "Confirm your email address",
    verify_intro: "Confirm that {email} is your address.",
    verify_submit: "Confirm my address",
    verify_password_intro: "Enter the account's password: the address is confirmed and the \
        account stays as it is.",
    current_password: "Password",
    verify_takeover_heading: "Did someone else create this account?",
    verify_takeover: "If you did not sign up, someone may have used your address. Confirm \
        without a password and the account becomes yours: its password, sessions, API keys, \
        linked sign-ins and second factor are removed. Then sign in with a code sent to your \
        address.",
    verify_takeover_submit: "Confirm and take over the account",
    verify_done_title: "Your address is confirmed",
    verify_done: "Thank you: {email} is confirmed.",
    verify_taken_over: "{email} is confirmed and the account is yours. Sign in with a code \
        sent to your address, or ask for a password-reset link to set a password.",
    verify_already: "{email} is confirmed already.",
    verify_dead: "Confirmation links work once, for 24 hours. This one has expired or was used \
        already. Sign in with a code sent to your address: that confirms it too.",
    wrong_password: "The password is not right.",
    sign_in: "Sign in",
    to_account: "Go to your account",
};

pub struct Forgot {
    pub title: &'static str,
    pub intro: &'static str,
    pub email: &'static str,
    pub submit: &'static str,
    pub email_required: &'static str,
    pub invalid_email: &'static str,
    pub sent_title: &'static str,
    pub sent: &'static str,
    pub link: &'static str,
    pub back: &'static str,
}

const FORGOT: Forgot = Forgot {
    title: "Forgot your password?",
    intro: "Enter your account's email address and we will mail you a link to choose a new \
        password.",
    email: "Email address",
    submit: "Send me a link",
    email_required: "Enter your email address.",
    invalid_email: "Enter an email address like name@example.com.",
    sent_title: "Check your mail",
    sent: "If there is an account for {email}, we sent it a link to choose a new password. The \
        link works once, for 30 minutes.",
    link: "Forgot your password?",
    back: "Back to sign in",
};
