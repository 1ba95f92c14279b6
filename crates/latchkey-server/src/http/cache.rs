//! Answers no cache may keep: tokens, one-time secrets, errors. The one place that writes
//! `Cache-Control: no-store`.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

/// `Cache-Control: no-store` on an answer no cache between here and the client may keep.
pub fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// An answer carrying tokens: `no-store`, and `Pragma: no-cache` for HTTP/1.0 caches.
pub fn tokens_uncached(mut response: Response) -> Response {
    let headers = response.headers_mut();
    no_store(headers);
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
