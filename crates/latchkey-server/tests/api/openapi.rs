//! The OpenAPI document served at `/openapi.json` describes exactly the routes the router has:
//! adding a route (or an error code) without documenting it fails here.

use std::collections::BTreeSet;

use latchkey_api::ErrorCode;
use latchkey_server::http::{OPENAPI, ROUTES};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{Backend, TestApp};

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn served_document(app: &TestApp) -> Value {
    let r = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let text = r.text().await.unwrap();
    assert_eq!(text, OPENAPI, "the served document is docs/openapi.json");
    serde_json::from_str(&text).expect("the OpenAPI document is JSON")
}

/// Every `(method, path, operation)` of the document.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let paths = doc["paths"].as_object().expect("paths is an object");
    let mut ops = Vec::new();
    for (path, item) in paths {
        let item = item.as_object().expect("a path item is an object");
        for (key, op) in item {
            if HTTP_METHODS.contains(&key.as_str()) {
                ops.push((key.clone(), path.clone(), op));
            }
        }
    }
    ops
}

fn collect_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "$ref" {
                    out.push(value.as_str().expect("$ref is a string"));
                } else {
                    collect_refs(value, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_of_the_router() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let doc = served_document(&app).await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "an OpenAPI 3.1 document"
    );

    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(routed.len(), ROUTES.len(), "ROUTES lists a route twice");
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();

    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from docs/openapi.json: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented operations the router does not have: {unrouted:?}"
    );
}

#[tokio::test]
async fn every_route_in_the_list_is_served_by_the_router() {
    // ROUTES is what the document is checked against: it must be the router's truth too.
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for (method, path) in ROUTES {
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let path = path.replace("{id}", "some-id");
        let r = app
            .client
            .request(method.clone(), app.url(&path))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert!(
            status != 404 && status != 405,
            "{method} {path} is not routed: {status} {}",
            r.text().await.unwrap()
        );
        assert!(status < 500, "{method} {path}: {status}");
    }
}

#[tokio::test]
async fn every_operation_documents_its_responses() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let doc = served_document(&app).await;
    let ops = operations(&doc);
    assert!(!ops.is_empty());
    for (method, path, op) in ops {
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} has no responses"));
        assert!(!responses.is_empty(), "{method} {path} has no responses");
        for status in responses.keys() {
            assert!(
                status == "default"
                    || (status.len() == 3
                        && status.parse::<u16>().is_ok_and(|s| (100..600).contains(&s))),
                "{method} {path}: response key {status}"
            );
        }
        // A browser step (sign-in start and callback) succeeds with a redirect that names
        // its `Location`.
        let redirects = responses
            .iter()
            .any(|(s, r)| s.starts_with('3') && r["headers"].get("Location").is_some());
        assert!(
            // A WebSocket's success is the switch of protocols.
            responses.keys().any(|s| s.starts_with('2') || s == "101") || redirects,
            "{method} {path} documents no success"
        );
        // Protected: every alternative names a scheme (no empty `{}` requirement).
        let protected = op["security"].as_array().is_some_and(|reqs| {
            !reqs.is_empty()
                && reqs
                    .iter()
                    .all(|r| r.as_object().is_some_and(|m| !m.is_empty()))
        });
        if protected {
            assert!(
                responses.contains_key("401"),
                "{method} {path} needs a token but documents no 401"
            );
        }
    }
}

#[tokio::test]
async fn every_ref_in_the_openapi_document_resolves() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let doc = served_document(&app).await;
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(
        refs.len() > 10,
        "the document uses components: {}",
        refs.len()
    );
    for r in refs {
        assert!(
            r.starts_with("#/components/"),
            "{r} points outside components"
        );
        assert!(doc.pointer(&r[1..]).is_some(), "{r} does not resolve");
    }
    for name in [
        "TokenResponse",
        "UserView",
        "SessionView",
        "SessionList",
        "OrgView",
        "LogoutAllResponse",
        "ErrorBody",
        "Health",
        "JWKS",
    ] {
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "components/schemas/{name} is missing"
        );
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    for (method, path, op) in operations(&doc) {
        for requirement in op["security"].as_array().into_iter().flatten() {
            for scheme in requirement.as_object().unwrap().keys() {
                assert!(
                    schemes[scheme].is_object(),
                    "{method} {path} names the unknown security scheme {scheme}"
                );
            }
        }
    }
}

/// Every error code, by name. The `match` has no wildcard: a new code does not compile here until
/// it is listed, and then the test below asks for it in the document.
fn all_error_codes() -> Vec<ErrorCode> {
    use ErrorCode::*;
    let all = vec![
        MissingToken,
        InvalidToken,
        InsufficientScope,
        InvalidRequest,
        InvalidCredentials,
        InvalidApiKey,
        EmailTaken,
        Conflict,
        WeakPassword,
        UnknownReferralCode,
        RateLimited,
        PayloadTooLarge,
        HeadersTooLarge,
        UriTooLong,
        RequestTimeout,
        NotFound,
        MethodNotAllowed,
        Forbidden,
        AccountDisabled,
        ServiceUnavailable,
        InternalError,
        UriTooLong,
        UnknownScope,
        ExternalLoginFailed,
        InvalidClient,
        InvalidGrant,
        UnsupportedGrantType,
        InvalidScope,
        InvalidEmail,
        InvalidSessionCode,
        InvalidMfaCode,
        EmailNotVerified,
    ];
    for code in &all {
        match code {
            MissingToken | InvalidToken | InsufficientScope | InvalidRequest
            | InvalidCredentials | InvalidApiKey | EmailTaken | Conflict | WeakPassword
            | UnknownReferralCode | RateLimited | PayloadTooLarge | HeadersTooLarge | NotFound
            | MethodNotAllowed | Forbidden | AccountDisabled | ServiceUnavailable
            | InternalError | UriTooLong | UnknownScope | RequestTimeout | ExternalLoginFailed
            | InvalidClient | InvalidGrant | UnsupportedGrantType | InvalidScope | InvalidEmail
            | InvalidSessionCode | InvalidMfaCode | EmailNotVerified => {}
        }
    }
    all
}

#[tokio::test]
async fn every_error_code_is_documented_in_the_error_body() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let doc = served_document(&app).await;
    let body = &doc["components"]["schemas"]["ErrorBody"]["properties"];
    let documented: BTreeSet<&str> = body["error"]["enum"]
        .as_array()
        .expect("ErrorBody.error is an enum")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let statuses: BTreeSet<u64> = body["code"]["enum"]
        .as_array()
        .expect("ErrorBody.code is an enum")
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let codes = all_error_codes();
    let actual: BTreeSet<&str> = codes.iter().map(|c| c.as_str()).collect();
    assert_eq!(documented, actual);
    for code in codes {
        assert!(
            statuses.contains(&u64::from(code.status())),
            "{} travels with {}",
            code.as_str(),
            code.status()
        );
    }
}
