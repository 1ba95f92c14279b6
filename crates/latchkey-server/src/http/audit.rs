//! `GET /api/v1/admin/audit`: an organization's audit log for its admins.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use latchkey_api::{AuditEventView, AuditLog, AuditLogQuery};
use latchkey_core::audit::AuditRow;
use latchkey_core::auth::AuditQuery;
use latchkey_core::auth::audit::{DEFAULT_PAGE, MAX_PAGE};
use latchkey_core::clock::rfc3339_ms;

use super::error::{ApiError, ApiResult};
use super::extract::Caller;
use super::openapi::{errors, responses};
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/admin/audit",
    tag = "admin",
    operation_id = "listAuditEvents",
    summary = "The organization's audit log",
    description = "Sign-ups, logins and failures, lockouts, refresh-token reuse detections, API-key creation, change, rotation and deletion, scope, role and status changes, session revocations, second-factor, password and address changes, each with when, who acted (`actor_kind`, `actor_id`), on whom, the client address and user agent. Newest first, in keyset pages: pass the previous page's `next_cursor` as `cursor` (`null` on the last page); events written meanwhile never shift or repeat a page. Organization admins only, with their own access token. An invalid or unknown parameter is `400 invalid_request`.",
    security(("bearerAuth" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "Events per page, 1–200 (default 50)."),
        ("cursor" = Option<String>, Query, description = "The previous page's `next_cursor`."),
        ("event" = Option<String>, Query, description = "An event name (`login.failed`) or a prefix ending in a dot (`login.`)."),
        ("user_id" = Option<String>, Query, description = "Only events where this user acted or was acted on."),
        ("since" = Option<String>, Query, description = "RFC 3339: events at or after it."),
        ("until" = Option<String>, Query, description = "RFC 3339: events before it."),
        ("all_orgs" = Option<bool>, Query, description = "`true`: every organization's events and those that belong to none (failed logins for unknown addresses, per-address limits, signing-key rotations). Operators only (`latchkey users operator`); anyone else gets `403 forbidden`.")
    ),
    responses(
        responses::AdminRoute,
        (status = 200, description = "One page of events, newest first.", body = latchkey_api::AuditLog),
        (status = 400, response = inline(errors::InvalidRequest))
    )
)]
pub async fn list(
    State(app): State<AppState>,
    Caller(caller): Caller,
    uri: Uri,
) -> ApiResult<Json<AuditLog>> {
    let raw: AuditLogQuery = axum::extract::Query::try_from_uri(&uri)
        .map(|axum::extract::Query(q)| q)
        .map_err(|_| {
            ApiError::invalid_request(
                "the query string is malformed or names an unknown parameter \
                 (limit, cursor, event, user_id, since, until, all_orgs)",
            )
        })?;
    let query = parse(raw)?;
    let page = app.auth.audit_log(&caller, &query).await?;
    Ok(Json(AuditLog {
        events: page.events.into_iter().map(view).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub(crate) fn parse(raw: AuditLogQuery) -> ApiResult<AuditQuery> {
    let limit = match raw.limit.as_deref() {
        None => DEFAULT_PAGE,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::invalid_request(format!("invalid limit: an integer from 1 to {MAX_PAGE}"))
            })?,
    };
    // Event names are lower-case words and dots; anything else cannot match and is refused.
    if let Some(e) = &raw.event
        && (e.is_empty()
            || e.len() > 64
            || !e
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.'))
    {
        return Err(ApiError::invalid_request(
            "invalid event: an event name (login.failed) or a prefix ending in a dot (login.)",
        ));
    }
    if let Some(u) = &raw.user_id
        && (u.is_empty() || u.len() > 64)
    {
        return Err(ApiError::invalid_request("invalid user_id"));
    }
    if raw.cursor.as_deref().is_some_and(|c| c.len() > 200) {
        return Err(ApiError::invalid_request(
            "invalid cursor: not a cursor from a previous page",
        ));
    }
    let all_orgs = match raw.all_orgs.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::invalid_request("invalid all_orgs: true or false")),
    };
    let since = raw.since.as_deref().map(|v| time("since", v)).transpose()?;
    let until = raw.until.as_deref().map(|v| time("until", v)).transpose()?;
    Ok(AuditQuery {
        limit,
        cursor: raw.cursor,
        event: raw.event,
        user_id: raw.user_id,
        since,
        until,
        all_orgs,
    })
}

fn time(field: &'static str, value: &str) -> ApiResult<i64> {
    let t = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map_err(|_| ApiError::invalid_request(format!("invalid {field}: expected RFC 3339")))?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn view(row: AuditRow) -> AuditEventView {
    AuditEventView {
        id: row.id,
        at: rfc3339_ms(row.at),
        event: row.event,
        actor_kind: row.actor_kind,
        actor_id: row.actor_id,
        subject_user_id: row.subject_user_id,
        ip: row.ip,
        user_agent: row.user_agent,
        detail: serde_json::from_str(&row.detail).unwrap_or_else(|_| serde_json::json!({})),
    }
}
