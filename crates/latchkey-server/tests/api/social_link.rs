//! Linking a provider to a signed-in account: only after a recent re-authentication, only in
//! the browser that asked for it (a link URL sent to someone else links nothing), and only
//! once the person confirms on a page naming the account. Linked identities are listed and
//! removed; a password reset removes recent links.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

use crate::helpers::mail_sink::SmtpSink;
use crate::helpers::oidc_stub::{CLIENT_ID, CLIENT_SECRET, Stub};
use crate::helpers::reauth::{notice, reauthenticate};
use crate::helpers::social::{APP, exchange, no_redirects, sign_up, spawn};
use crate::helpers::{Backend, PASSWORD, TestApp, assert_error_shape, s};

async fn spawn_with_mail(stub: &Stub, kind: &str, sink: &SmtpSink) -> TestApp {
    let provider = latchkey_server::oidc_config::OidcProvider {
        name: kind.into(),
        kind: kind.into(),
        issuer: Some(stub.config_issuer()),
        client_id: CLIENT_ID.into(),
        client_secret: Some(CLIENT_SECRET.into()),
        scopes: vec![],
        authority: None,
        tenants: vec![],
        form_post: false,
        satisfies_mfa: false,
    };
    let url = sink.url();
    TestApp::spawn_with(Backend::Sqlite, |c| {
        c.oidc_providers = vec![provider];
        c.oidc_redirect_allow_list = vec!["https://app.example".into()];
        c.smtp_url = Some(url);
        c.mail_from = "Latchkey <auth@latchkey.test>".into();
    })
    .await
    .unwrap()
}

