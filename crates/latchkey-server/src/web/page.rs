//! What every page shares: the layout's values, rendering a template into an answer, the
//! security headers, and the pages for a refused form and an unavailable service.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::csrf::{self, Refused};
use super::session::WebUser;
use super::text::{EN, Text};
use crate::state::AppState;

/// No script or style but our own files, never inside a frame. `form-action` is left out on
/// purpose: a hosted sign-in's form ends in a redirect to the app, which it would block.
const CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
                   base-uri 'none'; frame-ancestors 'none'";

/// The base layout's values: every page template has one as `layout`.
pub struct Layout {
    pub t: &'static Text,
    pub product: String,
    pub title: String,
    /// The signed-in person's address, for the header (and its sign-out form).
    pub user: Option<String>,
    /// The token for the forms of this page (the header's sign-out form too).
    pub csrf: String,
    /// Field errors and page errors; the summary at the top takes focus when there are any.
    pub problems: Problems,
}

impl Layout {
    pub fn new(app: &AppState, title: &str, user: Option<&WebUser>) -> Layout {
        let binding = user.map_or(csrf::PUBLIC, |u| u.sid.as_str());
        Layout {
            t: &EN,
            product: app.config.product_name.clone(),
            title: title.to_owned(),
            user: user.map(|u| u.profile.email.clone()),
            csrf: csrf::token(app, binding),
            problems: Problems::default(),
        }
    }

    pub fn with_problems(mut self, problems: Problems) -> Layout {
        self.problems = problems;
        self
    }
}

/// What went wrong on a page: each with the field it is about (its `id`), if any.
#[derive(Default)]
pub struct Problems {
    pub items: Vec<Problem>,
}

pub struct Problem {
    /// The `id` of the field; the summary links to it.
    pub field: Option<&'static str>,
    pub message: String,
}

impl Problems {
    pub fn add(&mut self, field: Option<&'static str>, message: impl Into<String>) {
        self.items.push(Problem {
            field,
            message: message.into(),
        });
    }

    pub fn one(field: Option<&'static str>, message: impl Into<String>) -> Problems {
        let mut p = Problems::default();
        p.add(field, message);
        p
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The message about `field`, for its `aria-describedby` text.
    pub fn for_field(&self, field: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|p| p.field == Some(field))
            .map(|p| p.message.as_str())
    }
}

/// A rendered page with `status`. A template that fails to render is a bug: logged, 500.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `303 See Other` to `to`: the answer to a form, so a reload does not send it again.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The headers every page and file answer carries.
pub async fn security_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Pages show addresses, codes and secrets: no cache keeps them (files set their own).
    if !h.contains_key(header::CACHE_CONTROL) {
        crate::http::cache::no_store(h);
    }
    response
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub layout: Layout,
    pub message: String,
    /// A link onwards: (href, text).
    pub link: Option<(String, &'static str)>,
}

/// A form another site sent, or an old one: refused, with a way back.
pub fn refused(app: &AppState, why: Refused, user: Option<&WebUser>) -> Response {
    let t = &EN.common;
    let message = match why {
        Refused::CrossSite => t.refused_cross_site,
        Refused::BadToken => t.refused_expired_form,
    };
    let page = MessagePage {
        layout: Layout::new(app, t.refused_title, user),
        message: message.to_owned(),
        link: Some(("/".to_owned(), t.back_to_sign_in)),
    };
    render(StatusCode::FORBIDDEN, &page)
}

/// The state store or database cannot answer: try again shortly (never "signed out").
pub fn unavailable(app: &AppState) -> Response {
    let t = &EN.common;
    let page = MessagePage {
        layout: Layout::new(app, t.unavailable, None),
        message: t.unavailable.to_owned(),
        link: None,
    };
    let mut response = render(StatusCode::SERVICE_UNAVAILABLE, &page);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

/// `Some(path)` when `next` is a path on this server: never another host (`//evil`, `/\evil`).
pub fn local_path(next: Option<&str>) -> Option<String> {
    let next = next?;
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control());
    ok.then(|| next.to_owned())
}

/// A page's own path and query, for `?next=`.
pub fn here(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned())
}
