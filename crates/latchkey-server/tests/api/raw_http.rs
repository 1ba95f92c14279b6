//! Requests no well-behaved HTTP client would send, over raw TCP: every refusal still comes in
//! the documented error shape, including the ones hyper answers before our router runs.

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::helpers::raw_http::{RawResponse, connect, read_response};
use crate::helpers::{Backend, TestApp};

impl RawResponse {
    /// The body as the error shape; its machine code.
    pub fn error_code(&self) -> String {
        assert!(
            self.head
                .to_ascii_lowercase()
                .contains("\r\ncontent-type: application/json"),
            "{}",
            self.head
        );
        let body: Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {:?}", String::from_utf8_lossy(&self.body)));
        assert_eq!(body["status"], "failed", "{body}");
        assert_eq!(body["code"], self.status, "{body}");
        assert!(body["message"].is_string(), "{body}");
        assert_eq!(body["data"], json!({}), "{body}");
        body["error"].as_str().unwrap().to_owned()
    }
}

async fn exchange(app: &TestApp, request: &[u8]) -> RawResponse {
    let mut stream = connect(&app.base).await;
    // The server may answer and close before it has read everything we send.
    let _ = stream.write_all(request).await;
    read_response(&mut stream).await
}

#[tokio::test]
async fn a_long_url_is_uri_too_long_in_the_error_shape() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    // Over our limit, and over hyper's own (64 KiB), which it answers before any router.
    for len in [10 * 1024, 100 * 1024] {
        let path = format!("/api/v1/me?pad={}", "a".repeat(len));
        let r = exchange(
            &app,
            format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes(),
        )
        .await;
        assert_eq!(r.status, 414, "{len}");
        assert_eq!(r.error_code(), "uri_too_long");
    }
}

#[tokio::test]
async fn too_many_or_too_large_headers_are_headers_too_large_in_the_error_shape() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let many: String = (0..120).map(|i| format!("x-h{i}: v\r\n")).collect();
    let large: String = (0..60)
        .map(|i| format!("x-h{i}: {}\r\n", "v".repeat(10 * 1024)))
        .collect();
    for (what, headers) in [("120 lines", many), ("600 KB", large)] {
        let r = exchange(
            &app,
            format!("GET /healthz HTTP/1.1\r\nhost: x\r\n{headers}\r\n").as_bytes(),
        )
        .await;
        assert_eq!(r.status, 431, "{what}");
        assert_eq!(r.error_code(), "headers_too_large", "{what}");
    }
}

#[tokio::test]
async fn a_path_that_does_not_decode_to_utf8_is_an_invalid_request() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let grant = app.signup("ann@example.com").await;
    let token = grant["access_token"].as_str().unwrap();
    for path in [
        &b"/api/v1/sessions/%FF"[..],
        b"/api/v1/sessions/%zz",
        b"/api/v1/api-keys/%C3%28/rotate",
        b"/api/v1/sessions/\xff\xfe",
        b"/nowhere/%",
    ] {
        let mut request = b"DELETE ".to_vec();
        request.extend_from_slice(path);
        request.extend_from_slice(
            format!(" HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\r\n").as_bytes(),
        );
        let r = exchange(&app, &request).await;
        let what = String::from_utf8_lossy(path);
        assert_eq!(r.status, 400, "{what}");
        assert_eq!(r.error_code(), "invalid_request", "{what}");
    }
}

#[tokio::test]
async fn bytes_that_are_not_http_get_the_error_shape() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let r = exchange(&app, b"HELLO THERE\x01\r\n\r\n").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "invalid_request");
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_sent() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    // Only the head: a server that waits for the body never answers within the deadline.
    let r = exchange(
        &app,
        b"POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
          content-length: 2000000\r\n\r\n{\"email\":",
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error_code(), "payload_too_large");
}
