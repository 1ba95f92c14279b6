//! `GET /api/v1/admin/audit`: an organization's audit log, newest first, in keyset pages.

use serde::{Deserialize, Serialize};

/// One recorded event. `detail` is a small object whose keys depend on `event`; it never
/// holds a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEventView {
    pub id: String,
    /// RFC 3339, UTC, milliseconds.
    pub at: String,
    /// Dotted name, e.g. `login.failed`, `member.role_changed`.
    pub event: String,
    /// `user`, `api_key`, `system` or `anonymous`.
    pub actor_kind: String,
    /// The user (or, for `api_key`, the key) that acted; absent for `system` and `anonymous`.
    pub actor_id: Option<String>,
    /// The account the event is about.
    pub subject_user_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}

/// One page of the log, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditLog {
    pub events: Vec<AuditEventView>,
    /// Pass as `?cursor=` for the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The query string, as sent (parsed and checked by the server).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditLogQuery {
    /// 1–200, default 50.
    #[serde(default)]
    pub limit: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    /// An exact event name, or a prefix ending in `.` (`login.`).
    #[serde(default)]
    pub event: Option<String>,
    /// Events where this user acted or was acted on.
    #[serde(default)]
    pub user_id: Option<String>,
    /// RFC 3339; events at or after it.
    #[serde(default)]
    pub since: Option<String>,
    /// RFC 3339; events before it.
    #[serde(default)]
    pub until: Option<String>,
    /// `true`: every organization's events and those of none (operators only).
    #[serde(default)]
    pub all_orgs: Option<String>,
}
