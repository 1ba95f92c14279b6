//! Lockout and attempt limits: every guessable sign-in step (password, second factor, mailed
//! code) is counted per client address and per account, only a completed sign-in gives
//! anything back, a device that signed in before keeps its own budget, and a flood of
//! addresses cannot make the in-process store forget an account's lock.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::mail_sink::SmtpSink;
use crate::helpers::mfa::{enable_mfa, totp_code};
use crate::helpers::{Backend, PASSWORD, TestApp, error_code, s};
use crate::on_all_setups;

/// The test client connects from 127.0.0.1: that is the proxy, and `X-Forwarded-For` names
/// the client (as in `client_ip.rs`).
pub(crate) fn behind_loopback_proxy(c: &mut latchkey_server::Config) {
    c.trusted_proxies = vec!["127.0.0.1/32".into()];
}

/// A request from client address `ip`, with a device token when given.
fn from(
    app: &TestApp,
    path: &str,
    ip: &str,
    device: Option<&str>,
    body: &Value,
) -> reqwest::RequestBuilder {
    let mut request = app
        .client
        .post(app.url(path))
        .header("x-forwarded-for", ip)
        .json(body);
    if let Some(device) = device {
        request = request.header("x-device-token", device);
    }
    request
}

async fn login_from(
    app: &TestApp,
    ip: &str,
    device: Option<&str>,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let body = json!({"email": email, "password": password});
    from(app, "/api/v1/auth/login", ip, device, &body)
        .send()
        .await
        .unwrap()
}

/// A 429 `rate_limited` with a `Retry-After` of at most the window.
async fn assert_locked(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), 429, "{what}");
    let secs: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&secs), "{what}: Retry-After {secs}");
    assert_eq!(error_code(r).await, "rate_limited", "{what}");
}

/// 401 `invalid_mfa_code` (its `data` tells the tries left of that challenge).
async fn assert_wrong_factor(r: reqwest::Response) {
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_mfa_code", "{body}");
}

fn wrong_totp(right: &str) -> &'static str {
    if right == "000000" {
        "000001"
    } else {
        "000000"
    }
}

// ---------------------------------------------------------------------------------------------
// Second factors (issue 16, item 1)

async fn mfa_token(app: &TestApp, email: &str) -> reqwest::Response {
    app.login(email, PASSWORD).await
}

async fn mfa_verify(app: &TestApp, token: &str, code: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/mfa/verify",
        &json!({"mfa_token": token, "mfa_code": code}),
    )
    .await
}

crate::on_all_setups!(wrong_second_factors_add_up_across_challenges);
/// Someone who knows the password asks for fresh MFA challenges again and again: the right
/// password gives nothing back, so the wrong codes of every challenge add up in the account's
/// budget (10 from one address) and then even the right code is refused until the window ends.
async fn wrong_second_factors_add_up_across_challenges(app: TestApp) {
    let (secret, _, _) = enable_mfa(&app, "ada@example.com").await;
    let wrong = wrong_totp(&totp_code(&app, &secret));
    let (mut evaluated, mut token) = (0, None);
    // Three wrong codes per challenge, well inside each challenge's own five tries.
    'guessing: for _ in 0..10 {
        let r = mfa_token(&app, "ada@example.com").await;
        if r.status() == 429 {
            assert_locked(r, "a new challenge").await;
            break;
        }
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["status"], "mfa_required", "{body}");
        let this = s(&body, "mfa_token");
        for _ in 0..3 {
            let r = mfa_verify(&app, &this, wrong).await;
            if r.status() == 429 {
                assert_locked(r, "a wrong code").await;
                token = Some(this);
                break 'guessing;
            }
            assert_wrong_factor(r).await;
            evaluated += 1;
        }
        token = Some(this);
    }
    // The budget is 10 steps, the three right passwords among them.
    assert_eq!(evaluated, 7, "wrong second factors evaluated");
    let token = token.expect("a challenge was opened");
    let r = mfa_verify(&app, &token, &totp_code(&app, &secret)).await;
    assert_locked(r, "the right code while locked").await;
    assert_locked(
        mfa_token(&app, "ada@example.com").await,
        "the right password while locked",
    )
    .await;
    // Redis ends the window by its own clock; the in-process one follows the manual clock.
    if app.config.redis_url.is_none() {
        app.advance(Duration::from_secs(15 * 60 + 30));
        let r = mfa_token(&app, "ada@example.com").await;
        let body: Value = r.json().await.unwrap();
        let r = mfa_verify(&app, &s(&body, "mfa_token"), &totp_code(&app, &secret)).await;
        assert_eq!(r.status(), 200);
    }
}

