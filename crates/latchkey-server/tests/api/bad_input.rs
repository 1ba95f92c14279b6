//! Bad input at the HTTP edge: every mistake a client can make gets its documented code, in the
//! documented error shape, and never a 500.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::api_keys::expect_error;
use crate::helpers::{Backend, PASSWORD, TestApp, error_code};

const SIGNUP: &str = "/api/v1/auth/signup";
const LOGIN: &str = "/api/v1/auth/login";
const REFRESH: &str = "/api/v1/auth/refresh";

/// Sends `body` as is, labelled as JSON.
async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The response has `status` and the error shape with `code`.
/// The shared `expect_error` (status, code, error shape), and a JSON content type.
async fn expect_json_error(r: reqwest::Response, status: u16, code: &str, what: &str) {
    assert_eq!(r.headers()["content-type"], "application/json", "{what}");
    expect_error(r, status, code, what).await;
}

async fn expect_raw(app: &TestApp, path: &str, body: &[u8], status: u16, code: &str) {
    let r = send_raw(app, Method::POST, path, body.to_vec()).await;
    expect_json_error(
        r,
        status,
        code,
        &format!("POST {path} {}", String::from_utf8_lossy(body)),
    )
    .await;
}

async fn expect_json(app: &TestApp, path: &str, body: Value, status: u16, code: &str) {
    let r = app.post(path, &body).await;
    expect_json_error(r, status, code, &format!("POST {path} {body}")).await;
}

#[tokio::test]
async fn malformed_json_is_an_invalid_request() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for path in [SIGNUP, LOGIN, REFRESH] {
        for body in [
            &br#"{"email":"#[..],
            br#"{"email": "a@b.co", "password": "x""#,
            br#"{email: "a@b.co"}"#,
            br#"{"email": "a@b.co",}"#,
            b"not json at all",
            br#"{"email": "a@b.co"} trailing"#,
        ] {
            expect_raw(&app, path, body, 400, "invalid_request").await;
        }
    }
}

#[tokio::test]
async fn missing_fields_are_an_invalid_request() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for (path, body) in [
        (LOGIN, json!({})),
        (LOGIN, json!({"email": "ann@example.com"})),
        (LOGIN, json!({"password": PASSWORD})),
        (SIGNUP, json!({})),
        (SIGNUP, json!({"email": "ann@example.com"})),
        (SIGNUP, json!({"password": PASSWORD, "name": "Ann"})),
    ] {
        expect_json(&app, path, body, 400, "invalid_request").await;
    }
}

#[tokio::test]
async fn fields_of_the_wrong_type_are_an_invalid_request() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for (path, body) in [
        (LOGIN, json!({"email": 5, "password": true})),
        (SIGNUP, json!({"email": 5, "password": true})),
        (
            LOGIN,
            json!({"email": ["ann@example.com"], "password": PASSWORD}),
        ),
        (LOGIN, json!({"email": null, "password": PASSWORD})),
        (
            SIGNUP,
            json!({"email": "ann@example.com", "password": {"p": PASSWORD}}),
        ),
        (
            SIGNUP,
            json!({"email": "ann@example.com", "password": PASSWORD, "name": 7}),
        ),
        (
            SIGNUP,
            json!({"email": "ann@example.com", "password": PASSWORD, "phone": 14155550123_u64}),
        ),
        (REFRESH, json!({"refresh_token": 5})),
        (LOGIN, json!([])),
        (LOGIN, json!("ann@example.com")),
        (LOGIN, json!(null)),
        (LOGIN, json!(42)),
    ] {
        expect_json(&app, path, body, 400, "invalid_request").await;
    }
}

#[tokio::test]
async fn a_json_array_is_not_accepted_in_place_of_an_object() {
    // Every body is documented as a JSON object. (serde's derive would also fill a struct's
    // fields positionally from an array: no client may come to rely on that.)
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.signup("ann@example.com").await;
    let mut answers = Vec::new();
    for (path, body) in [
        (LOGIN, json!(["ann@example.com", PASSWORD])),
        (SIGNUP, json!(["bob@example.com", PASSWORD])),
        (REFRESH, json!(["lkr_x"])),
    ] {
        let r = app.post(path, &body).await;
        answers.push((path, r.status().as_u16(), r.text().await.unwrap()));
    }
    for (path, status, body) in &answers {
        assert_eq!(
            *status, 400,
            "POST {path} with an array answered {status}: {body}"
        );
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"], "invalid_request");
    }
}

