//! Unauthenticated floods and enumeration: refused logins aggregated in the audit log, mail
//! answered before it is sent (and sent to the account's own address), text budgets.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Row;

use crate::helpers::mail_sink::SmtpSink;
use crate::helpers::{PASSWORD, TestApp, error_code, s};
use crate::on_all_setups;

/// The test client connects from 127.0.0.1: that is the proxy here, so each request can
/// come from the address it names.
fn behind_loopback_proxy(c: &mut latchkey_server::Config) {
    c.trusted_proxies = vec!["127.0.0.1/32".into()];
}

async fn login_from(app: &TestApp, ip: &str, email: &str) -> u16 {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", ip)
        .json(&json!({"email": email, "password": "not the password at all"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Every stored `login.failed` row: (ip, org_id, subject, detail).
async fn failed_rows(app: &TestApp) -> Vec<(String, Option<String>, Option<String>, Value)> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.config.database_url())
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT ip, org_id, subject_user_id, detail FROM audit_events \
         WHERE event = 'login.failed'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.iter()
        .map(|r| {
            let detail: String = r.try_get(3).unwrap();
            (
                r.try_get(0).unwrap(),
                r.try_get(1).unwrap(),
                r.try_get(2).unwrap(),
                serde_json::from_str(&detail).unwrap(),
            )
        })
        .collect()
}

fn count(detail: &Value) -> u64 {
    detail["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("{detail}"))
}

crate::on_all_setups!(
    hundreds_of_failed_logins_make_a_few_rows_whose_counts_add_up,
    super::behind_loopback_proxy
);
async fn hundreds_of_failed_logins_make_a_few_rows_whose_counts_add_up(app: TestApp) {
    let victim = app.signup("vic@example.com").await;
    let (token, vic) = (s(&victim, "access_token"), s(&victim["user"], "user_id"));
    let flood = "203.0.113.7";
    // 150 wrong passwords for one account from one IP (most are refused by the lockout and
    // the per-IP limit: refused all the same), then 60 made-up addresses from that IP.
    for _ in 0..150 {
        let status = login_from(&app, flood, "vic@example.com").await;
        assert!(status == 401 || status == 429, "{status}");
    }
    for i in 0..60 {
        login_from(&app, flood, &format!("ghost{i}@example.com")).await;
    }
    // Another IP, the same account: a row of its own.
    for _ in 0..5 {
        login_from(&app, "198.51.100.9", "vic@example.com").await;
    }

    // The organization's log (read through the API, which shows the counts as of now).
    let r = app
        .get_auth("/api/v1/admin/audit?event=login.failed&limit=200", &token)
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "one row per account and IP: {events:#?}");
    let of = |ip: &str| {
        events
            .iter()
            .find(|e| e["ip"] == ip)
            .unwrap_or_else(|| panic!("no row of {ip}: {events:#?}"))
    };
    let flooded = of(flood);
    assert_eq!(flooded["subject_user_id"], vic.as_str());
    assert_eq!(flooded["detail"]["count"], 150, "{flooded}");
    let reasons = flooded["detail"]["reasons"].as_object().unwrap();
    assert_eq!(
        reasons.values().map(|n| n.as_u64().unwrap()).sum::<u64>(),
        150
    );
    assert!(reasons.contains_key("bad_credentials") && reasons.contains_key("locked"));
    assert_eq!(of("198.51.100.9")["detail"]["count"], 5);

    // Everything the flooding IP caused: a bounded number of rows (its row budget, 20, and
    // one for the rest), whose counts add up to its 210 refused logins.
    let rows = failed_rows(&app).await;
    let mine: Vec<_> = rows.iter().filter(|r| r.0 == flood).collect();
    assert!(mine.len() <= 21, "{} rows: {mine:#?}", mine.len());
    assert_eq!(
        mine.iter().map(|r| count(&r.3)).sum::<u64>(),
        210,
        "{mine:#?}"
    );
    let rest: Vec<_> = mine.iter().filter(|r| r.3["accounts"] == "many").collect();
    assert_eq!(rest.len(), 1, "{mine:#?}");
    assert!(
        rest[0].1.is_none() && rest[0].2.is_none(),
        "no organization's: {rest:?}"
    );
    // Unknown addresses are named by their reference only.
    assert!(mine.iter().all(|r| !r.3.to_string().contains("ghost")));
    assert_eq!(rows.iter().map(|r| count(&r.3)).sum::<u64>(), 215);

    // A new window opens new rows (not with Redis: the IP's row budget expires by Redis's
    // own clock, which the test cannot move).
    if app.config.redis_url.is_some() {
        return;
    }
    app.advance(Duration::from_secs(16 * 60));
    login_from(&app, flood, "vic@example.com").await;
    let r = app.refresh(&s(&victim, "refresh_token")).await;
    let token = s(&r.json::<Value>().await.unwrap(), "access_token");
    let r = app
        .get_auth("/api/v1/admin/audit?event=login.failed&limit=200", &token)
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["events"].as_array().unwrap().len(), 3, "{body:#}");
    assert_eq!(body["events"][0]["detail"]["count"], 1, "{body:#}");
}

on_all_setups!(mail: a_known_address_is_answered_before_the_mail_is_sent);
async fn a_known_address_is_answered_before_the_mail_is_sent(app: TestApp, sink: SmtpSink) {
    app.signup("slow@example.com").await;
    // The verification mail of the sign-up went out; from now on the mail server stalls.
    sink.last_to("slow@example.com").await;
    sink.pause();
    for (path, email) in [
        ("/api/v1/auth/password/forgot", "slow@example.com"),
        ("/api/v1/auth/password/forgot", "nobody@example.com"),
        ("/api/v1/auth/code", "slow@example.com"),
    ] {
        let r = tokio::time::timeout(
            Duration::from_secs(3),
            app.post(path, &json!({"email": email})),
        )
        .await
        .unwrap_or_else(|_| panic!("{path} for {email} waited for the mail server"));
        assert_eq!(r.status(), 202, "{path}");
    }
    assert!(
        sink.to("slow@example.com").len() == 1,
        "nothing delivered yet"
    );
    // The mail server recovers: both mails arrive, and they work.
    sink.resume();
    let reset = sink.reset_to("slow@example.com").await.link_param("token");
    let r = app
        .post(
            "/api/v1/auth/password/reset",
            &json!({"token": reset, "new_password": "a whole new passphrase here"}),
        )
        .await;
    assert_eq!(r.status(), 204);
    sink.code_to("slow@example.com").await;
    assert!(sink.to("nobody@example.com").is_empty());
}

on_all_setups!(mail: sign_up_by_code_off_answers_known_and_unknown_alike, |c| c
    .login_code_signup =
    false);
async fn sign_up_by_code_off_answers_known_and_unknown_alike(app: TestApp, sink: SmtpSink) {
    app.signup("known@example.com").await;
    sink.last_to("known@example.com").await;
    sink.pause();
    for email in ["known@example.com", "unknown@example.com"] {
        let r = tokio::time::timeout(
            Duration::from_secs(3),
            app.post("/api/v1/auth/code", &json!({"email": email})),
        )
        .await
        .unwrap_or_else(|_| panic!("/auth/code for {email} waited for the mail server"));
        assert_eq!(r.status(), 202);
    }
    sink.resume();
    sink.code_to("known@example.com").await;
    assert!(
        app.app_state()
            .auth
            .mail_idle(Duration::from_secs(10))
            .await
    );
    assert!(sink.to("unknown@example.com").is_empty());
}

on_all_setups!(mail: a_stopping_server_sends_what_it_queued);
async fn a_stopping_server_sends_what_it_queued(app: TestApp, sink: SmtpSink) {
    app.signup("late@example.com").await;
    sink.last_to("late@example.com").await;
    sink.pause();
    let r = app
        .post("/api/v1/auth/code", &json!({"email": "late@example.com"}))
        .await;
    assert_eq!(r.status(), 202);
    let resume = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        sink.resume();
    };
    // `stop` returns only once the queued mail went out (a process would exit after it).
    let ((), _) = tokio::join!(resume, app.stop());
    let sent = sink.to("late@example.com");
    assert!(
        sent.iter()
            .any(|m| m.raw.contains("Subject: Your sign-in code")),
        "the queued code was sent before the server stopped"
    );
}

