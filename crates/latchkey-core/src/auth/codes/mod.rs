//! Mailed sign-in codes and how sign-in attempts are counted: six-digit codes and magic
//! links (`login_codes`), the per-IP / per-account / per-device attempt budgets and lockouts
//! every sign-in step charges (`lockout`), and the mail queue that sends codes and reset links
//! after the answer (`outgoing`).
//!
//! Other areas may call: the counters (`charge_ip`, `charge_target`, `give_back`, `relieve`,
//! `clear_lock`, `take_attempt`, `take_lock_attempt`), `device_token`, the address code of a
//! provider sign-up (`send_address_code`, `check_address_code`), `code_hash`, and the mail
//! (`queue_mail`, `mail`).
//!
//! This area calls: `accounts` (create, verify or take over the account a code proves),
//! `mfa` (the second factor after a code), `sessions::open_session`, and the shared base.

pub mod lockout;
mod login_codes;
mod outgoing;

pub(in crate::auth) use lockout::Target;
pub use login_codes::{CodeSent, MAX_CODE_ATTEMPTS};
pub(in crate::auth) use outgoing::{MailQueue, Outgoing};
