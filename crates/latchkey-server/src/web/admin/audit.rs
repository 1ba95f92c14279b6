//! `/admin/audit`: the organization's audit log with filters (event, member, dates) and
//! keyset paging, read with the same query rules as `GET /api/v1/admin/audit`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_api::AuditLogQuery;
use latchkey_core::audit::AuditEvent;

use super::{admin_only, failed};
use crate::state::AppState;
use crate::web::extract::SignedIn;
use crate::web::form::{Fields, Query};
use crate::web::page::{Layout, Problems, render};
use crate::web::text::EN;
use crate::web::times::when;

pub struct EventRow {
    pub at: String,
    pub event: String,
    pub actor: String,
    pub subject: String,
    pub ip: String,
    pub detail: String,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub events: Vec<EventRow>,
    pub event_choices: Vec<Choice>,
    pub member_choices: Vec<Choice>,
    pub since: String,
    pub until: String,
    /// The link to the next (older) page, with the same filters.
    pub older: Option<String>,
    /// Whether this is a later page (a link back to the newest).
    pub paged: bool,
}

/// A date field (`YYYY-MM-DD`, UTC) as RFC 3339: `since` from the day's start, `until` up to
/// the day's end (the API's `until` is exclusive, people mean the whole day).
fn day(value: &str, end_of_day: bool) -> Option<Result<String, ()>> {
    if value.is_empty() {
        return None;
    }
    let mut parts = value.splitn(3, '-').map(str::parse::<u16>);
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) = (parts.next(), parts.next(), parts.next()) else {
        return Some(Err(()));
    };
    let month = u8::try_from(m)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok());
    let d = u8::try_from(d).ok();
    let Some(Ok(d)) = month
        .zip(d)
        .map(|(m, d)| time::Date::from_calendar_date(i32::from(y), m, d))
    else {
        return Some(Err(()));
    };
    let d = if end_of_day { d.next_day() } else { Some(d) };
    Some(d.map(|d| format!("{d}T00:00:00Z")).ok_or(()))
}

fn query_of(f: &Fields) -> Result<AuditLogQuery, &'static str> {
    let t = &EN.admin;
    let opt = |name: &str| Some(f.text(name)).filter(|v| !v.is_empty());
    let since = day(&f.text("since"), false)
        .transpose()
        .map_err(|_| t.date_invalid)?;
    let until = day(&f.text("until"), true)
        .transpose()
        .map_err(|_| t.date_invalid)?;
    Ok(AuditLogQuery {
        // 50 a page unless the address asks for another size (checked like the API's).
        limit: opt("limit").or(Some("50".to_owned())),
        cursor: opt("cursor"),
        event: opt("event"),
        user_id: opt("user_id"),
        since,
        until,
        all_orgs: None,
    })
}

/// The filters as a query string, for the next page's link.
fn link(f: &Fields, cursor: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for name in ["event", "user_id", "since", "until", "limit"] {
        let v = f.text(name);
        if !v.is_empty() {
            q.append_pair(name, &v);
        }
    }
    q.append_pair("cursor", cursor);
    format!("/admin/audit?{}", q.finish())
}

/// `GET /admin/audit`.
pub async fn log(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Query(f): Query,
) -> Response {
    if let Some(r) = admin_only(&app, &user) {
        return r;
    }
    let t = &EN.admin;
    let members = match app.auth.list_members(&user.principal).await {
        Ok(m) => m,
        Err(e) => return failed(&app, &user, e.into(), "/admin"),
    };
    let mut problems = Problems::default();
    let parsed = query_of(&f).map_err(|m| problems.add(None, m)).ok();
    let parsed = parsed.and_then(|q| {
        crate::http::audit::parse(q)
            .map_err(|e| problems.add(None, e.message))
            .ok()
    });
    let (events, next) = match parsed {
        Some(q) => match app.auth.audit_log(&user.principal, &q).await {
            Ok(page) => (page.events, page.next_cursor),
            Err(e) => return failed(&app, &user, e.into(), "/admin/audit"),
        },
        None => (Vec::new(), None),
    };
    let name_of = |id: &Option<String>| match id {
        None => "—".to_owned(),
        Some(id) => members
            .iter()
            .find(|m| &m.id == id)
            .map_or_else(|| id.clone(), |m| m.email.clone()),
    };
    let events = events
        .into_iter()
        .map(|e| EventRow {
            at: when(e.at),
            actor: match e.actor_kind.as_str() {
                "user" => name_of(&e.actor_id),
                "api_key" => format!("{} {}", t.api_key, e.actor_id.clone().unwrap_or_default()),
                other => other.to_owned(),
            },
            subject: name_of(&e.subject_user_id),
            ip: e.ip.unwrap_or_else(|| "—".to_owned()),
            detail: if e.detail == "{}" {
                String::new()
            } else {
                e.detail
            },
            event: e.event,
        })
        .collect();
    let event = f.text("event");
    let mut event_choices = vec![Choice {
        value: String::new(),
        label: t.all_events.to_owned(),
        selected: event.is_empty(),
    }];
    event_choices.extend(AuditEvent::ALL.iter().map(|e| Choice {
        value: e.as_str().to_owned(),
        label: e.as_str().to_owned(),
        selected: event == e.as_str(),
    }));
    let member = f.text("user_id");
    let mut member_choices = vec![Choice {
        value: String::new(),
        label: t.all_members.to_owned(),
        selected: member.is_empty(),
    }];
    member_choices.extend(members.iter().map(|m| Choice {
        value: m.id.clone(),
        label: m.email.clone(),
        selected: member == m.id,
    }));
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = AuditPage {
        layout: Layout::new(&app, t.audit_title, Some(&user)).with_problems(problems),
        events,
        event_choices,
        member_choices,
        since: f.text("since"),
        until: f.text("until"),
        older: next.map(|c| link(&f, &c)),
        paged: f.get("cursor").is_some(),
    };
    render(status, &page)
}
