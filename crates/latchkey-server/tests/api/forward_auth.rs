//! Forward-auth (`/api/v1/authorize`): the proxy asks whether the original request may pass;
//! the answer follows the policy file's first matching rule and the caller's scopes *now*.
//!
//! The policy helpers and `on_both_stores_with_policy!` are shared with `scopes.rs` and
//! `admin.rs`.

use std::path::Path;
use std::time::Duration;

use latchkey_core::Clock;
use reqwest::{Method, Response};
use serde_json::json;

use crate::helpers::api_keys::{
    access, auth_token, create_key, expect_error, org_with_member, set_scopes, signup_key,
    signup_key_id, user_id,
};
use crate::helpers::eventually::eventually;
use crate::helpers::forward_auth::{
    ORDERS_POLICY, allowed, authorize, decide, decides_eventually, decision_of, orders_policy_file,
    policy_file, refused, replace_policy, with_token,
};
use crate::helpers::logs;
use crate::helpers::{Backend, TestApp, s, temp_dir, test_config};
use crate::on_all_setups;

fn header(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn forward_auth_applies_the_first_matching_rule_to_the_original_request(app: TestApp) {
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    set_scopes(
        &app,
        &access(&admin),
        &user_id(&admin),
        &["orders:read", "orders:write"],
    )
    .await;
    let ann = auth_token(&app, &signup_key(&admin)).await;
    let bob = auth_token(&app, &signup_key(&member)).await;
    let both: &[&str] = &["orders:read", "orders:write"];

    let table = [
        (&ann, "GET", "/orders/42", allowed(both)),
        (&ann, "GET", "/orders/42?expand=items", allowed(both)),
        (&ann, "get", "/orders/42", allowed(both)),
        (&ann, "POST", "/orders", allowed(both)),
        (&ann, "POST", "/orders/42/items", allowed(both)),
        (&ann, "DELETE", "/orders/42", allowed(both)),
        (&ann, "GET", "/orders/42/items", refused(403, "forbidden")),
        (&ann, "GET", "/orders", refused(403, "forbidden")),
        (&ann, "GET", "/admin/users", refused(403, "forbidden")),
        (
            &ann,
            "GET",
            "/public/../orders/42",
            refused(403, "forbidden"),
        ),
        (&ann, "GET", "/public/docs/index.html", allowed(both)),
        (
            &bob,
            "GET",
            "/orders/42",
            refused(403, "insufficient_scope"),
        ),
        (
            &bob,
            "POST",
            "/orders/42",
            refused(403, "insufficient_scope"),
        ),
        (&bob, "GET", "/public/docs/index.html", allowed(&[])),
        (&bob, "DELETE", "/public", allowed(&[])),
        (&bob, "GET", "/private", refused(403, "forbidden")),
    ];
    for (token, method, uri, want) in table {
        let who = if *token == ann { "ann" } else { "bob" };
        assert_eq!(
            decide(&app, token, method, uri).await,
            want,
            "{who}: {method} {uri}"
        );
    }

    // The identity travels in headers for the upstream.
    let r = authorize(&app, &ann, "GET", "/orders/42").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-latchkey-user"), Some(user_id(&admin)));
    assert_eq!(
        header(&r, "x-latchkey-org"),
        Some(s(&admin["user"], "org_id"))
    );
    assert_eq!(
        header(&r, "x-latchkey-role").as_deref(),
        Some(""),
        "an API token is not the user: it reports no role (an empty one, so a proxy that \
         copies it overwrites a client's), not even its owner's admin"
    );
    assert_eq!(header(&r, "x-latchkey-key"), Some(signup_key_id(&admin)));
    let r = authorize(&app, &access(&admin), "GET", "/orders/42").await;
    assert_eq!(header(&r, "x-latchkey-role").as_deref(), Some("admin"));
    let r = authorize(&app, &bob, "GET", "/public/x").await;
    assert_eq!(header(&r, "x-latchkey-user"), Some(user_id(&member)));
    assert_eq!(
        header(&r, "x-latchkey-org"),
        Some(s(&admin["user"], "org_id")),
        "same organization"
    );
    assert_eq!(
        header(&r, "x-latchkey-role").as_deref(),
        Some(""),
        "a key has no role"
    );
    assert_eq!(header(&r, "x-latchkey-key"), Some(signup_key_id(&member)));
    assert_eq!(header(&r, "x-latchkey-scopes").as_deref(), Some(""));

    // The proxy may call the endpoint with any method; the original one is in the header.
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let req = app
            .client
            .request(method.clone(), app.url("/api/v1/authorize"))
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-uri", "/orders/42");
        let r = with_token(req, &bob).send().await.unwrap();
        assert_eq!(
            decision_of(r).await,
            refused(403, "insufficient_scope"),
            "{method} /authorize"
        );
        let req = app
            .client
            .request(method.clone(), app.url("/api/v1/authorize"))
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-uri", "/orders/42");
        let r = with_token(req, &ann).send().await.unwrap();
        assert_eq!(decision_of(r).await, allowed(both), "{method} /authorize");
    }
}
on_all_setups!(
    forward_auth_applies_the_first_matching_rule_to_the_original_request,
    |c| c.policy_file = Some(crate::helpers::forward_auth::orders_policy_file())
);