#[tokio::test]
async fn unknown_fields_are_an_invalid_request() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    // Nobody makes themselves an admin by asking for it.
    let r = app
        .post(
            SIGNUP,
            &json!({"email": "mallory@example.com", "password": PASSWORD, "role": "admin"}),
        )
        .await;
    expect_json_error(r, 400, "invalid_request", "signup with role").await;
    for (path, body) in [
        (
            SIGNUP,
            json!({"email": "ann@example.com", "password": PASSWORD, "org_id": "x"}),
        ),
        (
            SIGNUP,
            json!({"email": "ann@example.com", "passwd": PASSWORD}),
        ),
        (
            LOGIN,
            json!({"email": "ann@example.com", "password": PASSWORD, "remember": true}),
        ),
        (
            REFRESH,
            json!({"refresh_token": "lkr_x", "access_token": "y"}),
        ),
    ] {
        expect_json(&app, path, body, 400, "invalid_request").await;
    }
    // None of these created the account.
    let r = app.login("mallory@example.com", PASSWORD).await;
    assert_eq!(error_code(r).await, "invalid_credentials");
}

#[tokio::test]
async fn a_body_over_the_limit_is_payload_too_large() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let huge = "x".repeat(3 * 1024 * 1024);
    for path in [SIGNUP, LOGIN, REFRESH] {
        let body = json!({"email": "ann@example.com", "password": huge}).to_string();
        let r = send_raw(&app, Method::POST, path, body).await;
        expect_json_error(r, 413, "payload_too_large", path).await;
    }

    // Just over the limit is too large; just under is read (and then judged on its content).
    let limit = latchkey_server::http::BODY_LIMIT;
    let over = format!(
        r#"{{"email":"ann@example.com","password":"{}"}}"#,
        "y".repeat(limit)
    );
    assert!(over.len() > limit);
    let r = send_raw(&app, Method::POST, SIGNUP, over).await;
    expect_json_error(r, 413, "payload_too_large", "just over").await;
    let shell = r#"{"email":"ann@example.com","password":""}"#.len();
    let under = format!(
        r#"{{"email":"ann@example.com","password":"{}"}}"#,
        "y".repeat(limit - shell)
    );
    assert_eq!(under.len(), limit);
    let r = send_raw(&app, Method::POST, SIGNUP, under).await;
    expect_json_error(r, 422, "weak_password", "exactly at the limit").await;
}

#[tokio::test]
async fn an_invalid_email_at_signup_is_an_invalid_request() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for email in [
        "not-an-email",
        "",
        "   ",
        "a@b",
        "@example.com",
        "ann@",
        "a b@example.com",
        "ann@@example.com",
        "ann@exa mple.com",
    ] {
        expect_json(
            &app,
            SIGNUP,
            json!({"email": email, "password": PASSWORD}),
            400,
            "invalid_request",
        )
        .await;
    }
    let long_local = format!("{}@example.com", "a".repeat(65));
    expect_json(
        &app,
        SIGNUP,
        json!({"email": long_local, "password": PASSWORD}),
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn a_weak_password_is_refused_with_weak_password() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for password in [
        "password",
        "short",
        "",
        "12345678",
        "Password",
        "aaaaaaaaaaaa",
        "ann.lee@example.com",
        "ann.lee",
    ] {
        let r = app
            .post(
                SIGNUP,
                &json!({"email": "ann.lee@example.com", "password": password}),
            )
            .await;
        expect_json_error(r, 422, "weak_password", password).await;
    }
    let too_long = "Zq9!".repeat(65);
    let r = app
        .post(
            SIGNUP,
            &json!({"email": "ann.lee@example.com", "password": too_long}),
        )
        .await;
    expect_json_error(r, 422, "weak_password", "257+ characters").await;

    // None of them created the account: the address is still free.
    app.post(
        SIGNUP,
        &json!({"email": "ann.lee@example.com", "password": PASSWORD}),
    )
    .await
    .error_for_status()
    .unwrap();
}

#[tokio::test]
async fn a_bad_phone_number_is_an_invalid_request() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for phone in [
        "12345",
        "phone",
        "14155550123",
        "+0123456789",
        "+1415555012345678",
        "+1 415 555 01a3",
        "",
    ] {
        expect_json(
            &app,
            SIGNUP,
            json!({"email": "ann@example.com", "password": PASSWORD, "phone": phone}),
            400,
            "invalid_request",
        )
        .await;
    }
}

