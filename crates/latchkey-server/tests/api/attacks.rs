//! Attacks on the access token and on password login: each one is refused with the documented
//! code, never with a 500, and never lets the attacker further than an honest client.

use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::Ed25519KeyPair;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use futures::future::join_all;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, error_code, s};
use crate::on_all_setups;

// ---------------------------------------------------------------------------------------------
// Helpers

/// The header and the claims of a compact JWS, decoded without any verification.
fn decode_parts(token: &str) -> (Value, Value) {
    let mut it = token.split('.');
    let header = it.next().expect("header");
    let payload = it.next().expect("payload");
    let header: Value = serde_json::from_slice(&B64.decode(header).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap();
    (header, claims)
}

fn b64_json(v: &Value) -> String {
    B64.encode(serde_json::to_vec(v).unwrap())
}

/// A user with a real access token that `GET /api/v1/me` accepts.
async fn victim(app: &TestApp) -> String {
    let grant = app.signup("victim@example.com").await;
    let token = s(&grant, "access_token");
    let r = app.me(&token).await;
    assert_eq!(r.status(), 200, "the genuine token works");
    token
}

/// The server's signing key as published: `(kid, x)`.
async fn published_key(app: &TestApp) -> (String, String) {
    let r = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let jwks: Value = r.json().await.unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP", "{jwks}");
    assert_eq!(key["crv"], "Ed25519", "{jwks}");
    assert_eq!(key["alg"], "EdDSA", "{jwks}");
    (s(key, "kid"), s(key, "x"))
}

/// `GET /api/v1/me` with this token is refused as `invalid_token`, with the RFC 6750 challenge.
/// Returns the message.
async fn refused(app: &TestApp, token: &str, what: &str) -> String {
    let r = app.me(token).await;
    refused_response(r, what).await
}

async fn refused_response(r: reqwest::Response, what: &str) -> String {
    assert_eq!(r.status(), 401, "{what}: expected 401");
    let challenge = r
        .headers()
        .get("www-authenticate")
        .unwrap_or_else(|| panic!("{what}: no WWW-Authenticate"))
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge
            .starts_with(r#"Bearer realm="latchkey", error="invalid_token", error_description=""#),
        "{what}: {challenge}"
    );
    let body: Value = r.json().await.expect("error body is JSON");
    assert_eq!(
        crate::helpers::assert_error_shape(401, &body, what),
        "invalid_token",
        "{what}"
    );
    body["message"].as_str().expect("message").to_owned()
}

/// A token signed with a fresh Ed25519 key that the server has never seen.
fn sign_with_foreign_key(claims: &Value, kid: Option<String>) -> String {
    let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let key = EncodingKey::from_ed_der(doc.as_ref());
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = kid;
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Forged and altered tokens

#[tokio::test]
async fn a_token_with_a_tampered_payload_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let token = victim(&app).await;
    let (_, mut claims) = decode_parts(&token);
    assert_eq!(claims["role"], "admin");
    let parts: Vec<&str> = token.split('.').collect();

    for (field, value) in [
        ("role", json!("owner")),
        ("role", json!("member")),
        ("scope", json!("admin:all")),
        ("exp", json!(claims["exp"].as_i64().unwrap() + 86_400)),
    ] {
        let original = claims[field].clone();
        claims[field] = value;
        let forged = format!("{}.{}.{}", parts[0], b64_json(&claims), parts[2]);
        refused(&app, &forged, &format!("tampered {field}")).await;
        claims[field] = original;
    }

    // The forgeries poisoned nothing: the genuine token is still accepted.
    assert_eq!(app.me(&token).await.status(), 200);
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let token = victim(&app).await;
    let (header, claims) = decode_parts(&token);
    let kid = header["kid"].clone();
    let payload = b64_json(&claims);

    for alg in ["none", "None", "NONE", "nOnE"] {
        for header in [
            json!({"alg": alg, "typ": "JWT"}),
            json!({"alg": alg, "typ": "JWT", "kid": kid}),
        ] {
            let h = b64_json(&header);
            // With the empty signature, without the final dot, and with the real signature.
            let real_sig = token.rsplit('.').next().unwrap();
            for forged in [
                format!("{h}.{payload}."),
                format!("{h}.{payload}"),
                format!("{h}.{payload}.{real_sig}"),
            ] {
                refused(&app, &forged, &format!("alg {header}")).await;
            }
        }
    }
}

#[tokio::test]
async fn an_hs256_token_keyed_with_the_public_key_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let token = victim(&app).await;
    let (_, claims) = decode_parts(&token);
    let (kid, x) = published_key(&app).await;
    let raw = B64.decode(&x).unwrap();
    assert_eq!(raw.len(), 32, "an Ed25519 public key");

    for (name, secret) in [
        ("raw x bytes", raw.clone()),
        ("x as text", x.clone().into_bytes()),
    ] {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let mut header = Header::new(alg);
            header.kid = Some(kid.clone());
            let forged =
                jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap();
            refused(&app, &forged, &format!("{alg:?} keyed with {name}")).await;
        }
    }
}

