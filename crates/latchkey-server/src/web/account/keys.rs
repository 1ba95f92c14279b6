//! `/account/keys`: the person's API keys. Create one (name, scopes among those they hold,
//! expiry) and see its secret once; list them (prefix, scopes, created, last used); rotate
//! with an optional overlap; delete after typing the key's name. The same domain calls as
//! `/api/v1/api-keys`, so the same rules hold: a key that can do more than read needs a
//! recent re-authentication, which the page asks for with the password.

use std::time::Duration;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_api::ErrorCode;
use latchkey_core::auth::{ApiKeyInfo, CreatedKey, NewApiKey};
use latchkey_core::error::AuthError;

use super::reauth;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::web::extract::SignedIn;
use crate::web::form::{Fields, Form, Query};
use crate::web::page::{self, Layout, Problems, render, see_other};
use crate::web::session::WebUser;
use crate::web::text::EN;
use crate::web::times::when;

/// Expiry choices, in days (`0`: never).
pub const EXPIRIES: &[(&str, u64)] = &[("0", 0), ("7", 7), ("30", 30), ("90", 90), ("365", 365)];
/// Rotation overlaps, in seconds (`0`: the old secret stops at once).
pub const OVERLAPS: &[(&str, u64)] = &[
    ("0", 0),
    ("3600", 3600),
    ("86400", 86400),
    ("604800", 604800),
];

pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
}

pub struct ScopeBox {
    pub id: String,
    pub name: String,
    pub checked: bool,
}

/// A secret shown this once.
pub struct Shown {
    pub name: String,
    pub secret: String,
    pub rotated: bool,
}

#[derive(Template)]
#[template(path = "account_keys.html")]
pub struct KeysPage {
    pub layout: Layout,
    pub keys: Vec<KeyRow>,
    pub scopes: Vec<ScopeBox>,
    pub name: String,
    pub all_scopes: bool,
    pub expires: String,
    pub shown: Option<Shown>,
    /// The key needs a recent re-authentication: the form asks for the password.
    pub reauth: bool,
    pub notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "account_key_delete.html")]
pub struct DeletePage {
    pub layout: Layout,
    pub key: KeyRow,
}

fn row(k: &ApiKeyInfo) -> KeyRow {
    let t = &EN.keys;
    KeyRow {
        id: k.id.clone(),
        name: k.name.clone(),
        prefix: k.prefix.clone(),
        scopes: match &k.scopes {
            None => t.follows_account.to_owned(),
            Some(s) if s.is_empty() => t.no_scopes.to_owned(),
            Some(s) => s.join(", "),
        },
        created: when(k.created_at),
        last_used: k.last_used_at.map_or_else(|| t.never_used.to_owned(), when),
        expires: k
            .expires_at
            .map_or_else(|| t.never_expires.to_owned(), when),
    }
}

/// The form's state, to show it again as it was sent.
struct Draft {
    name: String,
    all_scopes: bool,
    chosen: Vec<String>,
    expires: String,
}

impl Draft {
    fn empty() -> Draft {
        Draft {
            name: String::new(),
            all_scopes: true,
            chosen: Vec::new(),
            expires: "0".to_owned(),
        }
    }

    fn read(f: &Fields, held: &[String]) -> Draft {
        Draft {
            name: f.text("name"),
            all_scopes: f.get("scope_mode") != Some("some"),
            // One checkbox per scope the person holds, named after it: nothing else is read.
            chosen: held
                .iter()
                .filter(|s| f.get(&format!("scope.{s}")).is_some())
                .cloned()
                .collect(),
            expires: f.text("expires"),
        }
    }
}

struct View {
    status: StatusCode,
    draft: Draft,
    shown: Option<Shown>,
    reauth: bool,
    notice: Option<&'static str>,
    problems: Problems,
}

impl View {
    fn ok() -> View {
        View {
            status: StatusCode::OK,
            draft: Draft::empty(),
            shown: None,
            reauth: false,
            notice: None,
            problems: Problems::default(),
        }
    }
}

async fn show(app: &AppState, user: &WebUser, v: View) -> Response {
    let Ok(keys) = app.auth.own_api_keys(&user.principal).await else {
        return page::unavailable(app);
    };
    let scopes = user
        .principal
        .scopes
        .iter()
        .enumerate()
        .map(|(i, s)| ScopeBox {
            id: format!("scope-{i}"),
            name: s.clone(),
            checked: v.draft.chosen.contains(s),
        })
        .collect();
    let page = KeysPage {
        layout: Layout::new(app, EN.keys.title, Some(user)).with_problems(v.problems),
        keys: keys.iter().map(row).collect(),
        scopes,
        name: v.draft.name,
        all_scopes: v.draft.all_scopes,
        expires: v.draft.expires,
        shown: v.shown,
        reauth: v.reauth,
        notice: v.notice,
    };
    render(v.status, &page)
}

/// `GET /account/keys`.
pub async fn list(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Query(q): Query,
) -> Response {
    let mut v = View::ok();
    if q.get("done") == Some("deleted") {
        v.notice = Some(EN.keys.deleted);
    }
    show(&app, &user, v).await
}

