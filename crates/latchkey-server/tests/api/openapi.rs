//! The OpenAPI document at `/openapi.json` is generated from the route table: these tests check
//! that it is a sound 3.1 document, that every documented operation is routed and nothing else
//! is, that every operation names its errors, and that `/docs` renders it without outside assets.
//! Structurally, `router()` is `routes().split_for_parts()` of the same table the document comes
//! from, and `clippy.toml` bans the plain `.route` that could add a path beside it.

use std::collections::BTreeSet;

use latchkey_api::ErrorCode;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{Backend, TestApp};

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Served by Socket.IO in a layer before the route table: documented, but not subject to the
/// router's fallbacks and limits.
const SOCKET_IO: &str = "/socket.io/";

async fn served_text(app: &TestApp) -> String {
    let r = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    r.text().await.unwrap()
}

async fn served_document(app: &TestApp) -> Value {
    serde_json::from_str(&served_text(app).await).expect("the OpenAPI document is JSON")
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

/// A documented path with its parameters filled with a dummy value.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closed parameter") + start;
        out.push_str(match &rest[start + 1..end] {
            "provider" => "google",
            // Forward-auth's catch-all takes the whole rest of the path.
            "path" => "public/x",
            _ => "some-id",
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether an answer is one of the router's own fallbacks (`not_found` for an unknown path,
/// `method_not_allowed` for a known path with another method) rather than a handler's.
async fn is_fallback(r: reqwest::Response, head: bool) -> Option<String> {
    let status = r.status().as_u16();
    if head {
        // A HEAD answer has no body to tell a handler's 404 from the fallback's.
        return (status == 404 || status == 405).then(|| format!("{status}"));
    }
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let fallback = (status == 404 && body["message"] == "no such route")
        || (status == 405 && body["error"] == "method_not_allowed");
    fallback.then(|| format!("{status} {body}"))
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_every_ref_resolves() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let doc = served_document(&app).await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "an OpenAPI 3.1 document: {}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["info"]["title"], "Latchkey");
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
        "ErrorCode",
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
    assert_eq!(schemes["bearerAuth"]["bearerFormat"], "JWT");
    assert_eq!(schemes["clientBasic"]["scheme"], "basic");
    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_default().to_owned();
        assert!(
            ids.insert(id.clone()),
            "{method} {path}: operationId {id:?} is missing or not unique"
        );
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

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let doc = served_document(&app).await;
    let ops = operations(&doc);
    assert!(ops.len() > 50, "{} operations", ops.len());
    for (method, path, _) in ops {
        let url = if path == SOCKET_IO {
            app.url("/socket.io/?EIO=4&transport=polling")
        } else {
            app.url(&concrete(&path))
        };
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = app.client.request(m, url).send().await.unwrap();
        let status = r.status().as_u16();
        assert!(status < 500, "{method} {path}: {status}");
        if let Some(answer) = is_fallback(r, method == "head").await {
            panic!("{method} {path} is documented but not routed: {answer}");
        }
    }
}

#[tokio::test]
async fn methods_a_path_does_not_document_are_not_routed() {
    // HEAD is left out: HTTP serves it wherever GET is (RFC 9110 §9.3.2), and so does the router.
    let probes = ["get", "post", "put", "patch", "delete", "options", "trace"];
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let doc = served_document(&app).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path == SOCKET_IO {
            continue;
        }
        for method in probes {
            if item.get(method).is_some() {
                continue;
            }
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app
                .client
                .request(m, app.url(&concrete(path)))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert_eq!(
                (status, &body["error"]),
                (405, &Value::from("method_not_allowed")),
                "{method} {path} is routed but not documented: {status} {body}"
            );
        }
    }
}

#[tokio::test]
async fn every_operation_documents_its_responses_and_errors() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let doc = served_document(&app).await;
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} has no responses"));
        for status in responses.keys() {
            assert!(
                status.len() == 3 && status.parse::<u16>().is_ok_and(|s| (100..600).contains(&s)),
                "{method} {path}: response key {status}"
            );
        }
        // A browser step (sign-in start and callback) succeeds with a redirect that names its
        // `Location`; a WebSocket's success is the switch of protocols.
        let redirects = responses
            .iter()
            .any(|(s, r)| s.starts_with('3') && r["headers"].get("Location").is_some());
        assert!(
            responses.keys().any(|s| s.starts_with('2') || s == "101") || redirects,
            "{method} {path} documents no success"
        );
        if path == SOCKET_IO {
            continue;
        }
        for status in ["405", "414", "431"] {
            assert!(
                responses.contains_key(status),
                "{method} {path} does not document {status}"
            );
        }
        // Protected: some alternative names a scheme (an empty `{}` alternative means optional).
        let protected = op["security"].as_array().is_some_and(|reqs| {
            reqs.iter()
                .any(|r| r.as_object().is_some_and(|m| !m.is_empty()))
        });
        if protected {
            assert!(
                responses.contains_key("401"),
                "{method} {path} needs a token but documents no 401"
            );
        }
        if op.get("requestBody").is_some() {
            for status in ["413", "422"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} takes a body but does not document {status}"
                );
            }
        }
        // Every error response is the documented error shape and names its codes.
        for (status, response) in responses {
            // `/readyz` answers its own `Health` body when storage does not.
            let own_body = path == "/readyz" && status == "503";
            if (status.starts_with('4') || status.starts_with('5')) && !own_body {
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(
                    schema, "#/components/schemas/ErrorBody",
                    "{method} {path} {status}: not the error shape"
                );
                let description = response["description"].as_str().unwrap_or_default();
                assert!(
                    description.contains('`'),
                    "{method} {path} {status}: the description names no code: {description}"
                );
            }
        }
    }
    // Nothing public answers 401 on its own.
    let healthz = &doc["paths"]["/healthz"]["get"]["responses"];
    assert!(healthz.get("401").is_none() && healthz.get("503").is_none());
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
        UnsupportedMediaType,
        HeadersTooLarge,
        UriTooLong,
        RequestTimeout,
        NotFound,
        MethodNotAllowed,
        Forbidden,
        AccountDisabled,
        ServiceUnavailable,
        InternalError,
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
        ReauthenticationRequired,
    ];
    for code in &all {
        match code {
            MissingToken
            | InvalidToken
            | InsufficientScope
            | InvalidRequest
            | InvalidCredentials
            | InvalidApiKey
            | EmailTaken
            | Conflict
            | WeakPassword
            | UnknownReferralCode
            | RateLimited
            | PayloadTooLarge
            | HeadersTooLarge
            | NotFound
            | MethodNotAllowed
            | Forbidden
            | AccountDisabled
            | ServiceUnavailable
            | InternalError
            | UriTooLong
            | UnknownScope
            | RequestTimeout
            | ExternalLoginFailed
            | InvalidClient
            | InvalidGrant
            | UnsupportedGrantType
            | InvalidScope
            | InvalidEmail
            | InvalidSessionCode
            | InvalidMfaCode
            | EmailNotVerified
            | UnsupportedMediaType
            | ReauthenticationRequired => {}
        }
    }
    all
}

