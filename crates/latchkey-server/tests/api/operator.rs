//! Operators (`latchkey users operator`) and the signing-key routes only they may use:
//! `GET /api/v1/admin/signing-keys` and `POST /api/v1/admin/signing-keys/rotate`. Organization
//! admins, members, API tokens (even an operator's), revoked and disabled operators are refused.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::api_keys::{
    access, auth_token, expect_error, expect_json, org_with_member, signup_key,
};
use crate::helpers::eventually::eventually_every;
use crate::helpers::key_rotation::{
    MASTER_KEY, RETIRE_AFTER, jwks_kids, kid_of, sign_with, stored_private_key, wait_for_jwks,
};
use crate::helpers::oauth::claims_of;
use crate::helpers::operator::{login_token, make_operator, operator_cli};
use crate::helpers::{PASSWORD, TestApp, s};
use crate::on_all_setups;

const KEYS: &str = "/api/v1/admin/signing-keys";
const ROTATE: &str = "/api/v1/admin/signing-keys/rotate";

async fn list_keys(app: &TestApp, token: &str) -> Vec<Value> {
    let body = expect_json(app.get_auth(KEYS, token).await, 200, "list signing keys").await;
    body["signing_keys"].as_array().unwrap().clone()
}

/// `(kid, status)` of each listed key, newest first.
fn statuses(keys: &[Value]) -> Vec<(String, String)> {
    keys.iter().map(|k| (s(k, "kid"), s(k, "status"))).collect()
}

fn is_rfc3339_ms(v: &Value) -> bool {
    v.as_str().is_some_and(|t| {
        t.len() == 24 && t.ends_with('Z') && t.as_bytes()[19] == b'.' && t.as_bytes()[10] == b'T'
    })
}

async fn rotate(app: &TestApp, token: &str) -> Value {
    expect_json(app.post_auth(ROTATE, token).await, 201, "rotate").await
}

async fn operator_rotates_through_the_api_and_the_old_key_retires_on_schedule(app: TestApp) {
    app.signup("ann@example.com").await;
    make_operator(&app, "ann@example.com");
    let old_token = login_token(&app, "ann@example.com").await;
    let old_kid = kid_of(&old_token);
    assert_eq!(
        statuses(&list_keys(&app, &old_token).await),
        vec![(old_kid.clone(), "signing".to_owned())]
    );

    let key = rotate(&app, &old_token).await;
    let new_kid = s(&key, "kid");
    assert_ne!(new_kid, old_kid);
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["status"], "signing");
    assert!(is_rfc3339_ms(&key["created_at"]), "{key}");
    assert_eq!(key["superseded_at"], Value::Null);
    assert_eq!(key["retires_at"], Value::Null);

    // The instance that rotated signs with the new key at once; both keys verify.
    let new_token = login_token(&app, "ann@example.com").await;
    assert_eq!(kid_of(&new_token), new_kid, "new tokens carry the new kid");
    let mut kids = jwks_kids(&app).await;
    kids.sort();
    let mut both = vec![old_kid.clone(), new_kid.clone()];
    both.sort();
    assert_eq!(kids, both, "JWKS lists both keys");
    assert_eq!(app.me(&new_token).await.status(), 200);

    let keys = list_keys(&app, &new_token).await;
    assert_eq!(
        statuses(&keys),
        vec![
            (new_kid.clone(), "signing".to_owned()),
            (old_kid.clone(), "verifying".to_owned())
        ]
    );
    assert_eq!(
        keys[1]["superseded_at"], keys[0]["created_at"],
        "superseded when the new key appeared"
    );
    assert!(is_rfc3339_ms(&keys[1]["retires_at"]), "{keys:?}");
    assert!(
        s(&keys[1], "retires_at") > s(&keys[0], "created_at"),
        "{keys:?}"
    );

    // A token of the old key stays valid until its own exp (15 minutes).
    app.advance(Duration::from_secs(14 * 60));
    assert_eq!(app.me(&old_token).await.status(), 200, "before its exp");
    app.advance(Duration::from_secs(2 * 60));
    assert_eq!(app.me(&old_token).await.status(), 401, "after its exp");

    // A live session for a token signed with the old key to name (unsealed keys only).
    let fresh = login_token(&app, "ann@example.com").await;
    let claims = claims_of(&fresh);
    let old_private = stored_private_key(&app, &old_kid).await;
    let now = || app.clock.now_ms() / 1000;
    let sealed = old_private.starts_with("enc1:");
    if !sealed {
        let forged = sign_with(&old_private, &old_kid, &claims, now());
        assert_eq!(
            app.me(&forged).await.status(),
            200,
            "old key still verifies"
        );
    }

    app.advance(RETIRE_AFTER);
    let kids = wait_for_jwks(&app, "after retirement", |k| !k.contains(&old_kid)).await;
    assert_eq!(kids, std::slice::from_ref(&new_kid));
    if !sealed {
        let forged = sign_with(&old_private, &old_kid, &claims, now());
        assert_eq!(
            app.me(&forged).await.status(),
            401,
            "a retired key verifies nothing"
        );
    }
    let token = login_token(&app, "ann@example.com").await;
    let keys = list_keys(&app, &token).await;
    assert_eq!(
        statuses(&keys),
        vec![
            (new_kid.clone(), "signing".to_owned()),
            (old_kid.clone(), "retired".to_owned())
        ]
    );
    assert!(is_rfc3339_ms(&keys[1]["retires_at"]), "{keys:?}");
}
on_all_setups!(operator_rotates_through_the_api_and_the_old_key_retires_on_schedule);

