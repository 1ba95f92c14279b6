//! The pages' own files, compiled into the binary and served under `/static/`: no CDN, no
//! build step. `theme.css` carries the configured accent colour (inline styles are forbidden
//! by the pages' CSP, so it cannot go in the page).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

const STYLE: &str = include_str!("../../static/style.css");
const SCRIPT: &str = include_str!("../../static/app.js");
const ICON: &str = include_str!("../../static/icon.svg");

#[expect(
    clippy::disallowed_methods,
    reason = "static files are not API operations and stay out of the OpenAPI document"
)]
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/static/style.css",
            get(|| async { file("text/css", STYLE) }),
        )
        .route(
            "/static/app.js",
            get(|| async { file("text/javascript", SCRIPT) }),
        )
        .route("/static/theme.css", get(theme))
        .route(
            "/static/icon.svg",
            get(|| async { file("image/svg+xml", ICON) }),
        )
}

fn file(kind: &'static str, body: impl Into<String>) -> Response {
    let mut response = body.into().into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&format!("{kind}; charset=utf-8"))
            .unwrap_or(HeaderValue::from_static("text/plain")),
    );
    // Files change only with the binary; an hour is short enough for an upgrade.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

async fn theme(State(app): State<AppState>) -> Response {
    // The colour was checked as `#rgb` or `#rrggbb` when the configuration loaded.
    let accent = &app.config.accent_color;
    file("text/css", format!(":root{{--accent:{accent}}}\n"))
}
