//! Domain values as the API shows them.

use latchkey_api::{SessionView, UserView};
use latchkey_core::auth::SessionInfo;
use latchkey_core::clock::rfc3339_ms;
use latchkey_core::store::User;

pub fn user_view(u: &User) -> UserView {
    UserView {
        user_id: u.id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        phone: u.phone.clone(),
        role: u.role.as_str().to_owned(),
        org_id: u.org_id.clone(),
        scopes: u.scopes.clone(),
    }
}

pub fn session_view(s: SessionInfo) -> SessionView {
    SessionView {
        id: s.row.id,
        created_at: rfc3339_ms(s.row.created_at),
        last_used_at: rfc3339_ms(s.row.last_used_at),
        user_agent: s.row.user_agent,
        ip: s.row.ip,
        current: s.current,
    }
}
