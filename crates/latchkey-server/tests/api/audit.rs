//! The audit log: what admins see at `GET /api/v1/admin/audit` (who did what to which account,
//! from where), paging, filters, who may read it, and that no secret is ever stored in it.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Row;

use crate::helpers::api_keys::{
    access, auth_token, create_key, delete_key, expect_error, expect_json, org_with_member,
    patch_key, refresh_token, rotate_key, signup_key, user_id,
};
use crate::helpers::mfa::{enable_mfa, totp_code};
use crate::helpers::{Backend, PASSWORD, TestApp, s};
use crate::on_all_setups;

/// What the test client sends (`TestApp`'s reqwest client).
const USER_AGENT: &str = "latchkey-tests";

async fn audit_page(app: &TestApp, token: &str, query: &str) -> Value {
    let r = app
        .get_auth(&format!("/api/v1/admin/audit{query}"), token)
        .await;
    let body = expect_json(r, 200, &format!("GET /admin/audit{query}")).await;
    assert!(body["events"].is_array(), "{body}");
    body
}

/// Every event visible to `token`'s admin, newest first (one page of at most 200).
async fn all_events(app: &TestApp, token: &str) -> Vec<Value> {
    let body = audit_page(app, token, "?limit=200").await;
    assert!(body["next_cursor"].is_null(), "{body}");
    body["events"].as_array().unwrap().clone()
}

/// The newest event named `event` (and, when given, about `subject`).
fn find<'a>(events: &'a [Value], event: &str, subject: Option<&str>) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == event && subject.is_none_or(|s| e["subject_user_id"] == s))
        .unwrap_or_else(|| panic!("no {event} about {subject:?} in {events:#?}"))
}

/// Asserts who acted, on whom, and from where.
fn assert_event(e: &Value, actor_kind: &str, actor: Option<&str>, subject: Option<&str>) {
    assert_eq!(e["actor_kind"], actor_kind, "{e}");
    assert_eq!(e["actor_id"].as_str(), actor, "{e}");
    assert_eq!(e["subject_user_id"].as_str(), subject, "{e}");
    assert_eq!(e["ip"], "127.0.0.1", "{e}");
    assert_eq!(e["user_agent"], USER_AGENT, "{e}");
    let at = e["at"].as_str().unwrap();
    assert!(at.ends_with('Z') && at.len() == 24, "RFC 3339 UTC ms: {e}");
}

/// Every stored row of the log, as text, straight from the database.
async fn stored_rows(app: &TestApp) -> String {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.config.database_url())
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT id, org_id, actor_kind, actor_id, subject_user_id, event, ip, user_agent, \
         detail FROM audit_events",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut out = String::new();
    for row in rows {
        for i in 0..9 {
            let v: Option<String> = row.try_get(i).unwrap();
            out.push_str(v.as_deref().unwrap_or("NULL"));
            out.push('\t');
        }
        out.push('\n');
    }
    pool.close().await;
    out
}