#[tokio::test]
async fn a_token_signed_by_an_unknown_key_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let token = victim(&app).await;
    let (_, claims) = decode_parts(&token);

    let random_kid = uuid::Uuid::new_v4().simple().to_string();
    refused(
        &app,
        &sign_with_foreign_key(&claims, Some(random_kid)),
        "unknown kid",
    )
    .await;
    refused(&app, &sign_with_foreign_key(&claims, None), "no kid").await;
}

#[tokio::test]
async fn a_token_signed_by_a_foreign_key_under_the_real_kid_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let token = victim(&app).await;
    let (header, claims) = decode_parts(&token);
    let (kid, _) = published_key(&app).await;
    assert_eq!(header["kid"], kid.as_str(), "tokens name the published key");

    let message = refused(
        &app,
        &sign_with_foreign_key(&claims, Some(kid)),
        "foreign key, real kid",
    )
    .await;
    assert!(message.contains("signature"), "{message}");
}

#[tokio::test]
async fn garbage_in_the_authorization_header_is_refused_as_invalid_token() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let token = victim(&app).await;
    let long = "a".repeat(4096);
    for garbage in [
        "abc",
        "a.b.c",
        "..",
        "eyJhbGciOiJFZERTQSJ9.e30.",
        long.as_str(),
        &token[..token.len() - 4],
    ] {
        refused(&app, garbage, garbage).await;
    }

    // Bytes that are not text.
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe\xfd").unwrap(),
        )
        .send()
        .await
        .unwrap();
    refused_response(r, "non-UTF-8 header").await;
}

// ---------------------------------------------------------------------------------------------
// Issuer and audience

/// Another deployment (its own database, its own key, another issuer) does not take our tokens.
async fn a_token_from_another_deployment_is_refused(app: TestApp) {
    let token = victim(&app).await;
    let other = TestApp::spawn_with(app.backend, |c| c.issuer = Some("http://other".into()))
        .await
        .unwrap();
    let grant = other.signup("victim@example.com").await;
    assert_eq!(
        other.me(&s(&grant, "access_token")).await.status(),
        200,
        "the other deployment's own token works there"
    );
    refused(&other, &token, "token of another deployment").await;
    refused(&app, &s(&grant, "access_token"), "and the other way round").await;
}
on_all_setups!(a_token_from_another_deployment_is_refused);

/// The same signing key (a second server over the same database) but configured with another
/// issuer, or another audience: the signature verifies, so only the `iss`/`aud` checks can refuse.
async fn a_validly_signed_token_for_another_issuer_or_audience_is_refused(app: TestApp) {
    let token = victim(&app).await;
    let (_, claims) = decode_parts(&token);
    assert_eq!(claims["iss"], "http://latchkey.test");
    let (kid, _) = published_key(&app).await;

    let same_storage = |c: &mut latchkey_server::Config| {
        c.database_url = app.config.database_url.clone();
        c.data_dir = app.config.data_dir.clone();
    };

    // Control: a twin with the same issuer accepts the token, so the key is indeed shared.
    let twin = TestApp::spawn_with(app.backend, same_storage)
        .await
        .unwrap();
    assert_eq!(published_key(&twin).await.0, kid, "the twin shares the key");
    assert_eq!(twin.me(&token).await.status(), 200);

    let other_issuer = TestApp::spawn_with(app.backend, |c| {
        same_storage(c);
        c.issuer = Some("http://other".into());
        c.audience = Some("http://latchkey.test".into());
    })
    .await
    .unwrap();
    assert_eq!(published_key(&other_issuer).await.0, kid);
    let message = refused(&other_issuer, &token, "wrong iss").await;
    assert!(message.contains("issuer"), "{message}");

    let other_audience = TestApp::spawn_with(app.backend, |c| {
        same_storage(c);
        c.audience = Some("http://another-audience".into());
    })
    .await
    .unwrap();
    let message = refused(&other_audience, &token, "wrong aud").await;
    assert!(message.contains("audience"), "{message}");
}
on_all_setups!(a_validly_signed_token_for_another_issuer_or_audience_is_refused);

// ---------------------------------------------------------------------------------------------
// Expiry and the Authorization header

#[tokio::test]
async fn an_expired_access_token_is_refused_and_says_so() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let token = victim(&app).await;
    app.advance(Duration::from_secs(15 * 60 - 30));
    assert_eq!(app.me(&token).await.status(), 200, "still valid before 15m");
    app.advance(Duration::from_secs(40));
    let message = refused(&app, &token, "expired").await;
    assert!(message.contains("expired"), "{message}");
}

