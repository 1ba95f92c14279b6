//! Forward-auth reads the original request from exactly one source and never guesses: a
//! missing, doubled, conflicting, unreadable or ambiguous description is refused, however
//! permissive the policy. Raw TCP where an HTTP client would fix up the bytes.

use std::io::{Read, Write};

use reqwest::header::HeaderValue;
use serde_json::Value;

use crate::helpers::api_keys::access;
use crate::helpers::forward_auth::{
    Decision, allowed, decision_of, policy_file, refused, with_token,
};
use crate::helpers::{Backend, TestApp};
use latchkey_server::config::ForwardHeaders;

/// Everything is allowed to any valid token except `/admin/**` and deleting orders, which
/// need scopes nobody here has: any guess that lands on the catch-all is visible.
const CATCH_ALL: &str = r#"
[[rule]]
path = "/admin/**"
scopes = ["orders:write"]

[[rule]]
methods = ["DELETE"]
path = "/orders/**"
scopes = ["orders:write"]

[[rule]]
path = "/**"
scopes = []
"#;

/// Request headers as raw bytes.
type Headers<'a> = Vec<(&'static str, &'a [u8])>;

async fn spawn(policy: &str, mode: ForwardHeaders) -> (TestApp, String) {
    let path = policy_file(policy);
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.policy_file = Some(path);
        c.forward_headers = mode;
    })
    .await
    .unwrap();
    let token = access(&app.signup("eve@example.com").await);
    (app, token)
}

/// `/api/v1/authorize` (or `target`) with these headers, values as raw bytes.
async fn ask(app: &TestApp, token: &str, target: &str, headers: &[(&str, &[u8])]) -> Decision {
    ask_as(app, token, reqwest::Method::GET, target, headers).await
}

async fn ask_as(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    target: &str,
    headers: &[(&str, &[u8])],
) -> Decision {
    let mut req = app.client.request(method, app.url(target));
    for (name, value) in headers {
        req = req.header(*name, HeaderValue::from_bytes(value).unwrap());
    }
    decision_of(with_token(req, token).send().await.unwrap()).await
}

fn traefik<'a>(method: &'a str, uri: &'a [u8]) -> Headers<'a> {
    vec![
        ("x-forwarded-method", method.as_bytes()),
        ("x-forwarded-uri", uri),
    ]
}

fn nginx<'a>(method: &'a str, uri: &'a [u8]) -> Headers<'a> {
    vec![
        ("x-original-method", method.as_bytes()),
        ("x-original-uri", uri),
    ]
}

