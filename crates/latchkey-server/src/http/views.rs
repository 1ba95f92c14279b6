//! Domain values as the API shows them.

use latchkey_api::{ApiKeyCreated, ApiKeyView, MemberView, SessionView, UserView};
use latchkey_core::User;
use latchkey_core::auth::{ApiKeyInfo, CreatedKey, Profile, SessionInfo};
use latchkey_core::clock::rfc3339_ms;

pub fn user_view(u: &User) -> UserView {
    UserView {
        user_id: u.id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        phone: u.phone.clone(),
        role: Some(u.role.as_str().to_owned()),
        org_id: u.org_id.clone(),
        scopes: u.scopes.clone(),
        key_id: None,
        email_verified: None,
    }
}

pub fn profile_view(p: Profile) -> UserView {
    UserView {
        user_id: p.user_id,
        email: p.email,
        name: p.name,
        phone: p.phone,
        role: p.role.map(|r| r.as_str().to_owned()),
        org_id: p.org_id,
        scopes: p.scopes,
        key_id: p.key_id,
        email_verified: Some(p.email_verified),
    }
}

pub fn key_view(k: ApiKeyInfo) -> ApiKeyView {
    ApiKeyView {
        id: k.id,
        prefix: k.prefix,
        name: k.name,
        scopes: k.scopes,
        effective_scopes: k.effective_scopes,
        created_at: rfc3339_ms(k.created_at),
        last_used_at: k.last_used_at.map(rfc3339_ms),
        expires_at: k.expires_at.map(rfc3339_ms),
    }
}

pub fn key_created(k: CreatedKey) -> ApiKeyCreated {
    ApiKeyCreated {
        id: k.info.id,
        key: k.key.expose().to_owned(),
        prefix: k.info.prefix,
        scopes: k.info.effective_scopes,
    }
}

pub fn member_view(u: &User) -> MemberView {
    MemberView {
        user_id: u.id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        role: u.role.as_str().to_owned(),
        scopes: u.scopes.clone(),
        disabled: u.disabled,
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