/// `POST /oauth/{provider}/link`: the URL and the browser cookie that goes with it.
async fn ask_link(app: &TestApp, token: &str, provider: &str) -> (String, String) {
    let r = app
        .post_json_auth(
            &format!("/api/v1/oauth/{provider}/link"),
            token,
            &json!({"redirect_to": APP}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in [
        "latchkey_link=",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/api/v1/oauth/",
    ] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    let url = s(&body, "url").replace("http://latchkey.test", &app.base);
    (url, cookie)
}

/// Where a browser got to with a link URL: refused at once, or the confirmation page.
enum Opened {
    Refused(StatusCode, Value),
    Page {
        html: String,
        confirm: String,
        cookies: String,
    },
}

/// A browser whose cookie jar holds `cookie` (or nothing) opens the link URL and signs in at
/// the provider.
async fn open_link(app: &TestApp, url: &str, cookie: Option<&str>) -> Opened {
    let http = no_redirects();
    let mut req = http.get(url);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let start = req.send().await.unwrap();
    if start.status() != StatusCode::FOUND {
        return Opened::Refused(start.status(), start.json().await.unwrap());
    }
    let flow = start.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let at_provider = start.headers()["location"].to_str().unwrap().to_owned();
    let back = http.get(&at_provider).send().await.unwrap();
    let callback = back.headers()["location"]
        .to_str()
        .unwrap()
        .replace("http://latchkey.test", &app.base);
    let cookies = match cookie {
        Some(c) => format!("{flow}; {c}"),
        None => flow,
    };
    let r = http
        .get(&callback)
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap();
    if r.status() != StatusCode::OK {
        return Opened::Refused(r.status(), r.json().await.unwrap());
    }
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let html = r.text().await.unwrap();
    let at = html
        .find(r#"name="confirm" value=""#)
        .expect("confirm token")
        + 22;
    let confirm = html[at..].split('"').next().unwrap().to_owned();
    Opened::Page {
        html,
        confirm,
        cookies,
    }
}

async fn post_confirm(
    app: &TestApp,
    provider: &str,
    confirm: &str,
    cookie: &str,
    decision: &str,
) -> reqwest::Response {
    no_redirects()
        .post(app.url(&format!("/api/v1/oauth/{provider}/link/confirm")))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("confirm={confirm}&decision={decision}"))
        .send()
        .await
        .unwrap()
}

/// The whole link in one browser; the confirm answer.
async fn link(app: &TestApp, token: &str, provider: &str) -> reqwest::Response {
    let (url, cookie) = ask_link(app, token, provider).await;
    match open_link(app, &url, Some(&cookie)).await {
        Opened::Page {
            confirm, cookies, ..
        } => post_confirm(app, provider, &confirm, &cookies, "link").await,
        Opened::Refused(status, body) => panic!("link refused: {status} {body}"),
    }
}

async fn microsoft_signs_in_as(app: &TestApp) -> Value {
    let code = crate::helpers::social::dance(app, "microsoft", "")
        .await
        .code();
    let (status, body) = exchange(app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn identities(app: &TestApp, token: &str) -> Vec<Value> {
    let r = app.get_auth("/api/v1/identities", token).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    body["identities"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_a_signed_in_user_links_microsoft_from_the_account() {
    let stub = Stub::microsoft_like("tenant-a").await;
    let app = spawn(Backend::Sqlite, &stub, "microsoft", &[])
        .await
        .unwrap();
    let carol = app.signup("carol@contoso.example").await;
    stub.set_person(json!({"sub": "s", "tid": "tenant-a", "oid": "oid-carol",
        "email": "carol@contoso.example"}));
    let token = s(&carol, "access_token");
    let (url, cookie) = ask_link(&app, &token, "microsoft").await;
    let Opened::Page {
        html,
        confirm,
        cookies,
    } = open_link(&app, &url, Some(&cookie)).await
    else {
        panic!("no confirmation page");
    };
    // The page names the account the provider would sign in to.
    assert!(html.contains("carol@contoso.example"), "{html}");
    // Nothing is linked before the person confirms.
    let step = microsoft_signs_in_as(&app).await;
    assert_eq!(step["signup_required"], true, "{step}");
    let r = post_confirm(&app, "microsoft", &confirm, &cookies, "link").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("{APP}?linked=microsoft")
    );
    // The confirmation works once, and so does the ticket.
    let again = post_confirm(&app, "microsoft", &confirm, &cookies, "link").await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    let again = no_redirects()
        .get(&url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    // From now on Microsoft signs Carol in.
    let signed = microsoft_signs_in_as(&app).await;
    assert_eq!(signed["user"]["user_id"], carol["user"]["user_id"]);
    // The same Microsoft account cannot be linked to a second user.
    let dave = app.signup("dave@example.com").await;
    let (url, cookie) = ask_link(&app, &s(&dave, "access_token"), "microsoft").await;
    match open_link(&app, &url, Some(&cookie)).await {
        Opened::Refused(status, body) => assert_eq!(status, StatusCode::CONFLICT, "{body}"),
        Opened::Page { .. } => panic!("a second account got the link page"),
    }
    // An unlisted redirect is refused before any ticket exists.
    let r = app
        .post_json_auth(
            "/api/v1/oauth/microsoft/link",
            &token,
            &json!({"redirect_to": "https://evil.example/"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_a_link_url_opened_in_another_browser_links_nothing() {
    let stub = Stub::microsoft_like("tenant-a").await;
    let app = spawn(Backend::Sqlite, &stub, "microsoft", &[])
        .await
        .unwrap();
    let mallory = app.signup("mallory@example.com").await;
    let carol = app.signup("carol@contoso.example").await;
    // Carol is signed in at Microsoft in her browser.
    stub.set_person(json!({"sub": "s", "tid": "tenant-a", "oid": "oid-carol",
        "email": "carol@contoso.example"}));
    // Mallory asks for a link URL and sends it to Carol.
    let (url, _mallorys_cookie) = ask_link(&app, &s(&mallory, "access_token"), "microsoft").await;
    match open_link(&app, &url, None).await {
        Opened::Refused(status, body) => {
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert_eq!(
                assert_error_shape(status.as_u16(), &body, "foreign link"),
                "external_login_failed"
            );
            let message = body["message"].as_str().unwrap();
            assert!(message.contains("another browser"), "{message}");
        }
        Opened::Page { .. } => panic!("a foreign browser reached the link page"),
    }
    // Even when Carol's browser holds a link cookie of its own.
    let (url, _) = ask_link(&app, &s(&mallory, "access_token"), "microsoft").await;
    let (_, carols_cookie) = ask_link(&app, &s(&carol, "access_token"), "microsoft").await;
    assert!(matches!(
        open_link(&app, &url, Some(&carols_cookie)).await,
        Opened::Refused(StatusCode::UNAUTHORIZED, _)
    ));
    // Carol's Microsoft sign-in does not reach Mallory's account.
    let step = microsoft_signs_in_as(&app).await;
    assert_eq!(step["signup_required"], true, "{step}");
    assert!(
        identities(&app, &s(&mallory, "access_token"))
            .await
            .is_empty()
    );

    // Mallory's own browser reaches the page; a cancel links nothing.
    let (url, cookie) = ask_link(&app, &s(&mallory, "access_token"), "microsoft").await;
    let Opened::Page {
        html,
        confirm,
        cookies,
    } = open_link(&app, &url, Some(&cookie)).await
    else {
        panic!("no page");
    };
    assert!(html.contains("mallory@example.com"));
    // A confirmation posted without the browser's link cookie is refused.
    let flow_only = cookies.split("; ").next().unwrap().to_owned();
    let r = post_confirm(&app, "microsoft", &confirm, &flow_only, "link").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (url, cookie) = ask_link(&app, &s(&mallory, "access_token"), "microsoft").await;
    let Opened::Page {
        confirm, cookies, ..
    } = open_link(&app, &url, Some(&cookie)).await
    else {
        panic!("no page");
    };
    let r = post_confirm(&app, "microsoft", &confirm, &cookies, "cancel").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("{APP}?link_cancelled=microsoft")
    );
    assert!(
        identities(&app, &s(&mallory, "access_token"))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_linking_and_unlinking_need_a_recent_reauthentication_and_mail_a_notice() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let stub = Stub::microsoft_like("tenant-a").await;
    let app = spawn_with_mail(&stub, "microsoft", &sink).await;
    let carol = app.signup("carol@contoso.example").await;
    stub.set_person(json!({"sub": "s", "tid": "tenant-a", "oid": "oid-carol",
        "email": "carol.ms@contoso.example"}));
    let token = s(&carol, "access_token");
    // Only an access token whose sign-in is 6 minutes old: no link.
    app.advance(Duration::from_secs(6 * 60));
    let r = app
        .post_json_auth(
            "/api/v1/oauth/microsoft/link",
            &token,
            &json!({"redirect_to": APP}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "reauthentication_required", "{body}");
    let r = reauthenticate(&app, &token, json!({"password": PASSWORD})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        link(&app, &token, "microsoft").await.status(),
        StatusCode::SEE_OTHER
    );
    notice(
        &sink,
        "carol@contoso.example",
        "A sign-in through microsoft",
    )
    .await;

    let list = identities(&app, &token).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["provider"], "microsoft");
    assert_eq!(list[0]["email"], "carol.ms@contoso.example");
    let id = s(&list[0], "id");
    app.advance(Duration::from_secs(6 * 60));
    let path = format!("/api/v1/identities/{id}");
    let r = app
        .send_json_auth(reqwest::Method::DELETE, &path, &token, None)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = reauthenticate(&app, &token, json!({"password": PASSWORD})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .send_json_auth(
            reqwest::Method::DELETE,
            "/api/v1/identities/bm9wZQ",
            &token,
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .send_json_auth(reqwest::Method::DELETE, &path, &token, None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(identities(&app, &token).await.is_empty());
    notice(
        &sink,
        "carol@contoso.example",
        "was removed from your account",
    )
    .await;
    // Microsoft no longer signs in to Carol's account.
    let step = microsoft_signs_in_as(&app).await;
    assert_eq!(step["signup_required"], true, "{step}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_the_last_way_to_sign_in_cannot_be_removed() {
    let stub = Stub::google_like().await;
    let app = spawn(Backend::Sqlite, &stub, "google", &[]).await.unwrap();
    // Signed up through Google: no password, one identity.
    let ann = sign_up(&app, "google", "", "+14155550123").await;
    let token = s(&ann, "access_token");
    let list = identities(&app, &token).await;
    assert_eq!(list.len(), 1);
    let r = app
        .send_json_auth(
            reqwest::Method::DELETE,
            &format!("/api/v1/identities/{}", s(&list[0], "id")),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(identities(&app, &token).await.len(), 1);
}

/// The reset mail (security notices are sent in the background and may come in between).
async fn reset_mail(sink: &SmtpSink, to: &str) -> crate::helpers::mail_sink::Received {
    sink.first_to(to, "no reset mail", |m| {
        m.raw.contains("Subject: Reset your password")
    })
    .await
}

/// Who the provider signs in, with ID-token times at the server's (moved) clock.
fn person(app: &TestApp, stub: &Stub, oid: &str, email: &str) {
    let now = app.clock.now_secs();
    stub.set_person(
        json!({"sub": "s", "tid": "tenant-a", "oid": oid, "email": email,
        "iat": now, "exp": now + 600}),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_a_password_reset_removes_a_link_made_an_hour_before_and_keeps_an_older_one() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let stub = Stub::microsoft_like("tenant-a").await;
    let app = spawn_with_mail(&stub, "microsoft", &sink).await;
    let carol = crate::helpers::reauth::signup_verified(&app, &sink, "carol@contoso.example").await;
    person(&app, &stub, "oid-old", "carol@contoso.example");
    let r = link(&app, &s(&carol, "access_token"), "microsoft").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    app.advance(Duration::from_secs(3 * 24 * 3600));
    // Someone with Carol's password (or a session) links their own Microsoft account.
    let login: Value = app
        .login("carol@contoso.example", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    person(&app, &stub, "oid-intruder", "intruder@evil.example");
    let r = link(&app, &s(&login, "access_token"), "microsoft").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(identities(&app, &s(&login, "access_token")).await.len(), 2);
    app.advance(Duration::from_secs(3600));
    // Carol resets her password.
    let r = app
        .post(
            "/api/v1/auth/password/forgot",
            &json!({"email": "carol@contoso.example"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let token = reset_mail(&sink, "carol@contoso.example")
        .await
        .link_param("token");
    let r = app
        .post(
            "/api/v1/auth/password/reset",
            &json!({"token": token, "new_password": "a whole new passphrase here"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let login: Value = app
        .login("carol@contoso.example", "a whole new passphrase here")
        .await
        .json()
        .await
        .unwrap();
    let left = identities(&app, &s(&login, "access_token")).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["email"], "carol@contoso.example");
    // The intruder's Microsoft account no longer reaches Carol's; her own still does.
    person(&app, &stub, "oid-intruder", "intruder@evil.example");
    let step = microsoft_signs_in_as(&app).await;
    assert_eq!(step["signup_required"], true, "{step}");
    person(&app, &stub, "oid-old", "carol@contoso.example");
    let signed = microsoft_signs_in_as(&app).await;
    assert_eq!(signed["user"]["user_id"], carol["user"]["user_id"]);
}

/// A squatter who signed up with Zoe's address starts linking their own Google account, and
/// Zoe takes the account over (her provider vouches for the address) before they finish: the
/// squatter's link ends with their session, at the confirmation page as at `/start`, and
/// their Google account never signs in to Zoe's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_a_link_started_by_a_squatter_ends_with_the_takeover() {
    let stub = Stub::google_like().await;
    let app = spawn(Backend::Sqlite, &stub, "google", &[]).await.unwrap();
    let squatter = app.signup("zoe@example.com").await;
    let token = s(&squatter, "access_token");
    stub.set_person(
        json!({"sub": "mallory-google", "email": "mallory@evil.example",
        "email_verified": true}),
    );
    // One link at its confirmation page, one not yet started.
    let (url, cookie) = ask_link(&app, &token, "google").await;
    let Opened::Page {
        confirm, cookies, ..
    } = open_link(&app, &url, Some(&cookie)).await
    else {
        panic!("no confirmation page");
    };
    let (later_url, later_cookie) = ask_link(&app, &token, "google").await;

    stub.set_person(json!({"sub": "zoe-google", "email": "zoe@example.com",
        "email_verified": true}));
    let code = crate::helpers::social::dance(&app, "google", "")
        .await
        .code();
    let (status, zoe) = exchange(&app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{zoe}");
    assert_eq!(zoe["user"]["user_id"], squatter["user"]["user_id"]);

    let r = post_confirm(&app, "google", &confirm, &cookies, "link").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_error_shape(401, &body, "a link of an ended session");
    stub.set_person(
        json!({"sub": "mallory-google", "email": "mallory@evil.example",
        "email_verified": true}),
    );
    match open_link(&app, &later_url, Some(&later_cookie)).await {
        Opened::Refused(status, body) => {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        }
        Opened::Page { .. } => panic!("a link of an ended session reached the confirmation page"),
    }
    // Only Zoe's own Google account signs in to her account.
    assert_eq!(identities(&app, &s(&zoe, "access_token")).await.len(), 1);
    let code = crate::helpers::social::dance(&app, "google", "")
        .await
        .code();
    let (status, step) = exchange(&app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{step}");
    assert_eq!(step["signup_required"], true, "{step}");
}