on_all_setups!(mail: codes_and_links_go_to_the_stored_address_not_a_look_alike);
async fn codes_and_links_go_to_the_stored_address_not_a_look_alike(app: TestApp, sink: SmtpSink) {
    app.signup("kate@example.com").await;
    // A Kelvin sign (U+212A) lower-cases to `k`: the address names Kate's account.
    let look_alike = "\u{212A}ate@example.com";
    let r = app
        .post("/api/v1/auth/code", &json!({"email": look_alike}))
        .await;
    assert_eq!(r.status(), 202);
    let login_id = s(&r.json::<Value>().await.unwrap(), "login_id");
    let mail = sink.code_to("kate@example.com").await;
    assert_eq!(
        mail.to, "kate@example.com",
        "the RCPT is the stored address"
    );
    let code = mail.code_after("sign-in code is ");
    let r = app
        .post(
            "/api/v1/auth/code/verify",
            &json!({"login_id": login_id, "session_code": code}),
        )
        .await;
    assert_eq!(r.status(), 200);

    let r = app
        .post(
            "/api/v1/auth/password/forgot",
            &json!({"email": look_alike}),
        )
        .await;
    assert_eq!(r.status(), 202);
    assert_eq!(
        sink.reset_to("kate@example.com").await.to,
        "kate@example.com"
    );
    assert!(
        app.app_state()
            .auth
            .mail_idle(Duration::from_secs(10))
            .await
    );
    assert!(
        sink.all().iter().all(|m| m.to == "kate@example.com"),
        "every mail went to the stored address: {:?}",
        sink.all().iter().map(|m| &m.to).collect::<Vec<_>>()
    );
}