async fn only_a_current_operator_with_their_own_session_may_manage_signing_keys(app: TestApp) {
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let ann = access(&admin);
    let bob = access(&member);
    let only_key = jwks_kids(&app).await;

    // An organization admin is not an operator; nor is a member.
    for (token, who) in [(&ann, "org admin"), (&bob, "member")] {
        expect_error(app.get_auth(KEYS, token).await, 403, "forbidden", who).await;
        expect_error(app.post_auth(ROTATE, token).await, 403, "forbidden", who).await;
    }
    let r = app.client.get(app.url(KEYS)).send().await.unwrap();
    expect_error(r, 401, "missing_token", "no token").await;
    assert_eq!(jwks_kids(&app).await, only_key, "nothing rotated");

    // Granted from the command line: the token Ann already holds works at once.
    make_operator(&app, "ann@example.com");
    let (ok, out) = operator_cli(&app, "ann@example.com", false);
    assert!(ok && out.contains("already an operator"), "{out}");
    assert_eq!(list_keys(&app, &ann).await.len(), 1);

    // Her API token acts for its key, never as an operator.
    let agent = auth_token(&app, &signup_key(&admin)).await;
    let r = app.get_agent(KEYS, &agent).await;
    expect_error(r, 403, "forbidden", "operator's API token lists").await;
    let r = app
        .client
        .post(app.url(ROTATE))
        .header("x-authorization", format!("Agent {agent}"))
        .send()
        .await
        .unwrap();
    expect_error(r, 403, "forbidden", "operator's API token rotates").await;
    assert_eq!(jwks_kids(&app).await, only_key, "nothing rotated");

    // Revoked from the command line: her next call is refused.
    let (ok, out) = operator_cli(&app, "ann@example.com", true);
    assert!(ok && out.contains("is no longer an operator"), "{out}");
    expect_error(app.get_auth(KEYS, &ann).await, 403, "forbidden", "revoked").await;
    expect_error(
        app.post_auth(ROTATE, &ann).await,
        403,
        "forbidden",
        "revoked",
    )
    .await;
    let (ok, out) = operator_cli(&app, "ann@example.com", true);
    assert!(ok && out.contains("was not an operator"), "{out}");

    // A disabled operator is no operator.
    make_operator(&app, "bob@example.com");
    assert_eq!(list_keys(&app, &bob).await.len(), 1);
    let r = app
        .send_json_auth(
            reqwest::Method::PUT,
            &format!(
                "/api/v1/admin/users/{}/disabled",
                s(&member["user"], "user_id")
            ),
            &ann,
            Some(&json!({"disabled": true})),
        )
        .await;
    assert_eq!(r.status(), 204);
    // Disabling ends his sessions, so his token is refused before any operator check.
    for r in [
        app.get_auth(KEYS, &bob).await,
        app.post_auth(ROTATE, &bob).await,
    ] {
        assert_eq!(r.status(), 401, "disabled operator");
        crate::helpers::error_code(r).await;
    }
    assert_eq!(jwks_kids(&app).await, only_key, "nothing rotated");

    // The flag is read with `disabled_at` from the database: an operator disabled there is
    // refused even while the token store still holds his enabled record.
    make_operator(&app, "ann@example.com");
    assert_eq!(list_keys(&app, &ann).await.len(), 1);
    let sql = format!(
        "UPDATE users SET disabled_at = 1 WHERE id = '{}'",
        s(&admin["user"], "user_id")
    );
    crate::helpers::metrics::on_database(&app, &sql).await;
    expect_error(
        app.get_auth(KEYS, &ann).await,
        403,
        "forbidden",
        "disabled in db",
    )
    .await;
    assert_eq!(jwks_kids(&app).await, only_key, "nothing rotated");

    // Unknown and malformed addresses are reported, not created.
    let (ok, out) = operator_cli(&app, "nobody@example.com", false);
    assert!(!ok && out.contains("no user has the email"), "{out}");
    let (ok, out) = operator_cli(&app, "not an email", false);
    assert!(!ok && out.contains("email"), "{out}");
}
on_all_setups!(only_a_current_operator_with_their_own_session_may_manage_signing_keys);

