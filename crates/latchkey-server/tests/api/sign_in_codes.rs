//! Passwordless sign-in: codes and magic links delivered through a real SMTP server.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::mail_sink::SmtpSink;
use crate::helpers::{TestApp, assert_error_shape, error_code, s};
use crate::on_all_setups;

const MARKER: &str = "sign-in code is ";

async fn request_code(app: &TestApp, email: &str) -> String {
    let r = app
        .post("/api/v1/auth/code", &json!({"email": email}))
        .await;
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["expires_in"], 600, "{body}");
    s(&body, "login_id")
}

async fn verify(app: &TestApp, login_id: &str, code: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/code/verify",
        &json!({"login_id": login_id, "session_code": code}),
    )
    .await
}

on_all_setups!(mail: a_mailed_code_signs_in_once);
async fn a_mailed_code_signs_in_once(app: TestApp, sink: SmtpSink) {
    let user = app.signup("ada@example.com").await;
    let login_id = request_code(&app, "Ada@Example.com").await;
    let mail = sink.code_to("Ada@Example.com").await;
    // Both parts, and a magic link for the same login carrying the same code.
    assert!(mail.raw.contains("multipart/alternative"), "{}", mail.raw);
    assert!(mail.raw.contains("text/plain") && mail.raw.contains("text/html"));
    assert!(mail.raw.contains("From: Latchkey <auth@latchkey.test>"));
    let code = mail.code_after(MARKER);
    assert_eq!(mail.link_param("login_id"), login_id);
    assert_eq!(mail.link_param("code"), code);
    assert!(mail.text().contains("http://latchkey.test/login?login_id="));
    assert!(
        mail.text()
            .contains("<a href=\"http://latchkey.test/login?login_id=")
    );

    let r = verify(&app, &login_id, &code).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(tokens["user"]["user_id"], user["user"]["user_id"]);
    assert!(tokens["refresh_token"].is_string());
    assert!(tokens.get("api_key").is_none_or(Value::is_null), "{tokens}");
    let me = app.me(&s(&tokens, "access_token")).await;
    assert_eq!(me.status(), 200);

    // Used: the same code again, or the magic link opened a second time, is refused.
    let again = verify(&app, &login_id, &code).await;
    assert_eq!(again.status(), 401);
    assert_eq!(error_code(again).await, "invalid_session_code");
}

on_all_setups!(mail: a_code_for_a_new_address_signs_up);
async fn a_code_for_a_new_address_signs_up(app: TestApp, sink: SmtpSink) {
    let login_id = request_code(&app, "new@example.com").await;
    let code = sink.code_to("new@example.com").await.code_after(MARKER);
    let r = verify(&app, &login_id, &code).await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user"]["email"], "new@example.com");
    assert_eq!(body["user"]["role"], "admin", "founds an organization");
    assert!(s(&body["api_key"], "key").starts_with("lk_"), "{body}");
    // The account has no password: password login cannot get in.
    let r = app.login("new@example.com", "").await;
    assert_ne!(r.status(), 200);
    // A second code signs in to the same account, no new one.
    let login_id = request_code(&app, "new@example.com").await;
    let code = sink.code_to("new@example.com").await.code_after(MARKER);
    let r = verify(&app, &login_id, &code).await;
    assert_eq!(r.status(), 200);
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["user"]["user_id"], body["user"]["user_id"]);
}

on_all_setups!(mail:
    without_code_sign_up_unknown_addresses_get_the_same_answer_and_no_mail,
    |c| c.login_code_signup = false
);
async fn without_code_sign_up_unknown_addresses_get_the_same_answer_and_no_mail(
    app: TestApp,
    sink: SmtpSink,
) {
    app.signup("known@example.com").await;
    let known = app
        .post("/api/v1/auth/code", &json!({"email": "known@example.com"}))
        .await;
    let unknown = app
        .post("/api/v1/auth/code", &json!({"email": "nobody@example.com"}))
        .await;
    assert_eq!(known.status(), unknown.status());
    let (known, unknown): (Value, Value) =
        (known.json().await.unwrap(), unknown.json().await.unwrap());
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&known), keys(&unknown));
    sink.code_to("known@example.com").await;
    // Queued mail goes after the answer: wait for the queue before looking.
    assert!(
        app.app_state()
            .auth
            .mail_idle(Duration::from_secs(10))
            .await
    );
    assert!(sink.to("nobody@example.com").is_empty());
    for guess in ["000000", "123456"] {
        let r = verify(&app, &s(&unknown, "login_id"), guess).await;
        assert_eq!(error_code(r).await, "invalid_session_code");
    }
}

