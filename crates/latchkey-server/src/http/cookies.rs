//! Reading request cookies: below the extractors and the cookie modules that use it.

use axum::http::{HeaderMap, header};

/// The value of the cookie `name` the request carries, if any (the first of that name).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}