#[tokio::test]
async fn every_error_code_is_in_the_document() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let doc = served_document(&app).await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["ErrorBody"]["properties"]["error"]["$ref"],
        "#/components/schemas/ErrorCode"
    );
    let documented: BTreeSet<&str> = schemas["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode is an enum")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let codes = all_error_codes();
    let actual: BTreeSet<&str> = codes.iter().map(|c| c.as_str()).collect();
    assert_eq!(documented, actual);
    // Each code with the status it travels with, in the prose clients read.
    let prose = schemas["ErrorCode"]["description"].as_str().unwrap();
    for code in codes {
        let entry = format!("`{}` ({})", code.as_str(), code.status());
        assert!(
            prose.contains(&entry),
            "ErrorCode's description lacks {entry}"
        );
    }
    for field in ["status", "code", "error", "message", "data"] {
        assert!(
            schemas["ErrorBody"]["required"]
                .as_array()
                .unwrap()
                .contains(&Value::from(field)),
            "ErrorBody.{field} is required"
        );
    }
}

#[tokio::test]
async fn oauth_endpoints_document_form_bodies_and_rfc_6749_errors() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let doc = served_document(&app).await;
    assert!(
        doc["components"]["schemas"]["ErrorBody"]["properties"]["error_description"].is_object()
    );
    for path in ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"] {
        let op = &doc["paths"][path]["post"];
        assert!(
            op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"].is_object(),
            "{path} takes a form"
        );
        let examples = op["responses"]["400"]["content"]["application/json"]["examples"]
            .as_object()
            .unwrap_or_else(|| panic!("{path}: 400 has examples"));
        assert!(
            examples
                .values()
                .any(|e| e["value"]["error"].is_string()
                    && e["value"]["error_description"].is_string()),
            "{path}: the 400 example shows error and error_description"
        );
        let client = &op["responses"]["401"]["content"]["application/json"]["examples"];
        assert!(
            client
                .as_object()
                .is_some_and(|m| m.values().any(|e| e["value"]["error"] == "invalid_client")),
            "{path}: 401 is invalid_client"
        );
    }
    let security = doc["paths"]["/oauth2/token"]["post"]["security"].to_string();
    assert!(security.contains("clientBasic"), "{security}");
}

