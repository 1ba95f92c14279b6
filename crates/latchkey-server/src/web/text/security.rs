//! The words of `/confirm-email` and `/account/security` (part of the one catalogue in
//! `text.rs`).

// ---- confirm_email: the link mailed to a new address (security) ------------------------------
pub struct ConfirmEmail {
    pub title: &'static str,
    pub intro: &'static str,
    pub submit: &'static str,
    pub done_title: &'static str,
    pub done: &'static str,
    pub dead_title: &'static str,
    pub dead: &'static str,
    pub taken: &'static str,
    pub disabled: &'static str,
    pub onwards: &'static str,
}

pub const CONFIRM_EMAIL: ConfirmEmail = ConfirmEmail {
    title: "Confirm your new email address",
    intro: "Press the button to make this address your account's email address. If you did \
        not ask for this change, close this page: nothing changes.",
    submit: "Confirm this address",
    done_title: "Email address changed",
    done: "Your account's email address is now {email}.",
    dead_title: "This link no longer works",
    dead: "This link is unknown, has expired or was already used. Ask for the change again \
        from your account.",
    taken: "Another account uses this address by now, so it cannot be yours as well.",
    disabled: "This account is disabled.",
    onwards: "Go to your account",
};