#[tokio::test]
async fn another_authorization_scheme_is_an_invalid_token() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let token = victim(&app).await;
    for value in [
        "Basic dXNlcjpwYXNzd29yZA==".to_owned(),
        format!("Token {token}"),
        format!("Bearer{token}"),
        token.clone(),
    ] {
        let r = app
            .client
            .get(app.url("/api/v1/me"))
            .header("authorization", &value)
            .send()
            .await
            .unwrap();
        refused_response(r, &value).await;
    }
}

#[tokio::test]
async fn no_credentials_get_the_bare_bearer_challenge() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for request in [
        app.client.get(app.url("/api/v1/me")),
        app.client
            .get(app.url("/api/v1/me"))
            .header("authorization", "Bearer"),
        app.client
            .get(app.url("/api/v1/me"))
            .header("authorization", "Bearer    "),
        app.client.post(app.url("/api/v1/auth/logout")),
    ] {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.headers()["www-authenticate"],
            r#"Bearer realm="latchkey""#,
            "RFC 6750 §3.1: no error code without credentials"
        );
        assert_eq!(error_code(r).await, "missing_token");
    }
}

// ---------------------------------------------------------------------------------------------
// Login rate limits

fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers()
        .get("retry-after")
        .expect("429 carries Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in whole seconds")
}

async fn a_burst_of_parallel_guesses_is_capped_per_account(app: TestApp) {
    app.signup("target@example.com").await;

    let guesses: Vec<String> = (0..40).map(|i| format!("wrong guess {i}")).collect();
    let attempts = guesses.iter().map(|g| app.login("target@example.com", g));
    let responses = join_all(attempts).await;

    let (mut evaluated, mut limited) = (0, 0);
    for r in responses {
        match r.status().as_u16() {
            401 => {
                evaluated += 1;
                assert_eq!(error_code(r).await, "invalid_credentials");
            }
            429 => {
                limited += 1;
                let secs = retry_after(&r);
                assert!((1..=15 * 60).contains(&secs), "Retry-After {secs}");
                assert_eq!(error_code(r).await, "rate_limited");
            }
            other => panic!("unexpected status {other}: {}", r.text().await.unwrap()),
        }
    }
    assert!(evaluated <= 10, "{evaluated} guesses were evaluated");
    assert_eq!(evaluated + limited, 40);
    assert_eq!(
        evaluated, 10,
        "the first 10 are evaluated, the other 30 refused"
    );

    // The right password does not get through the lock either, until the window has passed.
    let r = app.login("target@example.com", PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert!(retry_after(&r) >= 1);
    assert_eq!(error_code(r).await, "rate_limited");

    // Redis ends the window by its own clock, which a test cannot move; the in-process
    // counters follow the injected one.
    if app.config.redis_url.is_none() {
        app.advance(Duration::from_secs(15 * 60 + 1));
        let r = app.login("target@example.com", PASSWORD).await;
        assert_eq!(r.status(), 200);
    }
}
on_all_setups!(a_burst_of_parallel_guesses_is_capped_per_account);

async fn guesses_across_accounts_are_capped_per_ip(app: TestApp) {
    app.signup("one@example.com").await;
    app.signup("two@example.com").await;
    let emails = [
        "one@example.com",
        "nobody@example.com",
        "two@example.com",
        "ghost@example.org",
        "three@example.net",
    ];
    for email in emails {
        let r = app.login(email, "not the password").await;
        assert_eq!(r.status(), 401, "{email}");
        assert_eq!(error_code(r).await, "invalid_credentials");
    }
    let r = app.login("sixth@example.com", "not the password").await;
    assert_eq!(r.status(), 429, "the 6th guess from one IP");
    assert!(retry_after(&r) >= 1);
    assert_eq!(error_code(r).await, "rate_limited");

    // The address is locked out, whatever the account and however right the password.
    let r = app.login("one@example.com", PASSWORD).await;
    assert_eq!(r.status(), 429);
}

// A lower per-IP limit than the default.
crate::on_all_setups!(guesses_across_accounts_are_capped_per_ip, |c| {
    c.login_limit_per_ip = 5;
    c.login_limit_per_account = 100;
});

async fn an_unknown_email_and_a_wrong_password_look_the_same(app: TestApp) {
    app.signup("known@example.com").await;
    let mut answers = Vec::new();
    for (email, password) in [
        ("known@example.com", "not the password"),
        ("unknown@example.com", "not the password"),
        ("unknown@example.com", PASSWORD),
        ("not-an-email", PASSWORD),
    ] {
        let r = app.login(email, password).await;
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        answers.push((status, body["error"].clone(), body["message"].clone()));
    }
    assert_eq!(answers[0].0, 401);
    assert_eq!(answers[0].1, "invalid_credentials");
    for other in &answers[1..] {
        assert_eq!(other, &answers[0], "indistinguishable answers");
    }
}
on_all_setups!(an_unknown_email_and_a_wrong_password_look_the_same);
