//! Checks on the request line and head before any handler runs, each answering in the error
//! shape: hyper and axum would otherwise answer some of these in plain text, or only after
//! waiting for a body that is never going to be accepted.

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use latchkey_api::ErrorCode;

use super::error::ApiError;
use crate::limits::BODY_LIMIT;

/// Longest accepted path and query. hyper's own limit (64 KiB) answers without a body.
pub const URI_LIMIT: usize = 8 * 1024;

pub async fn request_line(req: Request, next: Next) -> Response {
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > URI_LIMIT {
        return ApiError::new(ErrorCode::UriTooLong, "the URL is longer than 8 KiB")
            .into_response();
    }
    if !decodes_to_utf8(req.uri().path()) {
        return ApiError::invalid_request(
            "the path has a percent-escape that is malformed or not UTF-8",
        )
        .into_response();
    }
    // A declared length over the limit is refused before a byte of the body is read, instead
    // of waiting for a body we would refuse anyway.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return ApiError::new(
            ErrorCode::PayloadTooLarge,
            "the request body is larger than 1 MiB",
        )
        .into_response();
    }
    next.run(req).await
}

/// Every `%` starts two hex digits and the decoded bytes are UTF-8.
fn decodes_to_utf8(path: &str) -> bool {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) if hex.is_some_and(|h| h.bytes().all(|c| c.is_ascii_hexdigit())) => {
                    decoded.push(b);
                }
                _ => return false,
            }
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

#[cfg(test)]
mod tests {
    use super::decodes_to_utf8;

    #[test]
    fn percent_escapes_must_decode_to_utf8() {
        for ok in ["/", "/api/v1/sessions/abc", "/x/%C3%A9", "/a%20b", "/%2F"] {
            assert!(decodes_to_utf8(ok), "{ok}");
        }
        for bad in [
            "/x/%FF",
            "/x/%zz",
            "/x/%",
            "/x/%4",
            "/x/%C3",
            "/x/%+1",
            "/x/%C3%28",
        ] {
            assert!(!decodes_to_utf8(bad), "{bad}");
        }
    }
}