crate::on_all_setups!(
    wrong_second_factors_from_many_addresses_hit_the_account_budget,
    |c| {
        crate::lockout::behind_loopback_proxy(c);
        c.login_limit_per_account = 12;
    }
);
/// Across client addresses the account's whole budget bounds the second-factor guesses.
async fn wrong_second_factors_from_many_addresses_hit_the_account_budget(app: TestApp) {
    let (secret, _, _) = enable_mfa(&app, "bea@example.com").await;
    let wrong = wrong_totp(&totp_code(&app, &secret));
    let mut evaluated = 0;
    let mut locked = false;
    for i in 1..=10 {
        let ip = format!("198.51.100.{i}");
        let r = login_from(&app, &ip, None, "bea@example.com", PASSWORD).await;
        if r.status() == 429 {
            assert_locked(r, "a new challenge").await;
            locked = true;
            break;
        }
        let body: Value = r.json().await.unwrap();
        let token = s(&body, "mfa_token");
        for _ in 0..3 {
            let body = json!({"mfa_token": token, "mfa_code": wrong});
            let r = from(&app, "/api/v1/auth/mfa/verify", &ip, None, &body)
                .send()
                .await
                .unwrap();
            if r.status() == 429 {
                assert_locked(r, "a wrong code").await;
                locked = true;
                break;
            }
            assert_wrong_factor(r).await;
            evaluated += 1;
        }
        if locked {
            break;
        }
    }
    assert!(locked, "the account's budget ran out");
    assert_eq!(evaluated, 9, "12 steps, three of them right passwords");
}

// ---------------------------------------------------------------------------------------------
// Mailed codes (issue 16, item 11)

async fn request_code(app: &TestApp, email: &str) -> String {
    let r = app
        .post("/api/v1/auth/code", &json!({"email": email}))
        .await;
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    s(&body, "login_id")
}

async fn verify_code(app: &TestApp, login_id: &str, code: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/code/verify",
        &json!({"login_id": login_id, "session_code": code}),
    )
    .await
}

/// The code mailed for `login_id`.
async fn mailed_code(sink: &SmtpSink, email: &str, login_id: &str) -> String {
    let missing = format!("no mail for {login_id}");
    let mail = sink
        .first_to(email, &missing, |m| m.text().contains(login_id))
        .await;
    mail.code_after("sign-in code is ")
}

on_all_setups!(mail: wrong_codes_across_logins_hit_the_account_limit, |c| {
    c.login_code_limit_per_email = 100;
    c.login_code_limit_per_ip = 100;
});
/// One wrong code per login, across many logins of one address: the account's budget (10 from
/// one client) stops the spray, and a right code is refused as well while it lasts.
async fn wrong_codes_across_logins_hit_the_account_limit(app: TestApp, _sink: SmtpSink) {
    app.signup("ada@example.com").await;
    let mut refused = None;
    for i in 0..12 {
        let login_id = request_code(&app, "ada@example.com").await;
        let r = verify_code(&app, &login_id, "000000").await;
        if r.status() == 429 {
            refused = Some(i);
            assert_locked(r, "a wrong code").await;
            break;
        }
        // (A one-in-a-million right guess would be a 200.)
        assert_eq!(error_code(r).await, "invalid_session_code");
    }
    assert_eq!(refused, Some(10), "the 11th guess is refused");
    let login_id = request_code(&app, "ada@example.com").await;
    let code = mailed_code(&_sink, "ada@example.com", &login_id).await;
    assert_locked(
        verify_code(&app, &login_id, &code).await,
        "the right code while locked",
    )
    .await;
    if app.config.redis_url.is_none() {
        app.advance(Duration::from_secs(15 * 60 + 1));
        let login_id = request_code(&app, "ada@example.com").await;
        let code = mailed_code(&_sink, "ada@example.com", &login_id).await;
        assert_eq!(verify_code(&app, &login_id, &code).await.status(), 200);
    }
}