/// With a master key, a key rotated through the API is stored sealed, like the CLI's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotated_through_the_api_is_sealed_with_the_master_key() {
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        c.master_key = Some(MASTER_KEY.into())
    })
    .await
    .unwrap();
    app.signup("ann@example.com").await;
    make_operator(&app, "ann@example.com");
    let token = login_token(&app, "ann@example.com").await;
    let kid = s(&rotate(&app, &token).await, "kid");
    let stored = stored_private_key(&app, &kid).await;
    assert!(stored.starts_with("enc1:"), "sealed at rest");
    let token = login_token(&app, "ann@example.com").await;
    assert_eq!(kid_of(&token), kid);
    assert_eq!(app.me(&token).await.status(), 200);
}

/// A second instance over the same database follows a rotation made through the other one: it
/// accepts the new key's tokens at once and signs with it after its reload.
async fn another_instance_follows_an_api_rotation(app: TestApp) {
    let b = app.sibling().await;
    app.signup("ann@example.com").await;
    make_operator(&app, "ann@example.com");
    let token = login_token(&app, "ann@example.com").await;
    let new_kid = s(&rotate(&app, &token).await, "kid");
    let from_a = login_token(&app, "ann@example.com").await;
    assert_eq!(kid_of(&from_a), new_kid);
    assert_eq!(
        b.me(&from_a).await.status(),
        200,
        "b accepts the new kid at once"
    );
    wait_for_jwks(&b, "instance b", |k| k.contains(&new_kid)).await;
    eventually_every(
        Duration::from_millis(200),
        Duration::from_secs(15),
        || async {
            let from_b = login_token(&b, "ann@example.com").await;
            if kid_of(&from_b) == new_kid {
                Ok(())
            } else {
                Err("b still signs with the old key".to_owned())
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instance_follows_an_api_rotation_on_postgres() {
    if let Some(app) = TestApp::spawn(crate::helpers::Backend::Postgres).await {
        another_instance_follows_an_api_rotation(app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instance_follows_an_api_rotation_on_postgres_with_redis() {
    if let Some(app) = TestApp::spawn_redis_with(|_| {}).await {
        another_instance_follows_an_api_rotation(app).await;
    }
}

/// `?all_orgs=true`: an operator reads every organization's events and those of none (a
/// failed login for an unknown address, a signing-key rotation); an organization admin may not.
async fn an_operator_reads_the_whole_deployments_audit_log(app: TestApp) {
    let ann = app.signup("ann@example.com").await;
    let bob = app.signup("bob@example.com").await;
    make_operator(&app, "ann@example.com");
    let ann_token = login_token(&app, "ann@example.com").await;
    rotate(&app, &ann_token).await;
    let r = app.login("nobody@example.com", PASSWORD).await;
    assert_eq!(r.status(), 401);

    let all = "/api/v1/admin/audit?all_orgs=true&limit=200";
    let body = expect_json(app.get_auth(all, &ann_token).await, 200, "all orgs").await;
    let events = body["events"].as_array().unwrap();
    let has = |event: &str, subject: Option<&str>| {
        events
            .iter()
            .any(|e| e["event"] == event && subject.is_none_or(|u| e["subject_user_id"] == u))
    };
    assert!(has("signing_key.rotated", None), "{body}");
    assert!(
        has("operator.granted", Some(&s(&ann["user"], "user_id"))),
        "{body}"
    );
    assert!(
        has("user.signed_up", Some(&s(&bob["user"], "user_id"))),
        "another org: {body}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "login.failed" && e["detail"]["reason"] == "unknown_account"),
        "{body}"
    );
    // Without the flag, the organization's own log only: no other org, no org-less events.
    let own = expect_json(
        app.get_auth("/api/v1/admin/audit?limit=200", &ann_token)
            .await,
        200,
        "own org",
    )
    .await;
    let own = own["events"].as_array().unwrap();
    assert!(
        own.iter().all(|e| e["event"] != "signing_key.rotated"),
        "{own:?}"
    );
    assert!(
        own.iter()
            .all(|e| e["subject_user_id"] != bob["user"]["user_id"]),
        "{own:?}"
    );

    // An organization admin who is no operator is refused; a bad value is a bad request.
    let r = app.get_auth(all, &access(&bob)).await;
    expect_error(r, 403, "forbidden", "all orgs by an org admin").await;
    let r = app
        .get_auth("/api/v1/admin/audit?all_orgs=yes", &ann_token)
        .await;
    expect_error(r, 400, "invalid_request", "all_orgs=yes").await;
}
on_all_setups!(an_operator_reads_the_whole_deployments_audit_log);