/// One HTTP/1.1 request written byte for byte; the status and the JSON body.
fn raw(app: &TestApp, head: &[u8]) -> (u16, Value) {
    let addr = app.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(head).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response);
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn raw_request(app: &TestApp, token: &str, line: &[u8], headers: &[u8]) -> (u16, Value) {
    let mut head = line.to_vec();
    head.extend_from_slice(b"\r\nHost: latchkey.test\r\nConnection: close\r\n");
    head.extend_from_slice(format!("Authorization: Bearer {token}\r\n").as_bytes());
    head.extend_from_slice(headers);
    head.extend_from_slice(b"\r\n");
    raw(app, &head)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_original_request_that_cannot_be_read_is_refused_not_matched_as_the_servers_own_path() {
    let (app, eve) = spawn(CATCH_ALL, ForwardHeaders::Auto).await;
    let bad = refused(400, "invalid_request");
    let cases: Vec<(Headers<'_>, Decision, &str)> = vec![
        (traefik("GET", b"/public/x"), allowed(&[]), "control"),
        (
            traefik("GET", b"/public/search?q=%C3%A9"),
            allowed(&[]),
            "escaped UTF-8 in the query is readable",
        ),
        (
            traefik("GET", b"/admin/users"),
            refused(403, "insufficient_scope"),
            "control",
        ),
        (
            traefik("GET", b"/admin/users?q=\xc3\xa9"),
            bad.clone(),
            "raw UTF-8",
        ),
        (
            traefik("DELETE", b"/orders/1?\xff"),
            bad.clone(),
            "raw 0xff",
        ),
        (
            nginx("GET", b"/admin/\xe9"),
            refused(403, "forbidden"),
            "Latin-1 via nginx: 403, which nginx passes on (it turns a 400 into a 500)",
        ),
        (
            nginx("GET", b"/admin/%ff"),
            refused(403, "forbidden"),
            "escaped non-UTF-8 via nginx",
        ),
        (
            traefik("GET", b"/admin/%ff"),
            bad.clone(),
            "escaped non-UTF-8",
        ),
        (
            traefik("GET", b"/admin/%zz"),
            bad.clone(),
            "malformed escape",
        ),
        (traefik("GET", b"admin/users"), bad.clone(), "not a path"),
        (
            traefik("GET", b"http://x/admin/users"),
            bad.clone(),
            "absolute form",
        ),
        (traefik("GÉT", b"/public/x"), bad.clone(), "bad method"),
        (vec![], bad.clone(), "no original request at all"),
        (
            vec![("x-forwarded-uri", b"/public/x")],
            bad.clone(),
            "no method",
        ),
        (vec![("x-original-method", b"GET")], bad.clone(), "no URI"),
        (
            vec![
                ("x-forwarded-method", b"GET"),
                ("x-forwarded-uri", b"/public/x"),
                ("x-forwarded-uri", b"/admin/users"),
            ],
            bad.clone(),
            "two X-Forwarded-Uri",
        ),
        (
            vec![
                ("x-forwarded-method", b"GET"),
                ("x-forwarded-method", b"DELETE"),
                ("x-forwarded-uri", b"/orders/1"),
            ],
            bad.clone(),
            "two X-Forwarded-Method",
        ),
        (
            vec![
                ("x-original-method", b"GET"),
                ("x-original-uri", b"/admin/users"),
                ("x-forwarded-uri", b"/public/x"),
            ],
            refused(403, "forbidden"),
            "a client's X-Forwarded-Uri beside the proxy's X-Original-URI",
        ),
        (
            vec![
                ("x-original-method", b"GET"),
                ("x-original-uri", b"/admin/users"),
                ("x-forwarded-uri", b"/public/x"),
                ("x-forwarded-uri", b"/public/y"),
            ],
            refused(403, "forbidden"),
            "a client's X-Forwarded-Uri, twice, beside the proxy's X-Original-URI",
        ),
        (
            [traefik("GET", b"/public/x"), nginx("GET", b"/public/x")].concat(),
            refused(403, "forbidden"),
            "two conventions, even agreeing",
        ),
    ];
    for (headers, want, what) in cases {
        assert_eq!(
            ask(&app, &eve, "/api/v1/authorize", &headers).await,
            want,
            "{what}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_parameters_cannot_walk_out_of_a_permissive_rule() {
    let (app, eve) = spawn(CATCH_ALL, ForwardHeaders::Auto).await;
    for uri in [
        "/public/..;/admin/x",
        "/public/..%3b/admin/x",
        "/public/..%3B/admin/x",
        "/public/%2e%2e;/admin/x",
        "/admin;x=1/secret",
        "/public;jsessionid=1/x",
        "/public/x%00.json",
    ] {
        let got = ask(
            &app,
            &eve,
            "/api/v1/authorize",
            &traefik("GET", uri.as_bytes()),
        )
        .await;
        assert_eq!(got, refused(403, "forbidden"), "GET {uri}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pathological_rule_on_a_long_uri_is_answered_and_overlong_uris_are_refused() {
    let policy = "[[rule]]\npath = \"/**/a/**/a/**/a/**/b\"\nscopes = []\n";
    let (app, eve) = spawn(policy, ForwardHeaders::Auto).await;
    let long = "/a".repeat(2400);
    let got = ask(
        &app,
        &eve,
        "/api/v1/authorize",
        &traefik("GET", long.as_bytes()),
    )
    .await;
    assert_eq!(got, refused(403, "forbidden"), "4.8 KB, no b at the end");
    let ends_in_b = format!("{long}/b");
    let got = ask(
        &app,
        &eve,
        "/api/v1/authorize",
        &traefik("GET", ends_in_b.as_bytes()),
    )
    .await;
    assert_eq!(got, allowed(&[]));
    let over = format!("/b{}", "/a".repeat(4100));
    let got = ask(
        &app,
        &eve,
        "/api/v1/authorize",
        &traefik("GET", over.as_bytes()),
    )
    .await;
    assert_eq!(got, refused(414, "uri_too_long"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_proxy_setting_trusts_its_own_headers_only() {
    let ok = allowed(&[]);
    let bad = refused(400, "invalid_request");
    let (app, eve) = spawn(CATCH_ALL, ForwardHeaders::Nginx).await;
    let at = "/api/v1/authorize";
    assert_eq!(ask(&app, &eve, at, &nginx("GET", b"/public/x")).await, ok);
    assert_eq!(
        ask(&app, &eve, at, &traefik("GET", b"/public/x")).await,
        bad
    );
    // A second description beside the proxy's can only be a client's: refused with 403, which
    // nginx passes on (it turns a 400 from auth_request into a 500).
    let twice = refused(403, "forbidden");
    let spoofed = [
        nginx("GET", b"/admin/x"),
        vec![("x-forwarded-uri", b"/public/x")],
    ]
    .concat();
    assert_eq!(ask(&app, &eve, at, &spoofed).await, twice);
    let spoofed = [
        nginx("GET", b"/admin/x"),
        vec![
            ("x-forwarded-uri", b"/public/x"),
            ("x-forwarded-uri", b"/public/y"),
        ],
    ]
    .concat();
    assert_eq!(ask(&app, &eve, at, &spoofed).await, twice);
    assert_eq!(
        ask(&app, &eve, "/api/v1/authorize/public/x", &[]).await,
        bad
    );

    let (app, eve) = spawn(CATCH_ALL, ForwardHeaders::Traefik).await;
    assert_eq!(ask(&app, &eve, at, &traefik("GET", b"/public/x")).await, ok);
    assert_eq!(ask(&app, &eve, at, &nginx("GET", b"/public/x")).await, bad);
    let spoofed = [
        traefik("GET", b"/admin/x"),
        vec![("x-original-uri", b"/public/x")],
    ]
    .concat();
    assert_eq!(ask(&app, &eve, at, &spoofed).await, twice);
    assert_eq!(
        ask(&app, &eve, "/api/v1/authorize/public/x", &[]).await,
        bad
    );

    let (app, eve) = spawn(CATCH_ALL, ForwardHeaders::Envoy).await;
    assert_eq!(ask(&app, &eve, "/api/v1/authorize/public/x", &[]).await, ok);
    assert_eq!(
        ask(&app, &eve, at, &traefik("GET", b"/public/x")).await,
        bad,
        "Envoy appends the path; headers alone are not trusted"
    );
    assert_eq!(
        ask(
            &app,
            &eve,
            "/api/v1/authorize/public/x",
            &traefik("GET", b"/public/x")
        )
        .await,
        twice
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_sends_the_original_method_and_appends_the_original_path() {
    let (app, eve) = spawn(CATCH_ALL, ForwardHeaders::Auto).await;
    let envoy = |method: reqwest::Method, target: &'static str| {
        let app = &app;
        let eve = &eve;
        async move { ask_as(app, eve, method, target, &[]).await }
    };
    use reqwest::Method;
    assert_eq!(
        envoy(Method::GET, "/api/v1/authorize/orders/1").await,
        allowed(&[])
    );
    assert_eq!(
        envoy(Method::DELETE, "/api/v1/authorize/orders/1").await,
        refused(403, "insufficient_scope"),
        "the method is the request's own"
    );
    assert_eq!(
        envoy(Method::POST, "/api/v1/authorize/admin/users?x=1").await,
        refused(403, "insufficient_scope")
    );
    assert_eq!(envoy(Method::GET, "/api/v1/authorize/").await, allowed(&[]));
    assert_eq!(
        envoy(Method::PUT, "/api/v1/authorize/public/%ff").await,
        refused(400, "invalid_request")
    );
    // Paths an HTTP client would normalize, sent as they are.
    for line in [
        &b"GET /api/v1/authorize/public/%2e%2e/admin HTTP/1.1"[..],
        b"GET /api/v1/authorize/public/../admin HTTP/1.1",
        b"GET /api/v1/authorize/public/..;/admin/x HTTP/1.1",
        b"GET /api/v1/authorize/admin;x=1/secret HTTP/1.1",
    ] {
        let (status, body) = raw_request(&app, &eve, line, b"");
        assert!(
            status == 403 && body["error"] == "forbidden",
            "{}: {status} {body}",
            String::from_utf8_lossy(line)
        );
    }
    // Bytes an HTTP client would escape, sent as they are.
    let (status, body) = raw_request(
        &app,
        &eve,
        b"GET /api/v1/authorize/admin/caf\xc3\xa9 HTTP/1.1",
        b"",
    );
    assert!(
        status == 400 && body["error"] == "invalid_request",
        "raw UTF-8 in the path: {status} {body}"
    );
    // The HTTP parser itself refuses this request line (a bare 400 before any routing).
    let (status, _) = raw_request(
        &app,
        &eve,
        b"DELETE /api/v1/authorize/orders/1?\xff HTTP/1.1",
        b"",
    );
    assert_eq!(status, 400, "raw 0xff in the query");
    let (status, body) = raw_request(
        &app,
        &eve,
        b"GET /api/v1/authorize HTTP/1.1",
        b"X-Forwarded-Method: GET\r\nX-Forwarded-Uri: /admin/users?q=\xc3\xa9\r\n",
    );
    assert!(
        status == 400 && body["error"] == "invalid_request",
        "{status} {body}"
    );
}

/// A refusal carries its JSON body in `X-Latchkey-Error` as well (nginx drops the body of an
/// `auth_request` answer; its `error_page` answers this header), as ASCII any proxy passes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_repeats_its_reason_in_a_header_a_proxy_can_pass_on() {
    let (app, eve) = spawn(
        "[[rule]]\npath = \"/public/**\"\nscopes = []\n",
        ForwardHeaders::Auto,
    )
    .await;
    for (token, headers, status) in [
        (eve.as_str(), traefik("GET", b"/caf%C3%A9/x"), 403),
        ("", traefik("GET", b"/public/x"), 401),
        (eve.as_str(), traefik("GET", b"/public/%zz"), 400),
    ] {
        let mut req = app.client.get(app.url("/api/v1/authorize"));
        for (name, value) in &headers {
            req = req.header(*name, HeaderValue::from_bytes(value).unwrap());
        }
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), status);
        let header = r
            .headers()
            .get("x-latchkey-error")
            .expect("x-latchkey-error on a refusal")
            .to_str()
            .expect("ASCII")
            .to_owned();
        let body: Value = r.json().await.unwrap();
        let repeated: Value = serde_json::from_str(&header).unwrap();
        assert_eq!(repeated, body, "{header}");
        if status == 403 {
            assert_eq!(body["message"], "no policy rule allows GET /café/x");
            assert!(header.contains(r"/caf\u00e9/x"), "{header}");
        }
    }
    let (app2, eve2) = spawn(CATCH_ALL, ForwardHeaders::Auto).await;
    let r = with_token(
        app2.client
            .get(app2.url("/api/v1/authorize"))
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-uri", "/public/x"),
        &eve2,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("x-latchkey-error").is_none());
}