on_all_setups!(mail: a_wrong_email_is_refused_and_nothing_is_left_behind);
async fn a_wrong_email_is_refused_and_nothing_is_left_behind(app: TestApp, sink: SmtpSink) {
    for bad in ["not-an-email", "a@b", "two@@example.com", ""] {
        let r = app.post("/api/v1/auth/code", &json!({"email": bad})).await;
        assert_eq!(r.status(), 422, "{bad:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(assert_error_shape(422, &body, bad), "invalid_email");
        assert_eq!(body["message"], "invalid email, try again");
    }
    // The mail server refuses the address (550). The mail goes after the answer (which must
    // not tell addresses apart by time), so the answer is the usual one; nothing arrives and
    // no account was made.
    let r = app
        .post(
            "/api/v1/auth/code",
            &json!({"email": "ghost@rejected.test"}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let idle = app.app_state().auth.mail_idle(Duration::from_secs(10));
    assert!(idle.await, "the queued mail was tried");
    assert!(sink.all().is_empty());
    app.signup("ghost@rejected.test").await;
    // Missing fields are a malformed request.
    let r = app.post("/api/v1/auth/code", &json!({})).await;
    assert_eq!(error_code(r).await, "invalid_request");
}

on_all_setups!(mail: wrong_expired_unknown_and_malformed_codes_are_refused);
async fn wrong_expired_unknown_and_malformed_codes_are_refused(app: TestApp, sink: SmtpSink) {
    app.signup("eve@example.com").await;
    let login_id = request_code(&app, "eve@example.com").await;
    let code = sink.code_to("eve@example.com").await.code_after(MARKER);
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let r = verify(&app, &login_id, wrong).await;
    assert_eq!(r.status(), 401);
    assert_eq!(error_code(r).await, "invalid_session_code");
    for (id, c) in [
        ("0123456789abcdef0123456789abcdef", code.as_str()),
        ("not-a-login", code.as_str()),
        ("", code.as_str()),
    ] {
        let r = verify(&app, id, c).await;
        assert_eq!(error_code(r).await, "invalid_session_code", "{id:?}");
    }
    for body in [
        json!({"login_id": login_id}),
        json!({"session_code": code}),
        json!({"login_id": login_id, "session_code": 123456}),
    ] {
        let r = app.post("/api/v1/auth/code/verify", &body).await;
        assert_eq!(r.status(), 400, "{body}");
        assert_eq!(error_code(r).await, "invalid_request");
    }
    // Ten minutes later the right code is refused too.
    app.advance(Duration::from_secs(601));
    let r = verify(&app, &login_id, &code).await;
    assert_eq!(error_code(r).await, "invalid_session_code");
}

on_all_setups!(mail: five_wrong_tries_kill_the_login);
async fn five_wrong_tries_kill_the_login(app: TestApp, sink: SmtpSink) {
    app.signup("mal@example.com").await;
    let login_id = request_code(&app, "mal@example.com").await;
    let code = sink.code_to("mal@example.com").await.code_after(MARKER);
    let wrong = if code == "999999" { "999998" } else { "999999" };
    for _ in 0..5 {
        let r = verify(&app, &login_id, wrong).await;
        assert_eq!(error_code(r).await, "invalid_session_code");
    }
    let r = verify(&app, &login_id, &code).await;
    assert_eq!(r.status(), 401, "the sixth try, even right, is refused");
    assert_eq!(error_code(r).await, "invalid_session_code");
}

// The per-login limit and the single spend, apart from the account's budget across logins
// (`lockout.rs`), which 45 guesses from one address would reach.
on_all_setups!(mail: parallel_guesses_cannot_exceed_the_limit, |c| {
    c.login_limit_per_account_ip = 100;
    c.login_limit_per_account = 100;
});
async fn parallel_guesses_cannot_exceed_the_limit(app: TestApp, sink: SmtpSink) {
    app.signup("par@example.com").await;
    let login_id = request_code(&app, "par@example.com").await;
    let code = sink.code_to("par@example.com").await.code_after(MARKER);
    let right: u32 = code.parse().unwrap();
    // 20 parallel wrong guesses: at most 5 are evaluated, and none is lost, so the login is
    // spent and the right code no longer works.
    let guesses = (1..=20).map(|i| {
        let guess = format!("{:06}", (right + i) % 1_000_000);
        let (app, login_id) = (&app, &login_id);
        async move { verify(app, login_id, &guess).await.status().as_u16() }
    });
    let statuses = futures::future::join_all(guesses).await;
    assert!(statuses.iter().all(|&s| s == 401), "{statuses:?}");
    let r = verify(&app, &login_id, &code).await;
    assert_eq!(error_code(r).await, "invalid_session_code");

    // 20 parallel uses of the right code of a fresh login: exactly one session.
    let login_id = request_code(&app, "par@example.com").await;
    let code = sink.code_to("par@example.com").await.code_after(MARKER);
    let uses = (0..20).map(|_| {
        let (app, login_id, code) = (&app, &login_id, &code);
        async move { verify(app, login_id, code).await.status().as_u16() }
    });
    let statuses = futures::future::join_all(uses).await;
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 401),
        "{statuses:?}"
    );
}

on_all_setups!(mail: sending_is_limited_per_address, |c| {
    c.login_code_limit_per_email = 3;
});
async fn sending_is_limited_per_address(app: TestApp, sink: SmtpSink) {
    for _ in 0..3 {
        request_code(&app, "lim@example.com").await;
    }
    let r = app
        .post("/api/v1/auth/code", &json!({"email": "LIM@example.com"}))
        .await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert_eq!(error_code(r).await, "rate_limited");
    let idle = app.app_state().auth.mail_idle(Duration::from_secs(10));
    assert!(idle.await, "the queued mail went out");
    assert_eq!(
        sink.to("lim@example.com").len(),
        3,
        "no mail past the limit"
    );
    // Another address is not affected.
    request_code(&app, "other@example.com").await;
}

on_all_setups!(mail: sending_is_limited_per_client_ip, |c| {
    c.login_code_limit_per_ip = 2;
});
async fn sending_is_limited_per_client_ip(app: TestApp, sink: SmtpSink) {
    request_code(&app, "one@example.com").await;
    request_code(&app, "two@example.com").await;
    let r = app
        .post("/api/v1/auth/code", &json!({"email": "three@example.com"}))
        .await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    // Queued mail goes after the answer: wait for the queue before looking.
    assert!(
        app.app_state()
            .auth
            .mail_idle(Duration::from_secs(10))
            .await
    );
    assert!(sink.to("three@example.com").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_mail_server_gets_the_mail_when_it_is_back() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    })
    .await
    .unwrap();
    // The mail goes after the answer (which must not tell known addresses by time): the
    // answer is the usual one, and the queue tries again until the server is back.
    let r = app
        .post("/api/v1/auth/code", &json!({"email": "x@example.com"}))
        .await;
    assert_eq!(r.status(), 202);
    let Some(sink) = SmtpSink::start_on(Some(port)) else {
        return;
    };
    sink.code_to("x@example.com").await;
}