on_all_setups!(mail: wrong_codes_across_accounts_hit_the_ip_limit, |c| {
    c.login_limit_per_ip = 8;
});
/// Wrong codes spread over many accounts from one client address hit the per-IP limit.
async fn wrong_codes_across_accounts_hit_the_ip_limit(app: TestApp, _sink: SmtpSink) {
    let mut logins = Vec::new();
    for i in 0..5 {
        let email = format!("u{i}@example.com");
        app.signup(&email).await;
        logins.push(request_code(&app, &email).await);
        logins.push(request_code(&app, &email).await);
    }
    for (i, login_id) in logins.iter().enumerate() {
        let r = verify_code(&app, login_id, "000000").await;
        if i < 8 {
            assert_eq!(error_code(r).await, "invalid_session_code", "guess {i}");
        } else {
            assert_locked(r, "past the per-IP limit").await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lockout is no denial of service (issue 16, item 12)

crate::on_all_setups!(
    an_attacker_does_not_lock_the_owner_out,
    crate::lockout::behind_loopback_proxy
);
/// An attacker's wrong passwords from one address lock that address out of the account, not
/// the owner: from another address, or from a device that signed in before (even behind the
/// attacker's own address), the right password still signs in.
async fn an_attacker_does_not_lock_the_owner_out(app: TestApp) {
    const ATTACKER: &str = "203.0.113.66";
    app.signup("ann@example.com").await;
    // The owner's phone signed in once and kept its device token.
    let r = login_from(&app, "198.51.100.1", None, "ann@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let grant: Value = r.json().await.unwrap();
    let device = s(&grant, "device_token");
    assert!(device.starts_with("lkd_"), "{device}");

    for i in 0..10 {
        let r = login_from(&app, ATTACKER, None, "ann@example.com", "wrong guess here").await;
        assert_eq!(r.status(), 401, "guess {i}");
    }
    let r = login_from(&app, ATTACKER, None, "ann@example.com", "wrong guess here").await;
    assert_locked(r, "the attacker's 11th guess").await;
    let r = login_from(&app, ATTACKER, None, "ann@example.com", PASSWORD).await;
    assert_locked(r, "the right password from the attacker's address").await;

    // The owner from elsewhere signs in.
    let r = login_from(&app, "198.51.100.2", None, "ann@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200, "another address");
    // So does the owner's device, even behind the attacker's address (a shared NAT).
    let r = login_from(&app, ATTACKER, Some(&device), "ann@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200, "a known device");
    let renewed: Value = r.json().await.unwrap();
    assert!(s(&renewed, "device_token").starts_with("lkd_"));

    // A device token of another account, or a forged one, is no device of this account.
    let other = app.signup("eve@example.com").await;
    let foreign = s(&other, "device_token");
    for token in [foreign.as_str(), "lkd_AAAA.99999999999.forged"] {
        let r = login_from(&app, ATTACKER, Some(token), "ann@example.com", PASSWORD).await;
        assert_locked(r, "someone else's device token").await;
    }
}

on_all_setups!(mail: a_known_device_and_a_reset_outlast_the_account_lock, |c| {
    c.trusted_proxies = vec!["127.0.0.1/32".into()];
    c.login_limit_per_account = 20;
});
/// Many addresses together exhaust the account's whole budget: then only the owner's known
/// devices get in, and a password reset ends the lock.
async fn a_known_device_and_a_reset_outlast_the_account_lock(app: TestApp, sink: SmtpSink) {
    app.signup("ann@example.com").await;
    let r = login_from(&app, "198.51.100.1", None, "ann@example.com", PASSWORD).await;
    let device = s(&r.json::<Value>().await.unwrap(), "device_token");
    for attacker in ["203.0.113.1", "203.0.113.2"] {
        for _ in 0..10 {
            let r = login_from(&app, attacker, None, "ann@example.com", "wrong guess").await;
            assert_eq!(r.status(), 401);
        }
    }
    let r = login_from(&app, "198.51.100.7", None, "ann@example.com", PASSWORD).await;
    assert_locked(r, "a new address once the account's budget is spent").await;
    let r = login_from(
        &app,
        "198.51.100.7",
        Some(&device),
        "ann@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(r.status(), 200, "the owner's known device");

    // A reset by mail ends the lock for every address.
    let body = json!({"email": "ann@example.com"});
    let r = from(
        &app,
        "/api/v1/auth/password/forgot",
        "198.51.100.7",
        None,
        &body,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 202);
    let token = sink.reset_to("ann@example.com").await.link_param("token");
    let new_password = "a whole new passphrase here";
    let body = json!({"token": token, "new_password": new_password});
    let r = from(
        &app,
        "/api/v1/auth/password/reset",
        "198.51.100.7",
        None,
        &body,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    let r = login_from(&app, "198.51.100.8", None, "ann@example.com", new_password).await;
    assert_eq!(r.status(), 200, "after the reset");
}

/// In cookie mode the device token lives in an `HttpOnly` cookie, not in the body, and the
/// cookie works like the header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_cookie_mode_the_device_token_is_an_http_only_cookie() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.refresh_cookie = true;
        c.login_limit_per_account_ip = 2;
    })
    .await
    .unwrap();
    app.signup("ann@example.com").await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-refresh-token-mode", "cookie")
        .json(&json!({"email": "ann@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("latchkey_device="))
        .expect("a device cookie");
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    assert!(body.get("device_token").is_none(), "{body}");

    for _ in 0..2 {
        assert_eq!(
            app.login("ann@example.com", "wrong guess").await.status(),
            401
        );
    }
    assert_locked(app.login("ann@example.com", PASSWORD).await, "this address").await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("cookie", &pair)
        .json(&json!({"email": "ann@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the browser that signed in before");
}

// ---------------------------------------------------------------------------------------------
// Counters that cannot be evicted, and IPv6 /64 buckets (issue 16, item 9)

/// A flood of cheap requests from distinct IPv6 networks fills the in-process store's
/// counters (capped low here): per-address buckets give way, the account's lock stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_addresses_does_not_unlock_an_account() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        behind_loopback_proxy(c);
        c.login_limit_per_account = 3;
        c.memory_max_counters = 100;
    })
    .await
    .unwrap();
    app.signup("ann@example.com").await;
    for i in 1..=3 {
        let ip = format!("2001:db8:1:{i}::1");
        let r = login_from(&app, &ip, None, "ann@example.com", "wrong guess").await;
        assert_eq!(r.status(), 401);
    }
    let r = login_from(
        &app,
        "2001:db8:1:4::1",
        None,
        "ann@example.com",
        "wrong guess",
    )
    .await;
    assert_locked(r, "the account's budget is spent").await;

    // 300 refused sign-ups, each from its own /64: each leaves a per-IP counter.
    for i in 0..300 {
        let ip = format!("2001:db8:2:{i:x}::1");
        let body = json!({"email": "not an address", "password": PASSWORD});
        let r = from(&app, "/api/v1/auth/signup", &ip, None, &body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
    for i in 5..=8 {
        let ip = format!("2001:db8:1:{i}::1");
        let r = login_from(&app, &ip, None, "ann@example.com", "wrong guess").await;
        assert_locked(r, "after the flood").await;
    }
}

crate::on_all_setups!(addresses_of_one_64_share_a_bucket, |c| {
    crate::lockout::behind_loopback_proxy(c);
    c.login_limit_per_ip = 5;
});
/// Addresses of one /64 share one per-IP bucket.
async fn addresses_of_one_64_share_a_bucket(app: TestApp) {
    for i in 1..=5 {
        let ip = format!("2001:db8:cafe:1::{i:x}");
        let r = login_from(&app, &ip, None, "nobody@example.com", "wrong guess").await;
        assert_eq!(r.status(), 401, "{ip}");
    }
    let r = login_from(
        &app,
        "2001:db8:cafe:1:ffff:ffff:ffff:ffff",
        None,
        "nobody@example.com",
        "wrong guess",
    )
    .await;
    assert_locked(r, "the sixth address of the /64").await;
    // The next /64 is another client.
    let r = login_from(&app, "2001:db8:cafe:2::1", None, "nobody@example.com", "x").await;
    assert_eq!(r.status(), 401);
}