on_all_setups!(
    every_event_family_is_recorded_with_actor_subject_and_client,
    |c| {
        c.login_limit_per_account = 3;
    }
);
async fn every_event_family_is_recorded_with_actor_subject_and_client(app: TestApp) {
    let (admin, member) = org_with_member(&app, "boss@example.com", "ann@example.com").await;
    let (admin_id, member_id) = (user_id(&admin), user_id(&member));
    let admin_token = access(&admin);
    let mut secrets: Vec<String> = vec![
        PASSWORD.into(),
        refresh_token(&admin),
        refresh_token(&member),
        signup_key(&admin),
        signup_key(&member),
        admin_token.clone(),
    ];

    // Logins: a wrong password, an unknown address, a success.
    let r = app
        .login("ann@example.com", "wrong password entirely")
        .await;
    assert_eq!(r.status(), 401);
    let r = app.login("nobody@example.com", PASSWORD).await;
    assert_eq!(r.status(), 401);
    let login = expect_json(app.login("ann@example.com", PASSWORD).await, 200, "login").await;
    secrets.push(refresh_token(&login));

    // Keys: created, rescoped, rotated, deleted by their owner.
    let key = create_key(&app, &admin_token, json!({"name": "ci"})).await;
    let kid = s(&key, "id");
    secrets.push(s(&key, "key"));
    let r = patch_key(&app, &admin_token, &kid, json!({"scopes": []})).await;
    expect_json(r, 200, "patch key").await;
    let r = rotate_key(&app, &admin_token, &kid, json!({})).await;
    let rotated = expect_json(r, 200, "rotate key").await;
    secrets.push(s(&rotated, "key"));
    let r = delete_key(&app, &admin_token, &kid).await;
    assert_eq!(r.status(), 204);

    // The admin changes the member: scopes, role, disabled and enabled again.
    let admin_call = |method: Method, path: String, body: Option<Value>| {
        let app = &app;
        let token = admin_token.clone();
        async move {
            app.send_json_auth(
                method,
                &format!("/api/v1/admin{path}"),
                &token,
                body.as_ref(),
            )
            .await
        }
    };
    let r = admin_call(
        Method::PUT,
        format!("/users/{member_id}/scopes"),
        Some(json!({"scopes": ["orders:read"]})),
    )
    .await;
    expect_json(r, 200, "set scopes").await;
    let r = admin_call(
        Method::PUT,
        format!("/users/{member_id}/role"),
        Some(json!({"role": "admin"})),
    )
    .await;
    expect_json(r, 200, "set role").await;
    for disabled in [true, false] {
        let r = admin_call(
            Method::PUT,
            format!("/users/{member_id}/disabled"),
            Some(json!({"disabled": disabled})),
        )
        .await;
        assert_eq!(r.status(), 204);
    }

    // Refresh-token reuse: the member's token replayed after the grace.
    let fresh = expect_json(app.login("ann@example.com", PASSWORD).await, 200, "login").await;
    let first = refresh_token(&fresh);
    let next = expect_json(app.refresh(&first).await, 200, "refresh").await;
    secrets.push(first.clone());
    secrets.push(refresh_token(&next));
    app.advance(Duration::from_secs(11));
    assert_eq!(app.refresh(&first).await.status(), 401);

    // Sessions and password.
    // (Disabling the member ended the earlier sessions.)
    let third = expect_json(app.login("ann@example.com", PASSWORD).await, 200, "login").await;
    secrets.push(refresh_token(&third));
    let r = app
        .post_auth("/api/v1/auth/logout-all", &access(&third))
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post_json_auth(
            "/api/v1/auth/password/change",
            &admin_token,
            &json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(r.status(), 204);
    secrets.push("a brand new passphrase".into());

    // One session ended by its owner, the rest by the admin, and a key of the member's.
    let one = expect_json(app.login("ann@example.com", PASSWORD).await, 200, "login").await;
    let two = expect_json(app.login("ann@example.com", PASSWORD).await, 200, "login").await;
    secrets.extend([refresh_token(&one), refresh_token(&two)]);
    let r = app
        .send_json_auth(
            Method::DELETE,
            &format!("/api/v1/sessions/{}", s(&one, "session_id")),
            &access(&two),
            None,
        )
        .await;
    assert_eq!(r.status(), 204);
    let r = admin_call(Method::DELETE, format!("/users/{member_id}/sessions"), None).await;
    assert_eq!(r.status(), 200);
    let member_key = s(&member["api_key"], "id");
    let r = admin_call(
        Method::DELETE,
        format!("/users/{member_id}/api-keys/{member_key}"),
        None,
    )
    .await;
    assert_eq!(r.status(), 204);

    // Lockout: the limit is 3 failures per account; the 4th try is refused and locks.
    for _ in 0..5 {
        app.login("ann@example.com", "guessing wrong again").await;
    }

    // Removal, last.
    let r = admin_call(Method::DELETE, format!("/users/{member_id}"), None).await;
    assert_eq!(r.status(), 204);

    let events = all_events(&app, &admin_token).await;
    let (a, m) = (Some(admin_id.as_str()), Some(member_id.as_str()));
    let signed_up = find(&events, "user.signed_up", a);
    assert_event(signed_up, "user", a, a);
    assert_eq!(signed_up["detail"]["method"], "password", "{signed_up}");
    assert_eq!(signed_up["detail"]["role"], "admin", "{signed_up}");
    assert_eq!(signed_up["detail"]["referral"], false, "{signed_up}");
    let joined = find(&events, "user.signed_up", m);
    assert_event(joined, "user", m, m);
    assert_eq!(joined["detail"]["referral"], true, "{joined}");
    assert_eq!(joined["detail"]["role"], "member", "{joined}");

    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "login.failed")
        .collect();
    // Refused logins of one account from one IP are one row per window, with a count and
    // the count of each reason.
    let bad: Vec<&&Value> = failed
        .iter()
        .filter(|e| e["subject_user_id"] == member_id.as_str())
        .collect();
    assert_eq!(bad.len(), 1, "{failed:#?}");
    let bad = bad[0];
    let reasons: BTreeSet<&str> = bad["detail"]["reasons"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        reasons,
        BTreeSet::from(["bad_credentials", "locked"]),
        "{failed:#?}"
    );
    assert_eq!(
        bad["detail"]["reason"], "bad_credentials",
        "the first one's"
    );
    assert_event(bad, "anonymous", None, m);
    // A failure for an unknown address has no organization: no admin sees it.
    assert!(
        !events
            .iter()
            .any(|e| e["detail"]["reason"] == "unknown_account"),
        "{events:#?}"
    );
    let locked: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "account.locked")
        .collect();
    assert_eq!(locked.len(), 1, "one lockout per window: {locked:#?}");
    assert_event(locked[0], "anonymous", None, m);

    let ok = find(&events, "login.succeeded", m);
    assert_event(ok, "user", m, m);
    assert_eq!(ok["detail"]["method"], "password", "{ok}");

    for (event, actor, subject) in [
        ("api_key.created", a, a),
        ("api_key.updated", a, a),
        ("api_key.rotated", a, a),
        ("api_key.deleted", a, a),
        ("member.scopes_changed", a, m),
        ("member.role_changed", a, m),
        ("member.disabled", a, m),
        ("member.enabled", a, m),
        ("member.removed", a, m),
        ("password.changed", a, a),
    ] {
        assert_event(find(&events, event, subject), "user", actor, subject);
    }
    let revoked = |reason: &str| {
        events
            .iter()
            .find(|e| e["event"] == "sessions.revoked" && e["detail"]["reason"] == reason)
            .unwrap_or_else(|| panic!("no sessions.revoked for {reason}"))
    };
    assert_event(revoked("logout_all"), "user", m, m);
    assert_event(revoked("session_deleted"), "user", m, m);
    assert_eq!(
        revoked("session_deleted")["detail"]["session_id"],
        s(&one, "session_id")
    );
    assert_event(revoked("admin"), "user", a, m);
    assert_eq!(
        revoked("admin")["detail"]["count"],
        1,
        "{}",
        revoked("admin")
    );
    let by_admin = events
        .iter()
        .find(|e| e["event"] == "api_key.deleted" && e["detail"]["key_id"] == member_key.as_str())
        .unwrap();
    assert_event(by_admin, "user", a, m);
    let scopes = find(&events, "member.scopes_changed", m);
    assert_eq!(scopes["detail"]["old"], json!([]), "{scopes}");
    assert_eq!(scopes["detail"]["new"], json!(["orders:read"]), "{scopes}");
    let role = find(&events, "member.role_changed", m);
    assert_eq!(
        (&role["detail"]["old"], &role["detail"]["new"]),
        (&json!("member"), &json!("admin"))
    );
    let created = events
        .iter()
        .find(|e| e["event"] == "api_key.created" && e["detail"]["key_id"] == kid.as_str())
        .unwrap();
    assert_event(created, "user", a, a);
    let reuse = find(&events, "refresh_token.reuse_detected", m);
    assert_event(reuse, "anonymous", None, m);
    assert_eq!(
        reuse["detail"]["session_id"],
        s(&fresh, "session_id"),
        "{reuse}"
    );

    // Nothing secret anywhere: not in the answer, not in the table.
    let answer = serde_json::to_string(&events).unwrap();
    let table = stored_rows(&app).await;
    assert!(table.contains("login.failed"), "{table}");
    assert!(table.contains("unknown_account"), "{table}");
    secrets.push("nobody@example.com".into());
    for secret in &secrets {
        assert!(
            !answer.contains(secret.as_str()),
            "a secret in the answer: {secret}"
        );
        assert!(
            !table.contains(secret.as_str()),
            "a secret in the table: {secret}"
        );
    }
}

