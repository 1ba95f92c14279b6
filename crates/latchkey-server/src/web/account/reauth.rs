//! The inline password prompt of a sensitive change on the console pages: a refusal that asks
//! for a recent sign-in shows the prompt, and the form sent again carries the password, which
//! re-authenticates the session before the change is tried once more.

use latchkey_api::ErrorCode;
use latchkey_core::auth::reauth::Proof;
use latchkey_core::error::AuthError;
use latchkey_core::secret::Secret;

use crate::state::AppState;
use crate::web::form::Fields;
use crate::web::session::WebUser;

/// The prompt's field, in every console form that may show it.
pub const FIELD: &str = "reauth_password";

/// Whether the form carries the prompt's password.
pub fn given(f: &Fields) -> bool {
    f.get(FIELD).is_some_and(|p| !p.is_empty())
}

/// Re-authenticates with the prompt's password when the form carries one; nothing otherwise.
pub async fn with_form_password(
    app: &AppState,
    user: &WebUser,
    f: &Fields,
) -> Result<(), AuthError> {
    let Some(password) = f.get(FIELD).filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let proof = Proof::Password(Secret::new(password.to_owned()));
    app.auth
        .reauthenticate(&user.principal, proof)
        .await
        .map(|_| ())
}

/// What the prompt says for a refusal it answers: `needed` when the change wants a recent
/// sign-in, `wrong` when the password given was not right; `None` for any other refusal.
pub fn prompt(code: ErrorCode, needed: &'static str, wrong: &'static str) -> Option<&'static str> {
    match code {
        ErrorCode::ReauthenticationRequired => Some(needed),
        ErrorCode::InvalidCredentials => Some(wrong),
        _ => None,
    }
}