#[tokio::test]
async fn an_empty_body_is_an_invalid_request() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for path in [LOGIN, SIGNUP] {
        for body in [&b""[..], b"   ", b"\n"] {
            expect_raw(&app, path, body, 400, "invalid_request").await;
        }
        // No body and no content type at all.
        let r = app.client.post(app.url(path)).send().await.unwrap();
        expect_json_error(r, 400, "invalid_request", path).await;
    }
    // Refresh takes its token from the body or the header: with neither, it says what it needs.
    let r = app.client.post(app.url(REFRESH)).send().await.unwrap();
    expect_json_error(r, 400, "invalid_request", "refresh without a token").await;
}

#[tokio::test]
async fn a_binary_body_is_an_invalid_request() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let binary: Vec<u8> = (0..=255u8).rev().cycle().take(4096).collect();
    for path in [SIGNUP, LOGIN, REFRESH] {
        expect_raw(&app, path, &binary, 400, "invalid_request").await;
        expect_raw(&app, path, b"\xff\xfe{\x00\"\x00", 400, "invalid_request").await;
        // Valid JSON syntax around bytes that are not UTF-8.
        expect_raw(
            &app,
            path,
            b"{\"email\":\"\xff\xfe@example.com\",\"password\":\"\xc3\x28 x\"}",
            400,
            "invalid_request",
        )
        .await;
    }
}

#[tokio::test]
async fn an_unknown_route_is_not_found_in_the_error_shape() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    // (`/` is the hosted pages' front door now: the sign-in page, or the account page.)
    for (method, path) in [
        (Method::GET, "/nope"),
        (Method::GET, "/nope/deeper"),
        (Method::GET, "/api/v1/nope"),
        (Method::GET, "/api/v2/me"),
        (Method::POST, "/api/v1/auth/nope"),
        (Method::GET, "/api/v1/sessions/a/b"),
        // (openid-configuration is served now: OAuth metadata.)
        (Method::GET, "/.well-known/nope"),
    ] {
        let r = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        expect_json_error(r, 404, "not_found", &format!("{method} {path}")).await;
    }
}