on_all_setups!(second_factor_changes_are_recorded);
async fn second_factor_changes_are_recorded(app: TestApp) {
    let (secret, codes, token) = enable_mfa(&app, "mfa@example.com").await;
    let me = expect_json(app.me(&token).await, 200, "me").await;
    let uid = s(&me, "user_id");
    // A wrong second factor at login, then a recovery code.
    let r = app.login("mfa@example.com", PASSWORD).await;
    let mfa = s(&r.json::<Value>().await.unwrap(), "mfa_token");
    let r = app
        .post(
            "/api/v1/auth/mfa/verify",
            &json!({"mfa_token": mfa, "mfa_code": "000000"}),
        )
        .await;
    assert_eq!(r.status(), 401);
    let r = app
        .post(
            "/api/v1/auth/mfa/verify",
            &json!({"mfa_token": mfa, "mfa_code": codes[0]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .send_json_auth(
            Method::DELETE,
            "/api/v1/mfa/totp",
            &token,
            Some(&json!({"code": totp_code(&app, &secret)})),
        )
        .await;
    assert_eq!(r.status(), 204);

    let events = all_events(&app, &token).await;
    let u = Some(uid.as_str());
    assert_event(find(&events, "mfa.totp_enabled", u), "user", u, u);
    assert_event(find(&events, "mfa.totp_disabled", u), "user", u, u);
    assert_event(find(&events, "mfa.recovery_code_used", u), "user", u, u);
    let ok = find(&events, "login.succeeded", u);
    assert_eq!(ok["detail"]["method"], "mfa", "{ok}");
    let failed = find(&events, "login.failed", u);
    assert_eq!(failed["detail"]["reason"], "mfa_failed", "{failed}");
    assert_event(failed, "anonymous", None, u);
    let table = stored_rows(&app).await;
    for code in &codes {
        assert!(
            !table.contains(code.as_str()),
            "a recovery code in the table"
        );
    }
    assert!(!table.contains(&secret), "the TOTP secret in the table");
}

on_all_setups!(paging_walks_every_event_once_in_order_while_new_ones_arrive);
async fn paging_walks_every_event_once_in_order_while_new_ones_arrive(app: TestApp) {
    let (admin, member) = org_with_member(&app, "pages@example.com", "m@example.com").await;
    let token = access(&admin);
    let member_id = user_id(&member);
    let set_scopes = |scopes: Value| {
        let app = &app;
        let token = token.clone();
        let path = format!("/api/v1/admin/users/{member_id}/scopes");
        async move {
            let r = app
                .send_json_auth(Method::PUT, &path, &token, Some(&json!({"scopes": scopes})))
                .await;
            assert_eq!(r.status(), 200);
        }
    };
    // Some events share a millisecond, some do not.
    for i in 0..9 {
        if i % 3 == 0 {
            app.advance(Duration::from_millis(1));
        }
        let scopes = if i % 2 == 0 {
            json!(["orders:read"])
        } else {
            json!([])
        };
        set_scopes(scopes).await;
    }
    let before: Vec<String> = all_events(&app, &token)
        .await
        .iter()
        .map(|e| s(e, "id"))
        .collect();
    assert!(before.len() >= 13, "{before:?}");
    let ats: Vec<String> = all_events(&app, &token)
        .await
        .iter()
        .map(|e| s(e, "at"))
        .collect();
    assert!(
        ats.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {ats:?}"
    );

    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=4&cursor={c}"),
            None => "?limit=4".to_owned(),
        };
        let page = audit_page(&app, &token, &query).await;
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= 4);
        walked.extend(events.iter().map(|e| s(e, "id")));
        // New events between pages are newer than every page still to come.
        set_scopes(json!(["billing:read"])).await;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(walked, before, "every event once, in order");
}

on_all_setups!(filters_narrow_by_event_user_and_time);
async fn filters_narrow_by_event_user_and_time(app: TestApp) {
    let (admin, member) = org_with_member(&app, "f@example.com", "fm@example.com").await;
    let token = access(&admin);
    let (admin_id, member_id) = (user_id(&admin), user_id(&member));
    let start = chrono_like(app.clock.now_ms());
    app.advance(Duration::from_secs(60));
    let middle = chrono_like(app.clock.now_ms());
    app.login("fm@example.com", "not the password").await;
    expect_json(app.login("fm@example.com", PASSWORD).await, 200, "login").await;
    create_key(&app, &token, json!({"name": "f"})).await;
    app.advance(Duration::from_secs(60));
    let end = chrono_like(app.clock.now_ms());

    let names = |body: &Value| -> Vec<String> {
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| s(e, "event"))
            .collect()
    };
    let exact = audit_page(&app, &token, "?event=login.failed").await;
    assert_eq!(names(&exact), ["login.failed"]);
    let prefix = audit_page(&app, &token, "?event=login.").await;
    assert_eq!(names(&prefix), ["login.succeeded", "login.failed"]);
    let keys = audit_page(&app, &token, "?event=api_key.").await;
    assert!(
        names(&keys).iter().all(|n| n == "api_key.created"),
        "{keys}"
    );
    assert_eq!(
        names(&keys).len(),
        3,
        "two default keys and one more: {keys}"
    );
    assert!(names(&audit_page(&app, &token, "?event=login").await).is_empty());

    let mine = audit_page(&app, &token, &format!("?user_id={member_id}")).await;
    for e in mine["events"].as_array().unwrap() {
        assert!(
            e["actor_id"] == member_id.as_str() || e["subject_user_id"] == member_id.as_str(),
            "{e}"
        );
    }
    assert!(
        names(&mine).contains(&"user.signed_up".to_owned()),
        "{mine}"
    );
    let by_admin = audit_page(&app, &token, &format!("?user_id={admin_id}&event=api_key.")).await;
    assert_eq!(names(&by_admin), ["api_key.created", "api_key.created"]);

    let early = audit_page(&app, &token, &format!("?since={start}&until={middle}")).await;
    assert!(
        names(&early).contains(&"user.signed_up".to_owned()),
        "{early}"
    );
    assert!(
        !names(&early).iter().any(|n| n.starts_with("login.")),
        "{early}"
    );
    let late = audit_page(&app, &token, &format!("?since={middle}&until={end}")).await;
    assert_eq!(
        names(&late),
        ["api_key.created", "login.succeeded", "login.failed"]
    );
    let none = audit_page(&app, &token, &format!("?since={end}")).await;
    assert!(names(&none).is_empty(), "{none}");
}