#[tokio::test]
async fn docs_page_loads_every_asset_from_latchkey() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let r = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().await.unwrap();
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for piece in html.split(attr).skip(1) {
            assets.push(piece.split('"').next().unwrap().to_owned());
        }
    }
    assert!(
        assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")),
        "the page loads scripts and styles: {assets:?}"
    );
    for asset in &assets {
        assert!(
            !asset.contains("//") && !asset.contains(':'),
            "{asset} is not served by Latchkey"
        );
        let path = format!("/docs/{}", asset.trim_start_matches("./"));
        let r = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let body = r.text().await.unwrap();
        if path.ends_with("swagger-initializer.js") {
            // The page renders this server's document, and the validator badge (an image
            // from an outside host by default) is off.
            assert!(body.contains("/openapi.json"), "{body}");
            assert!(body.contains("\"validatorUrl\": \"none\""), "{body}");
        }
    }
    // The bare path leads to the page.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/docs"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(r.headers()["location"], "/docs/");
}

#[tokio::test]
async fn latchkey_openapi_prints_the_served_document() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let served = served_text(&app).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("openapi")
        .env_remove("LATCHKEY_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed.trim_end(), served);
}

#[tokio::test]
async fn the_document_passes_an_openapi_3_1_validator() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    // An independent check of the whole document against the OpenAPI 3.1 schema (PyPI
    // `openapi-spec-validator`, installed by scripts/test).
    let present = Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with openapi-spec-validator is required under CI=true (scripts/test installs it)"
        );
        eprintln!("skipping: python3 -m pip install openapi-spec-validator to run this test");
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let text = served_text(&app).await;
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import json, sys\n\
             from openapi_spec_validator import validate\n\
             validate(json.load(sys.stdin))",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The forward-auth operations are one check at three addresses: each documents the same error
/// responses (they once drifted: one lacked its 503, another its 500).
#[tokio::test]
async fn every_forward_auth_address_documents_the_same_errors() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let doc = served_document(&app).await;
    let errors = |responses: &Value| -> Value {
        let mut errors = responses
            .as_object()
            .expect("responses is an object")
            .clone();
        errors.retain(|status, _| !status.starts_with('2'));
        Value::Object(errors)
    };
    let first = errors(&doc["paths"]["/api/v1/authorize"]["get"]["responses"]);
    for status in ["400", "401", "403", "414", "500", "503"] {
        assert!(
            first[status].is_object(),
            "/api/v1/authorize documents {status}"
        );
    }
    for path in [
        "/api/v1/authorize",
        "/api/v1/authorize/",
        "/api/v1/authorize/{path}",
    ] {
        for method in HTTP_METHODS {
            let responses = errors(&doc["paths"][path][method]["responses"]);
            assert_eq!(responses, first, "{method} {path}");
        }
    }
}