const PHONE: &str = "+14155550199";

async fn start_phone(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_auth("/api/v1/phone/verify/start", token).await
}

fn texts_to(app: &TestApp, phone: &str) -> usize {
    let dir = app.config.data_dir.join("sms-outbox");
    let Ok(files) = std::fs::read_dir(&dir) else {
        return 0;
    };
    files
        .filter(|f| {
            let msg: Value =
                serde_json::from_slice(&std::fs::read(f.as_ref().unwrap().path()).unwrap())
                    .unwrap();
            msg["to"] == phone
        })
        .count()
}

crate::on_all_setups!(eight_fresh_accounts_cannot_text_one_number_eight_times);
async fn eight_fresh_accounts_cannot_text_one_number_eight_times(app: TestApp) {
    let mut refused = None;
    for i in 0..8 {
        let user = app
            .signup_with(json!({"email": format!("pump{i}@example.com"),
                "password": PASSWORD, "phone": PHONE}))
            .await;
        let r = start_phone(&app, &s(&user, "access_token")).await;
        match r.status().as_u16() {
            202 => assert!(refused.is_none(), "a send after a refusal"),
            429 => {
                let retry: u64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(retry > 0 && retry <= 24 * 3600, "{retry}");
                assert_eq!(error_code(r).await, "rate_limited");
                refused.get_or_insert(i);
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!(refused, Some(5), "five texts per number and day");
    assert_eq!(texts_to(&app, PHONE), 5);
    // The budget is the number's: another number is still texted.
    let other = app
        .signup_with(json!({"email": "fresh@example.com", "password": PASSWORD,
            "phone": "+14155550100"}))
        .await;
    assert_eq!(
        start_phone(&app, &s(&other, "access_token")).await.status(),
        202
    );
    // After the window, the number can be texted again (Redis expires its counters by its
    // own clock, which the test cannot move).
    if app.config.redis_url.is_some() {
        return;
    }
    app.advance(Duration::from_secs(24 * 3600 + 1));
    let user = app
        .signup_with(json!({"email": "later@example.com", "password": PASSWORD,
            "phone": PHONE}))
        .await;
    assert_eq!(
        start_phone(&app, &s(&user, "access_token")).await.status(),
        202
    );
}

crate::on_all_setups!(one_organization_has_a_text_budget, |c| {
    c.phone_sends_per_org = 3;
});
async fn one_organization_has_a_text_budget(app: TestApp) {
    let admin = app.signup("boss@example.com").await;
    let code = {
        let r = app
            .get_auth("/api/v1/org", &s(&admin, "access_token"))
            .await;
        s(&r.json::<Value>().await.unwrap(), "referral_code")
    };
    let mut statuses = Vec::new();
    for i in 0..5 {
        let member = app
            .signup_with(
                json!({"email": format!("m{i}@example.com"), "password": PASSWORD,
                "phone": format!("+1415555020{i}"), "referral_code": code}),
            )
            .await;
        statuses.push(
            start_phone(&app, &s(&member, "access_token"))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [202, 202, 202, 429, 429]);
}