async fn forward_auth_without_a_usable_token_is_unauthorized(app: TestApp) {
    let grant = app.signup("ann@example.com").await;
    let token = auth_token(&app, &signup_key(&grant)).await;
    let base = || {
        app.client
            .get(app.url("/api/v1/authorize"))
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-uri", "/public/x")
    };
    let r = base().send().await.unwrap();
    assert!(
        header(&r, "www-authenticate").is_some_and(|v| v.starts_with("Bearer")),
        "a challenge for the client"
    );
    expect_error(r, 401, "missing_token", "no token").await;
    let r = base()
        .header("x-authorization", "Agent lkt_nonsense")
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "invalid_token", "garbage auth token").await;
    let forged = format!("{}{}", &token[..token.len() - 4], "AAAA");
    let r = base()
        .header("x-authorization", format!("Agent {forged}"))
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "invalid_token", "tampered auth token").await;
    let r = base().bearer_auth("not.a.jwt").send().await.unwrap();
    expect_error(r, 401, "invalid_token", "garbage bearer token").await;
    let r = base()
        .header("authorization", format!("Agent {token}"))
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "invalid_token", "Agent in Authorization").await;
    let r = base()
        .header("x-authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "invalid_token", "Bearer in x-authorization").await;
    let other = s(
        &create_key(&app, &access(&grant), json!({"name": "other"})).await,
        "key",
    );
    let r = base()
        .header("x-authorization", format!("Agent {token}"))
        .header("x-api-key", other)
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "invalid_api_key", "x-api-key of another key").await;
    let r = base()
        .header("x-authorization", format!("Agent {token}"))
        .header("x-api-key", signup_key(&grant))
        .send()
        .await
        .unwrap();
    assert_eq!(decision_of(r).await, allowed(&[]), "x-api-key of this key");
}
on_all_setups!(forward_auth_without_a_usable_token_is_unauthorized, |c| c
    .policy_file =
    Some(crate::helpers::forward_auth::orders_policy_file()));

async fn x_original_method_and_uri_work_like_x_forwarded(app: TestApp) {
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    set_scopes(&app, &access(&admin), &user_id(&member), &["orders:read"]).await;
    let bob = auth_token(&app, &signup_key(&member)).await;
    let original = |method: &str, uri: &str| {
        let req = app
            .client
            .get(app.url("/api/v1/authorize"))
            .header("x-original-method", method)
            .header("x-original-uri", uri);
        with_token(req, &bob).send()
    };
    for (method, uri, want) in [
        ("GET", "/orders/42", allowed(&["orders:read"])),
        ("POST", "/orders/42", refused(403, "insufficient_scope")),
        ("GET", "/nowhere", refused(403, "forbidden")),
        ("GET", "/public/a?b=c", allowed(&["orders:read"])),
    ] {
        let r = original(method, uri).await.unwrap();
        assert_eq!(decision_of(r).await, want, "X-Original: {method} {uri}");
        assert_eq!(
            decide(&app, &bob, method, uri).await,
            want,
            "X-Forwarded: {method} {uri}"
        );
    }
}
on_all_setups!(x_original_method_and_uri_work_like_x_forwarded, |c| c
    .policy_file =
    Some(crate::helpers::forward_auth::orders_policy_file()));