/// RFC 3339 for a millisecond time, with `+` escaped for a query string.
fn chrono_like(ms: i64) -> String {
    latchkey_core::clock::rfc3339_ms(ms)
}

on_all_setups!(only_admins_of_the_organization_read_its_log);
async fn only_admins_of_the_organization_read_its_log(app: TestApp) {
    let (admin, member) = org_with_member(&app, "one@example.com", "onem@example.com").await;
    let other = app.signup("two@example.com").await;
    let theirs = all_events(&app, &access(&other)).await;
    assert!(!theirs.is_empty());
    for e in &theirs {
        assert_eq!(e["subject_user_id"], user_id(&other).as_str(), "{e}");
    }
    let ours = all_events(&app, &access(&admin)).await;
    assert!(
        ours.iter()
            .all(|e| e["subject_user_id"] != user_id(&other).as_str())
    );
    // A member, an API token of the admin, and nobody.
    let r = app.get_auth("/api/v1/admin/audit", &access(&member)).await;
    expect_error(r, 403, "forbidden", "member").await;
    let agent = auth_token(&app, &signup_key(&admin)).await;
    let r = app.get_agent("/api/v1/admin/audit", &agent).await;
    expect_error(r, 403, "forbidden", "API token").await;
    let r = app
        .client
        .get(app.url("/api/v1/admin/audit"))
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "missing_token", "no token").await;
}