/// `POST /account/keys`: creates a key and shows its secret this once.
pub async fn create(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Form(f): Form,
) -> Response {
    let t = &EN.keys;
    let draft = Draft::read(&f, &user.principal.scopes);
    let mut problems = Problems::default();
    if draft.name.is_empty() {
        problems.add(Some("name"), t.name_required);
    }
    let days = EXPIRIES
        .iter()
        .find(|(v, _)| *v == draft.expires)
        .map(|(_, d)| *d);
    if days.is_none() {
        problems.add(Some("expires"), t.expiry_invalid);
    }
    let mut view = View {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        draft,
        shown: None,
        reauth: reauth::given(&f),
        notice: None,
        problems,
    };
    if !view.problems.is_empty() {
        return show(&app, &user, view).await;
    }
    if let Err(e) = reauth::with_form_password(&app, &user, &f).await {
        return refused(&app, &user, view, e).await;
    }
    let now = app.auth.clock().now_ms();
    let new = NewApiKey {
        name: view.draft.name.clone(),
        scopes: (!view.draft.all_scopes).then(|| view.draft.chosen.clone()),
        expires_at: days
            .filter(|d| *d > 0)
            .map(|d| now + Duration::from_secs(d * 86_400).as_millis() as i64),
    };
    match app.auth.create_api_key(&user.principal, new).await {
        Ok(created) => {
            view.draft = Draft::empty();
            shown(&app, &user, created, false).await
        }
        Err(e) => refused(&app, &user, view, e).await,
    }
}

async fn shown(app: &AppState, user: &WebUser, created: CreatedKey, rotated: bool) -> Response {
    let mut v = View::ok();
    v.status = if rotated {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    v.shown = Some(Shown {
        name: created.info.name,
        secret: created.key.expose().to_owned(),
        rotated,
    });
    show(app, user, v).await
}

/// The create form again with what went wrong, in the page's words where it has them.
async fn refused(app: &AppState, user: &WebUser, mut v: View, e: AuthError) -> Response {
    let t = &EN.keys;
    let e = ApiError::from(e);
    v.status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    if let Some(say) = reauth::prompt(e.code, t.reauth_needed, t.reauth_wrong) {
        v.reauth = true;
        v.problems.add(Some(reauth::FIELD), say);
        return show(app, user, v).await;
    }
    match e.code {
        ErrorCode::ServiceUnavailable => return page::unavailable(app),
        ErrorCode::RateLimited => v.problems.add(None, EN.signin.rate_limited),
        ErrorCode::InvalidRequest => v.problems.add(Some("name"), e.message),
        _ => v.problems.add(None, e.message),
    }
    show(app, user, v).await
}

/// `POST /account/keys/{id}/rotate`: a new secret, shown once; the old one keeps working for
/// the chosen overlap.
pub async fn rotate(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    Form(f): Form,
) -> Response {
    let overlap = OVERLAPS
        .iter()
        .find(|(v, _)| Some(*v) == f.get("overlap"))
        .map_or(0, |(_, s)| *s);
    let result = app
        .auth
        .rotate_own_api_key(&user.principal, &id, Duration::from_secs(overlap))
        .await;
    match result {
        Ok(created) => shown(&app, &user, created, true).await,
        Err(e) => refused(&app, &user, View::ok(), e).await,
    }
}

async fn own_key(app: &AppState, user: &WebUser, id: &str) -> Result<Option<ApiKeyInfo>, Response> {
    match app.auth.own_api_keys(&user.principal).await {
        Ok(keys) => Ok(keys.into_iter().find(|k| k.id == id)),
        Err(_) => Err(page::unavailable(app)),
    }
}

fn gone(app: &AppState, user: &WebUser) -> Response {
    let t = &EN.keys;
    let page = page::MessagePage {
        layout: Layout::new(app, t.not_found, Some(user)),
        message: t.not_found.to_owned(),
        link: Some(("/account/keys".to_owned(), t.back)),
    };
    render(StatusCode::NOT_FOUND, &page)
}

/// `GET /account/keys/{id}/delete`: asks for the key's name before deleting it.
pub async fn confirm(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
) -> Response {
    match own_key(&app, &user, &id).await {
        Ok(Some(k)) => delete_page(&app, &user, &k, StatusCode::OK, Problems::default()),
        Ok(None) => gone(&app, &user),
        Err(r) => r,
    }
}

fn delete_page(
    app: &AppState,
    user: &WebUser,
    k: &ApiKeyInfo,
    status: StatusCode,
    problems: Problems,
) -> Response {
    let page = DeletePage {
        layout: Layout::new(app, EN.keys.delete_title, Some(user)).with_problems(problems),
        key: row(k),
    };
    render(status, &page)
}

/// `POST /account/keys/{id}/delete`: deletes the key when its name was typed.
pub async fn delete(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    Form(f): Form,
) -> Response {
    let k = match own_key(&app, &user, &id).await {
        Ok(Some(k)) => k,
        Ok(None) => return gone(&app, &user),
        Err(r) => return r,
    };
    if f.text("confirm") != k.name {
        let problems = Problems::one(Some("confirm"), EN.keys.confirm_mismatch);
        return delete_page(&app, &user, &k, StatusCode::UNPROCESSABLE_ENTITY, problems);
    }
    match app.auth.delete_own_api_key(&user.principal, &id).await {
        Ok(()) => see_other("/account/keys?done=deleted"),
        Err(AuthError::NotFound(_)) => gone(&app, &user),
        Err(_) => page::unavailable(&app),
    }
}