async fn forward_auth_accepts_a_users_access_token(app: TestApp) {
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    set_scopes(&app, &access(&admin), &user_id(&member), &["orders:read"]).await;
    let jwt = access(&member);
    assert_eq!(
        decide(&app, &jwt, "GET", "/orders/42").await,
        allowed(&["orders:read"])
    );
    assert_eq!(
        decide(&app, &jwt, "PUT", "/orders/42").await,
        refused(403, "insufficient_scope")
    );
    let r = authorize(&app, &jwt, "GET", "/orders/42").await;
    assert_eq!(header(&r, "x-latchkey-user"), Some(user_id(&member)));
    assert_eq!(header(&r, "x-latchkey-role").as_deref(), Some("member"));
    assert_eq!(
        header(&r, "x-latchkey-key").as_deref(),
        Some(""),
        "an access token has no key (sent empty)"
    );

    let r = app.post_auth("/api/v1/auth/logout", &access(&member)).await;
    assert_eq!(r.status(), 204);
    let r = authorize(&app, &jwt, "GET", "/public/x").await;
    expect_error(r, 401, "invalid_token", "access token of an ended session").await;
}
on_all_setups!(forward_auth_accepts_a_users_access_token, |c| c
    .policy_file =
    Some(crate::helpers::forward_auth::orders_policy_file()));

/// `..` spelled with percent-encoding is still `..` to most upstreams once they decode the
/// path: it must not walk out of a permissive rule any more than a literal `..` does.
async fn encoded_dot_segments_cannot_walk_out_of_a_public_rule(app: TestApp) {
    let grant = app.signup("eve@example.com").await;
    let eve = auth_token(&app, &signup_key(&grant)).await;
    assert_eq!(
        decide(&app, &eve, "GET", "/public/../orders/42").await,
        refused(403, "forbidden"),
        "a literal .. is refused"
    );
    for uri in [
        "/public/%2e%2e/orders/42",
        "/public/%2E%2E/orders/42",
        "/public/.%2e/orders/42",
        "/public/%2e./orders/42",
        "/public/%2e%2e%2forders/42",
        "/public/..%2Forders/42",
    ] {
        let got = decide(&app, &eve, "GET", uri).await;
        assert!(
            matches!(&got, Err((403, _))),
            "GET {uri} with no scopes must not pass the /public/** rule; got {got:?}"
        );
    }
}
on_all_setups!(encoded_dot_segments_cannot_walk_out_of_a_public_rule, |c| {
    c.policy_file = Some(crate::helpers::forward_auth::orders_policy_file())
});

const INVOICES_POLICY: &str = r#"
[[rule]]
methods = ["GET"]
path = "/invoices/*"
scopes = ["orders:read"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_policy_file_applies_without_a_restart_and_a_broken_edit_keeps_the_last_good_one()
{
    let path = orders_policy_file();
    logs::capture();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.policy_file = Some(path.clone()))
        .await
        .unwrap();
    let grant = app.signup("ann@example.com").await;
    set_scopes(&app, &access(&grant), &user_id(&grant), &["orders:read"]).await;
    let token = auth_token(&app, &signup_key(&grant)).await;
    let read = allowed(&["orders:read"]);
    let no_rule = refused(403, "forbidden");
    assert_eq!(decide(&app, &token, "GET", "/orders/42").await, read);
    assert_eq!(decide(&app, &token, "GET", "/invoices/7").await, no_rule);

    replace_policy(&path, INVOICES_POLICY);
    decides_eventually(&app, &token, "GET", "/invoices/7", &read).await;
    assert_eq!(
        decide(&app, &token, "GET", "/orders/42").await,
        no_rule,
        "the old rules are gone"
    );

    // A broken edit: refused (the reload's log line says so), and the last good policy stays
    // in force, before and after the watcher read it.
    let file = path.display().to_string();
    let refusals = || logs::count(&["policy reload refused", &file]);
    replace_policy(
        &path,
        "[[rule]]\nmethods = [\"GET\"]\npath = \"orders/*\"\nscopes = []\n",
    );
    assert_eq!(decide(&app, &token, "GET", "/invoices/7").await, read);
    assert_eq!(decide(&app, &token, "GET", "/orders/42").await, no_rule);
    assert_eq!(decide(&app, &token, "GET", "/public/x").await, no_rule);
    refused_reload(1, &refusals).await;
    assert_eq!(decide(&app, &token, "GET", "/invoices/7").await, read);
    assert_eq!(decide(&app, &token, "GET", "/orders/42").await, no_rule);
    assert_eq!(decide(&app, &token, "GET", "/public/x").await, no_rule);
    replace_policy(&path, "this is [[not toml");
    assert_eq!(decide(&app, &token, "GET", "/invoices/7").await, read);
    assert_eq!(decide(&app, &token, "GET", "/orders/42").await, no_rule);
    refused_reload(2, &refusals).await;
    assert_eq!(decide(&app, &token, "GET", "/invoices/7").await, read);
    assert_eq!(decide(&app, &token, "GET", "/orders/42").await, no_rule);

    // Fixed again: the next good file is picked up.
    replace_policy(&path, ORDERS_POLICY);
    decides_eventually(&app, &token, "GET", "/orders/42", &read).await;
    assert_eq!(decide(&app, &token, "GET", "/invoices/7").await, no_rule);
}