#[tokio::test]
async fn bad_parameters_are_invalid_requests() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = app.signup("bad@example.com").await;
    let token = access(&admin);
    for query in [
        "?limit=0",
        "?limit=201",
        "?limit=ten",
        "?limit=-1",
        "?cursor=not-a-cursor",
        "?cursor=MTIzLmEnOy0t",
        "?since=yesterday",
        "?until=2026-13-01T00:00:00Z",
        "?event=LOGIN",
        "?event=login%25",
        "?event=",
        "?colour=blue",
    ] {
        let r = app
            .get_auth(&format!("/api/v1/admin/audit{query}"), &token)
            .await;
        expect_error(r, 400, "invalid_request", query).await;
    }
}

on_all_setups!(retention_prunes_old_events, |c| {
    c.audit_retention = std::time::Duration::from_secs(3600);
});
async fn retention_prunes_old_events(app: TestApp) {
    let admin = app.signup("old@example.com").await;
    let token = access(&admin);
    let old = all_events(&app, &token).await;
    assert!(!old.is_empty());
    app.advance(Duration::from_secs(2 * 3600));
    // The access token expired meanwhile: a new login is the one recent event.
    let token =
        access(&expect_json(app.login("old@example.com", PASSWORD).await, 200, "login").await);
    let retention = app.config.audit_retention;
    let pruned = app.app_state().auth.prune_audit(retention).await.unwrap();
    assert_eq!(pruned as usize, old.len());
    let left = all_events(&app, &token).await;
    assert_eq!(left.len(), 1, "{left:#?}");
    assert_eq!(left[0]["event"], "login.succeeded");
    // `0` keeps everything, however old.
    app.advance(Duration::from_secs(10 * 3600));
    let kept = app
        .app_state()
        .auth
        .prune_audit(Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(kept, 0);
    let token =
        access(&expect_json(app.login("old@example.com", PASSWORD).await, 200, "login").await);
    assert_eq!(all_events(&app, &token).await.len(), 2);
}

on_all_setups!(mail: mailed_links_are_recorded);
async fn mailed_links_are_recorded(app: TestApp, sink: crate::helpers::mail_sink::SmtpSink) {
    let user = app.signup("mail@example.com").await;
    let (token, uid) = (access(&user), user_id(&user));
    let link = sink.last_to("mail@example.com").await.link_param("token");
    let r = app
        .post(
            "/api/v1/auth/email/verify",
            &json!({"token": link, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 204);
    let r = app
        .post(
            "/api/v1/auth/password/forgot",
            &json!({"email": "mail@example.com"}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let reset = sink.reset_to("mail@example.com").await.link_param("token");
    let r = app
        .post(
            "/api/v1/auth/password/reset",
            &json!({"token": reset, "new_password": "another fine passphrase"}),
        )
        .await;
    assert_eq!(r.status(), 204);
    // The reset ended every session: sign in again to read the log.
    assert_eq!(app.me(&token).await.status(), 401);
    let again = app
        .login("mail@example.com", "another fine passphrase")
        .await;
    let token = access(&expect_json(again, 200, "login after the reset").await);
    let events = all_events(&app, &token).await;
    let u = Some(uid.as_str());
    let verified = find(&events, "email.verified", u);
    assert_event(verified, "user", u, u);
    assert_eq!(verified["detail"]["method"], "link", "{verified}");
    assert_event(find(&events, "password.reset", u), "anonymous", None, u);

    // Sign-in codes: a login of this account, and the sign-up of a new address.
    let code_login = |email: &'static str| {
        let (app, sink) = (&app, &sink);
        async move {
            let r = app
                .post("/api/v1/auth/code", &json!({"email": email}))
                .await;
            let login_id = s(&expect_json(r, 202, "code").await, "login_id");
            let code = sink.code_to(email).await.code_after("sign-in code is ");
            let r = app
                .post(
                    "/api/v1/auth/code/verify",
                    &json!({"login_id": login_id, "session_code": code}),
                )
                .await;
            assert!(r.status().is_success(), "{}", r.status());
            (code, r.json::<Value>().await.unwrap())
        }
    };
    // A wrong code is a failed login of the account the address names.
    let r = app
        .post("/api/v1/auth/code", &json!({"email": "mail@example.com"}))
        .await;
    let login_id = s(&expect_json(r, 202, "code").await, "login_id");
    let right = sink
        .code_to("mail@example.com")
        .await
        .code_after("sign-in code is ");
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let r = app
        .post(
            "/api/v1/auth/code/verify",
            &json!({"login_id": login_id, "session_code": wrong}),
        )
        .await;
    assert_eq!(r.status(), 401, "a wrong code");
    let events = all_events(&app, &token).await;
    let failed = events
        .iter()
        .find(|e| e["event"] == "login.failed" && e["detail"]["reason"] == "bad_code")
        .unwrap_or_else(|| panic!("no failed code login: {events:#?}"));
    assert_event(failed, "anonymous", None, u);
    assert_eq!(failed["detail"]["method"], "code", "{failed}");
    let (code, _) = code_login("mail@example.com").await;
    let events = all_events(&app, &token).await;
    let ok = find(&events, "login.succeeded", u);
    assert_event(ok, "user", u, u);
    assert_eq!(ok["detail"]["method"], "code", "{ok}");
    let verified: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "email.verified")
        .collect();
    assert_eq!(
        verified.len(),
        1,
        "an address is verified once: {verified:#?}"
    );
    let (code2, newcomer) = code_login("coder@example.com").await;
    let n = user_id(&newcomer);
    let n = Some(n.as_str());
    let theirs = all_events(&app, &access(&newcomer)).await;
    let signed_up = find(&theirs, "user.signed_up", n);
    assert_event(signed_up, "user", n, n);
    assert_eq!(signed_up["detail"]["method"], "code", "{signed_up}");
    let verified = find(&theirs, "email.verified", n);
    assert_eq!(verified["detail"]["method"], "code", "{verified}");

    let table = stored_rows(&app).await;
    for secret in [
        link.as_str(),
        reset.as_str(),
        "another fine passphrase",
        &code,
        &code2,
        &refresh_token(&newcomer),
    ] {
        assert!(!table.contains(secret), "a secret in the table: {secret}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_verification_and_signing_key_rotation_are_recorded() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let token = crate::helpers::phone::user_with_phone(&app).await;
    let uid = s(
        &expect_json(app.me(&token).await, 200, "me").await,
        "user_id",
    );
    let r = app.post_auth("/api/v1/phone/verify/start", &token).await;
    assert_eq!(r.status(), 202);
    let (_, code) = crate::helpers::phone::outbox_code(&app);
    let r = app
        .post_json_auth("/api/v1/phone/verify", &token, &json!({"code": code}))
        .await;
    assert_eq!(r.status(), 200);
    let events = all_events(&app, &token).await;
    let u = Some(uid.as_str());
    assert_event(find(&events, "phone.verified", u), "user", u, u);

    // The operator's rotation belongs to no organization: it is in the table only.
    let kid = crate::helpers::key_rotation::rotate_with_cli(&app, None);
    let table = stored_rows(&app).await;
    let row = table
        .lines()
        .find(|l| l.contains("signing_key.rotated"))
        .unwrap_or_else(|| panic!("no rotation in {table}"));
    assert!(row.contains("\tsystem\t") && row.contains(&kid), "{row}");
    assert!(!table.contains(&code), "the phone code in the table");
}