#[tokio::test]
async fn a_wrong_method_is_method_not_allowed_in_the_error_shape() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for (method, path) in [
        (Method::PUT, "/api/v1/auth/login"),
        (Method::GET, "/api/v1/auth/login"),
        (Method::DELETE, "/api/v1/auth/signup"),
        (Method::PATCH, "/api/v1/auth/refresh"),
        (Method::POST, "/api/v1/me"),
        // (`DELETE /api/v1/sessions` ends every other session now.)
        (Method::PUT, "/api/v1/sessions"),
        (Method::GET, "/api/v1/sessions/some-id"),
        (Method::POST, "/healthz"),
        (Method::DELETE, "/.well-known/jwks.json"),
    ] {
        let r = app
            .client
            .request(method.clone(), app.url(path))
            .json(&json!({"email": "ann@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        expect_json_error(r, 405, "method_not_allowed", &format!("{method} {path}")).await;
    }
}

/// The bodies of a few failed requests that carried `password`, as text.
async fn error_bodies_for(app: &TestApp, password: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    let mut keep = async |r: reqwest::Response| {
        assert!(r.status().is_client_error(), "{}", r.status());
        bodies.push(r.text().await.unwrap());
    };
    let email = "ann@example.com";
    // Cut off inside the password.
    let cut = format!(r#"{{"email":"{email}","password":"{password}"#);
    keep(send_raw(app, Method::POST, SIGNUP, cut.clone()).await).await;
    keep(send_raw(app, Method::POST, LOGIN, cut).await).await;
    // Invalid escapes inside and after the password.
    let escaped = format!(r#"{{"email":"{email}","password":"{password}\q"}}"#);
    keep(send_raw(app, Method::POST, SIGNUP, escaped).await).await;
    // An unknown field, a duplicate field, a wrong type next to it.
    keep(
        app.post(
            SIGNUP,
            &json!({"email": email, "password": password, "x": 1}),
        )
        .await,
    )
    .await;
    let duplicate =
        format!(r#"{{"email":"{email}","password":"{password}","password":"{password}"}}"#);
    keep(send_raw(app, Method::POST, LOGIN, duplicate).await).await;
    keep(
        app.post(SIGNUP, &json!({"email": 5, "password": password}))
            .await,
    )
    .await;
    // Rejected by the rules rather than the parser.
    keep(
        app.post(
            SIGNUP,
            &json!({"email": "not-an-email", "password": password}),
        )
        .await,
    )
    .await;
    keep(
        app.post(
            SIGNUP,
            &json!({"email": email, "password": password, "phone": "nope"}),
        )
        .await,
    )
    .await;
    keep(app.login(email, password).await).await;
    bodies
}

#[tokio::test]
async fn an_error_never_echoes_the_submitted_password() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for password in ["Sekr1t-Hunter2-Passphrase", "pw-9f2c1d7a"] {
        for body in error_bodies_for(&app, password).await {
            assert!(!body.contains(password), "the password leaked: {body}");
        }
    }
    // Weak passwords are described, not quoted.
    for password in ["Zq9!x", "trustno1", "Trustno1"] {
        let r = app
            .post(
                SIGNUP,
                &json!({"email": "ann@example.com", "password": password}),
            )
            .await;
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(
            !body.to_lowercase().contains(&password.to_lowercase()),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_password_sent_as_a_number_is_not_echoed_back() {
    // A client that serializes a numeric passcode as a JSON number gets `invalid_request`; the
    // message must not repeat the number.
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for path in [SIGNUP, LOGIN] {
        let r = send_raw(
            &app,
            Method::POST,
            path,
            r#"{"email":"ann@example.com","password":80417723}"#,
        )
        .await;
        assert_eq!(r.status(), 400);
        let body = r.text().await.unwrap();
        assert!(!body.contains("80417723"), "the password leaked: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"], "invalid_request");
    }
}

#[tokio::test]
async fn oversized_headers_are_refused_in_the_error_shape() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .header("authorization", format!("Bearer {}", "a".repeat(20 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    assert_eq!(error_code(r).await, "headers_too_large");
}

/// Login CSRF: a cross-site page can post `text/plain` (a form with `enctype="text/plain"`
/// whose field name is the JSON), a form body or no type at all without any CORS check. JSON
/// routes take only bodies declared as JSON: everything else is 415 in the error shape, and
/// nothing is logged in. Bodiless calls and the form-encoded OAuth endpoints are unchanged.
#[tokio::test]
async fn json_routes_refuse_bodies_not_declared_as_json() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.signup("ann@example.com").await;
    let body = json!({"email": "ann@example.com", "password": PASSWORD}).to_string();
    let login = |content_type: Option<&'static str>, body: String| {
        let mut r = app.client.post(app.url(LOGIN)).body(body);
        if let Some(t) = content_type {
            r = r.header("content-type", t);
        }
        r.send()
    };
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonp"),
        Some("application/json; charset=iso-8859-1"),
        Some("text/json"),
        None,
    ] {
        let r = login(content_type, body.clone()).await.unwrap();
        expect_json_error(
            r,
            415,
            "unsupported_media_type",
            &format!("{content_type:?}"),
        )
        .await;
    }
    // The same with the body a cross-site text/plain form really sends: `name=value`.
    let form = r#"{"email":"ann@example.com","password":"correct horse battery staple","x":"=1"}"#;
    let r = login(Some("text/plain"), form.to_owned()).await.unwrap();
    expect_json_error(r, 415, "unsupported_media_type", "text/plain form").await;
    // Sign-up and a protected route the same way.
    let r = app
        .client
        .post(app.url(SIGNUP))
        .header("content-type", "text/plain")
        .body(json!({"email": "eve@example.com", "password": PASSWORD}).to_string())
        .send()
        .await
        .unwrap();
    expect_json_error(r, 415, "unsupported_media_type", "sign-up").await;

    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;Charset=\"UTF-8\"",
        "application/vnd.latchkey+json",
    ] {
        let r = login(Some(content_type), body.clone()).await.unwrap();
        assert_eq!(r.status(), 200, "{content_type}");
    }

    // Calls that need no body still work without a type; a body they do get must be JSON.
    let grant: Value = app
        .login("ann@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let refresh_token = grant["refresh_token"].as_str().unwrap();
    let r = app
        .client
        .post(app.url(REFRESH))
        .header("content-type", "text/plain")
        .body(json!({"refresh_token": refresh_token}).to_string())
        .send()
        .await
        .unwrap();
    expect_json_error(r, 415, "unsupported_media_type", "refresh in text/plain").await;
    let r = app
        .client
        .post(app.url(REFRESH))
        .bearer_auth(refresh_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a bodiless refresh");
    let grant: Value = r.json().await.unwrap();
    let access = grant["access_token"].as_str().unwrap();
    let r = app.post_auth("/api/v1/auth/logout", access).await;
    assert_eq!(r.status(), 204, "a bodiless logout");

    // The OAuth endpoints keep their form bodies.
    let r = app
        .client
        .post(app.url("/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "ann@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