/// Waits (up to 10 s, twenty times the reload interval) until the watcher has refused `n`
/// edits of the policy file.
async fn refused_reload(n: usize, refusals: &impl Fn() -> usize) {
    eventually(Duration::from_secs(10), || async {
        let seen = refusals();
        if seen >= n {
            Ok(())
        } else {
            Err(format!(
                "{seen} policy reloads refused after 10 s, expected {n}"
            ))
        }
    })
    .await;
}

/// Starts a server over a throwaway SQLite database with this policy file; the start error.
async fn start_error(policy: &Path) -> String {
    let mut config = test_config(Backend::Sqlite, None);
    config.policy_file = Some(policy.to_path_buf());
    match latchkey_server::start(config, Clock::manual()).await {
        Ok(running) => {
            running.stop().await.unwrap();
            panic!(
                "the server started with a broken policy file {}",
                policy.display()
            );
        }
        Err(e) => format!("{e:#}"),
    }
}

/// The line number a message names (`line N`).
fn named_line(message: &str) -> usize {
    let at = message
        .find("line ")
        .unwrap_or_else(|| panic!("no line number in {message:?}"));
    message[at + 5..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no line number in {message:?}"))
}

const GOOD_RULE: &str =
    "[[rule]]\nmethods = [\"GET\"]\npath = \"/orders/*\"\nscopes = [\"orders:read\"]\n\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_policy_file_stops_the_server_from_starting_and_names_the_line() {
    // Each case: the file, a word the message must contain, and the lines it may name (the
    // broken rule is the second one, lines 6 to 9).
    let cases: [(String, &str, std::ops::RangeInclusive<usize>); 6] = [
        (
            "[[rule]]\nmethods = [\"GET\"]\npath = \"orders/*\"\nscopes = []\n".into(),
            "must start with /",
            3..=3,
        ),
        (
            format!("{GOOD_RULE}[[rule]]\npath = \"/broken\nscopes = []\n"),
            "",
            7..=7,
        ),
        (
            format!("{GOOD_RULE}[[rule]]\nmethods = [\"GET\"]\npath = \"/a*\"\nscopes = []\n"),
            "whole segments",
            8..=8,
        ),
        (
            format!("{GOOD_RULE}[[rule]]\nmethods = [\"FETCH\"]\npath = \"/x\"\nscopes = []\n"),
            "FETCH",
            6..=9,
        ),
        (
            format!("{GOOD_RULE}[[rule]]\nmethods = [\"GET\"]\npath = \"/x\"\n"),
            "scopes",
            6..=9,
        ),
        (
            format!("{GOOD_RULE}[[rule]]\nmethods = [\"GET\"]\npath = \"/x\"\nscope = []\n"),
            "scope",
            6..=9,
        ),
    ];
    for (text, word, lines) in cases {
        let message = start_error(&policy_file(&text)).await;
        assert!(
            message.contains(word),
            "{message:?} should mention {word:?}; file:\n{text}"
        );
        let line = named_line(&message);
        assert!(
            lines.contains(&line),
            "{message:?} names line {line}, expected {lines:?}; file:\n{text}"
        );
    }

    let missing = temp_dir().join("no-such-policy.toml");
    let message = start_error(&missing).await;
    assert!(
        message.contains("no-such-policy.toml"),
        "a missing file is named: {message:?}"
    );

    // The same file, fixed, starts.
    let mut config = test_config(Backend::Sqlite, None);
    config.policy_file = Some(policy_file(GOOD_RULE));
    let running = latchkey_server::start(config, Clock::manual())
        .await
        .expect("a good policy file starts");
    running.stop().await.unwrap();
}