/// Without SMTP (development), the message lands in the outbox folder of the data directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_smtp_mail_goes_to_the_outbox_folder() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let login_id = request_code(&app, "dev@example.com").await;
    assert!(
        app.app_state()
            .auth
            .mail_idle(Duration::from_secs(10))
            .await
    );
    let outbox = app.config.data_dir.join("outbox");
    let files: Vec<_> = std::fs::read_dir(&outbox).unwrap().collect();
    assert_eq!(files.len(), 1);
    let raw = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    assert!(raw.contains("To: dev@example.com"), "{raw}");
    let at = raw.find(MARKER).unwrap() + MARKER.len();
    let code = &raw[at..at + 6];
    let r = verify(&app, &login_id, code).await;
    assert_eq!(r.status(), 201);
}

/// With SMTP configured a code never reaches the log; without it (development) the server
/// says so at start-up and logs the code, so `latchkey serve` works with nothing configured.
#[tokio::test]
async fn codes_reach_the_log_only_without_smtp() {
    use crate::helpers::process::Proc;
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let client = reqwest::Client::new();
    let server = Proc::start(&[("LATCHKEY_SMTP_URL", &sink.url())]).await;
    let r = client
        .post(server.url("/api/v1/auth/code"))
        .json(&json!({"email": "logs@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let code = sink.code_to("logs@example.com").await.code_after(MARKER);
    let log = server.stderr();
    assert!(!log.contains("sign-in code"), "{log}");
    assert!(!log.contains(&format!("code {code}")), "{log}");
    assert!(!log.contains("no LATCHKEY_SMTP_URL"), "{log}");

    let dev = Proc::start(&[]).await;
    assert!(dev.stderr_shows("no LATCHKEY_SMTP_URL").await);
    let r = client
        .post(dev.url("/api/v1/auth/code"))
        .json(&json!({"email": "dev@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert!(dev.stderr_shows("sign-in code ").await, "{}", dev.stderr());
}
