//! Sign-in through OpenID providers, end to end: Latchkey against a provider on loopback,
//! the test acting as the browser and then as the app.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::mail_sink::SmtpSink;
use crate::helpers::oidc_stub::{CLIENT_ID, CLIENT_SECRET, Stub, Tamper};
use crate::helpers::social::{
    APP, Callback, callback, complete, dance, dance_with, exchange, no_redirects, sign_up, spawn,
    spawn_tweaked, urlencode,
};
use crate::helpers::{Backend, TestApp, assert_error_shape, s};

impl Callback {
    /// The one-time code handed to the app.
    pub(crate) fn code(&self) -> String {
        assert_eq!(
            self.status,
            StatusCode::SEE_OTHER,
            "callback answered {}",
            self.body
        );
        let location = self.location.as_deref().unwrap();
        assert!(location.starts_with(APP), "{location}");
        reqwest::Url::parse(location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap()
    }

    fn refused(&self, why: &str) {
        assert_error_shape(self.status.as_u16(), &self.body, "callback");
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{}", self.body);
        assert_eq!(self.body["error"], "external_login_failed");
        let message = self.body["message"].as_str().unwrap();
        assert!(message.contains(why), "{message:?} lacks {why:?}");
    }
}

const ADDRESS_CODE: &str = "confirm this address is ";

/// A new person whose provider does not vouch for their address: the sign-up step, the code
/// mailed to the address, then tokens.
async fn sign_up_with_code(app: &TestApp, sink: &SmtpSink, provider: &str, phone: &str) -> Value {
    let code = dance(app, provider, "").await.code();
    let (status, step) = exchange(app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{step}");
    assert_eq!(step["email_code_required"], true, "{step}");
    let email = s(&step, "email");
    let mailed = sink.last_to(&email).await.code_after(ADDRESS_CODE);
    let (status, body) = complete(
        app,
        json!({"signup_token": s(&step, "signup_token"), "phone": phone, "email_code": mailed}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn sign_up_then_sign_in_again(backend: Backend) {
    let stub = Stub::google_like().await;
    let Some(app) = spawn(backend, &stub, "google", &[]).await else {
        return;
    };
    let code = dance(&app, "google", "").await.code();
    let (_, step) = exchange(&app, json!({"code": code})).await;
    assert_eq!(step["email"], "ann@example.com");
    let token = s(&step, "signup_token");
    // The phone number is required and checked; a bad one does not use up the step.
    let (status, body) = complete(&app, json!({"signup_token": token, "phone": "12"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, created) = complete(
        &app,
        json!({"signup_token": token, "phone": "+14155550123"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["user"]["role"], "admin",
        "no referral: founder and admin"
    );
    assert!(
        s(&created["api_key"], "key").starts_with("lk_"),
        "{created}"
    );
    let me: Value = app
        .me(&s(&created, "access_token"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["phone"], "+14155550123");
    assert_eq!(me["email"], "ann@example.com");
    // The sign-up step works once.
    let (status, again) = complete(
        &app,
        json!({"signup_token": token, "phone": "+14155550123"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{again}");
    assert_eq!(again["error"], "external_login_failed");

    // Next time: straight to tokens, the same user.
    let code = dance(&app, "google", "").await.code();
    let (status, signed) = exchange(&app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["user"]["user_id"], created["user"]["user_id"]);
    assert!(signed["refresh_token"].is_string());
    assert!(
        signed["api_key"].is_null(),
        "the key is shown once, at sign-up"
    );
    // A code is good for one exchange.
    let (status, replay) = exchange(&app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{replay}");
    assert_error_shape(status.as_u16(), &replay, "replayed exchange");

    // The audit log: a sign-up through the provider, then a sign-in.
    let events = audit_events(&app, &s(&signed, "access_token")).await;
    let signed_up = audit_event(&events, "user.signed_up");
    assert_eq!(signed_up["detail"]["method"], "social", "{signed_up}");
    assert_eq!(signed_up["detail"]["provider"], "google", "{signed_up}");
    let login = audit_event(&events, "login.succeeded");
    assert_eq!(login["detail"]["method"], "social", "{login}");
    assert_eq!(
        login["subject_user_id"], created["user"]["user_id"],
        "{login}"
    );
}

/// The admin's audit log, newest first.
async fn audit_events(app: &TestApp, access: &str) -> Vec<Value> {
    let r = app.get_auth("/api/v1/admin/audit?limit=200", access).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    body["events"].as_array().unwrap().clone()
}

fn audit_event<'a>(events: &'a [Value], name: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no {name} in {events:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_sign_up_with_phone_then_sign_in_again_sqlite() {
    sign_up_then_sign_in_again(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_sign_up_with_phone_then_sign_in_again_postgres() {
    sign_up_then_sign_in_again(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_links_an_existing_account_only_on_a_verified_email() {
    let stub = Stub::google_like().await;
    let app = spawn(Backend::Sqlite, &stub, "google", &[]).await.unwrap();
    let existing = app.signup("ann@example.com").await;
    // Unverified: no link, and the address cannot be taken by a second account.
    stub.set_person(
        json!({"sub": "other-sub", "email": "ann@example.com", "email_verified": false}),
    );
    let code = dance(&app, "google", "").await.code();
    let (_, step) = exchange(&app, json!({"code": code})).await;
    assert_eq!(step["signup_required"], true, "{step}");
    // An address the provider does not vouch for needs the code mailed to it.
    assert_eq!(step["email_code_required"], true, "{step}");
    let (status, body) = complete(
        &app,
        json!({"signup_token": s(&step, "signup_token"), "phone": "+14155550123"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request");
    // Verified: linked to the existing account, and from then on by `sub`.
    stub.set_person(
        json!({"sub": "google-sub-1", "email": "Ann@Example.com", "email_verified": true}),
    );
    let code = dance(&app, "google", "").await.code();
    let (status, signed) = exchange(&app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["user"]["user_id"], existing["user"]["user_id"]);
    stub.set_person(
        json!({"sub": "google-sub-1", "email": "changed@example.com", "email_verified": false}),
    );
    let code = dance(&app, "google", "").await.code();
    let (_, signed) = exchange(&app, json!({"code": code})).await;
    assert_eq!(
        signed["user"]["user_id"], existing["user"]["user_id"],
        "keyed on sub, not email"
    );
    // The provider vouched for the address: the link is Latchkey's doing, once.
    let events = audit_events(&app, &s(&signed, "access_token")).await;
    let linked: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "identity.linked")
        .collect();
    assert_eq!(linked.len(), 1, "{linked:#?}");
    // The person who signed in at the provider acted, from this client.
    assert_eq!(linked[0]["actor_kind"], "user");
    assert_eq!(linked[0]["actor_id"], existing["user"]["user_id"]);
    assert_eq!(linked[0]["subject_user_id"], existing["user"]["user_id"]);
    assert_eq!(linked[0]["ip"], "127.0.0.1", "{}", linked[0]);
    assert_eq!(linked[0]["detail"]["by"], "verified_email");
    assert_eq!(linked[0]["detail"]["provider"], "google");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_referral_makes_a_member_of_that_organization() {
    let stub = Stub::google_like().await;
    let app = spawn(Backend::Sqlite, &stub, "google", &[]).await.unwrap();
    let admin = app.signup("boss@example.com").await;
    let org: Value = app
        .get_auth("/api/v1/org", &s(&admin, "access_token"))
        .await
        .json()
        .await
        .unwrap();
    let referral = s(&org, "referral_code");
    let joined = sign_up(
        &app,
        "google",
        &format!("&referral_code={referral}"),
        "+442071838750",
    )
    .await;
    assert_eq!(joined["user"]["role"], "member", "{joined}");
    assert_eq!(joined["user"]["org_id"], admin["user"]["org_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_tampered_id_tokens_are_refused() {
    let stub = Stub::google_like().await;
    let app = spawn(Backend::Sqlite, &stub, "google", &[]).await.unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let cases = [
        (Tamper::Claims(json!({"nonce": "not-ours"})), "nonce"),
        (Tamper::Claims(json!({"nonce": null})), "nonce"),
        (Tamper::Claims(json!({"aud": "another-client"})), "aud"),
        (Tamper::Claims(json!({"azp": "another-client"})), "azp"),
        (
            Tamper::Claims(json!({"aud": [CLIENT_ID, "another"]})),
            "azp",
        ),
        (
            Tamper::Claims(json!({"iss": "http://evil.example"})),
            "issuer",
        ),
        (
            Tamper::Claims(json!({"exp": now - 3600, "iat": now - 7200})),
            "expired",
        ),
        (Tamper::Claims(json!({"iat": now + 3600})), "future"),
        (Tamper::ForeignKey, "signature"),
        (Tamper::AlgNone, "algorithm"),
        (Tamper::UnknownKid, "unknown key"),
    ];
    for (tamper, why) in cases {
        stub.tamper_next(tamper.clone());
        let cb = dance(&app, "google", "").await;
        assert!(
            cb.status != StatusCode::SEE_OTHER,
            "{tamper:?} was accepted"
        );
        cb.refused(why);
    }
    // Nothing was created on the way: an honest token signs the person up afresh.
    let created = sign_up(&app, "google", "", "+14155550123").await;
    assert_eq!(created["user"]["role"], "admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_state_mismatch_missing_cookie_and_replayed_code_are_refused() {
    let stub = Stub::google_like().await;
    let app = spawn(Backend::Sqlite, &stub, "google", &[]).await.unwrap();
    let cb = dance_with(&app, "google", "", |url| url.replace("state=", "state=x")).await;
    cb.refused("state");
    let cb = dance(&app, "google", "").await;
    let code = cb.code();
    // The same callback again (the provider's code replayed): refused by the provider.
    let replay = callback(&app, &cb.url, &cb.cookie).await;
    replay.refused("code");
    // Without the flow cookie (another browser): refused before the code is used.
    let cb2 = dance(&app, "google", "").await;
    let other_browser = callback(&app, &cb2.url, "latchkey_oidc_flow=forged.value").await;
    other_browser.refused("flow cookie");
    let (status, _) = exchange(&app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_microsoft_tenant_template_and_allow_list() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let stub = Stub::microsoft_like("tenant-a").await;
    let url = sink.url();
    let app = spawn_tweaked(Backend::Sqlite, &stub, "microsoft", &["tenant-a"], |c| {
        c.smtp_url = Some(url)
    })
    .await
    .unwrap();
    // Microsoft never vouches for an address: a code mailed to it proves it.
    let first = sign_up_with_code(&app, &sink, "microsoft", "+14155550123").await;
    // Same tenant and object id, another `sub` and email: the same person.
    stub.set_person(
        json!({"sub": "changed", "tid": "tenant-a", "oid": "oid-1", "email": "x@contoso.example"}),
    );
    let code = dance(&app, "microsoft", "").await.code();
    let (_, signed) = exchange(&app, json!({"code": code})).await;
    assert_eq!(
        signed["user"]["user_id"], first["user"]["user_id"],
        "{signed}"
    );
    // A token whose `tid` is not the tenant in its issuer.
    stub.tamper_next(Tamper::Claims(json!({"tid": "tenant-b"})));
    dance(&app, "microsoft", "").await.refused("tenant");
    // Microsoft never vouches for an email: no automatic link to an existing account.
    app.signup("carol@contoso.example").await;
    stub.set_person(json!({"sub": "s", "tid": "tenant-a", "oid": "oid-carol",
        "email": "carol@contoso.example", "email_verified": true}));
    let code = dance(&app, "microsoft", "").await.code();
    let (_, step) = exchange(&app, json!({"code": code})).await;
    assert_eq!(step["signup_required"], true, "{step}");

    // A tenant outside the allow-list.
    let outsider = Stub::microsoft_like("tenant-z").await;
    let app2 = spawn(Backend::Sqlite, &outsider, "microsoft", &["tenant-a"])
        .await
        .unwrap();
    dance(&app2, "microsoft", "").await.refused("tenant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_mobile_exchange_needs_the_apps_pkce_verifier() {
    let stub = Stub::google_like().await;
    let app = spawn(Backend::Sqlite, &stub, "google", &[]).await.unwrap();
    let verifier = "a-verifier-the-app-made-up-of-at-least-43-characters";
    let challenge = latchkey_core::oidc::s256(verifier);
    let code = dance(
        &app,
        "google",
        &format!("&code_challenge={challenge}&code_challenge_method=S256"),
    )
    .await
    .code();
    let (status, body) = exchange(&app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let code = dance(&app, "google", &format!("&code_challenge={challenge}"))
        .await
        .code();
    let (status, body) = exchange(&app, json!({"code": code, "code_verifier": "wrong"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let code = dance(&app, "google", &format!("&code_challenge={challenge}"))
        .await
        .code();
    let (status, body) = exchange(&app, json!({"code": code, "code_verifier": verifier})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["signup_required"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_start_refuses_unlisted_redirects_and_unknown_providers() {
    let stub = Stub::google_like().await;
    let app = spawn(Backend::Sqlite, &stub, "google", &[]).await.unwrap();
    let http = no_redirects();
    for target in [
        "https://evil.example/done",
        "https://app.example.evil.example/",
        "javascript:alert(1)",
        "not a url",
    ] {
        let r = http
            .get(app.url(&format!(
                "/api/v1/oauth/google/start?redirect_to={}",
                urlencode(target)
            )))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 400, "{target}: {body}");
        assert_error_shape(status, &body, target);
    }
    // An app scheme from the list is fine.
    let r = http
        .get(app.url(&format!(
            "/api/v1/oauth/google/start?redirect_to={}",
            urlencode("com.example.app:/cb")
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let r = http
        .get(app.url(&format!(
            "/api/v1/oauth/github/start?redirect_to={}",
            urlencode(APP)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_form_post_answer_with_a_same_site_none_cookie() {
    let stub = Stub::google_like().await;
    let provider = latchkey_server::oidc_config::OidcProvider {
        name: "google".into(),
        kind: "google".into(),
        issuer: Some(stub.config_issuer()),
        client_id: CLIENT_ID.into(),
        client_secret: Some(CLIENT_SECRET.into()),
        scopes: vec![],
        authority: None,
        tenants: vec![],
        form_post: true,
        satisfies_mfa: false,
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.issuer = Some("https://latchkey.test".into());
        c.oidc_providers = vec![provider];
        c.oidc_redirect_allow_list = vec!["https://app.example".into()];
    })
    .await
    .unwrap();
    let http = no_redirects();
    let start = http
        .get(app.url(&format!(
            "/api/v1/oauth/google/start?redirect_to={}",
            urlencode(APP)
        )))
        .send()
        .await
        .unwrap();
    let set_cookie = start.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set_cookie.contains("SameSite=None") && set_cookie.contains("Secure"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let at_provider = start.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        at_provider.contains("response_mode=form_post"),
        "{at_provider}"
    );
    let page = http
        .get(&at_provider)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let attr = |name: &str| {
        page.split(&format!("name=\"{name}\" value=\""))
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned()
    };
    let form = format!(
        "code={}&state={}&session_state=ignored",
        attr("code"),
        attr("state")
    );
    let r = http
        .post(app.url("/api/v1/oauth/google/callback"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let code = reqwest::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (status, step) = exchange(&app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{step}");
    assert_eq!(step["signup_required"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_provider_key_rotation_is_followed_and_refetching_is_bounded() {
    let stub = Stub::google_like().await;
    let app = spawn(Backend::Sqlite, &stub, "google", &[]).await.unwrap();
    let first = sign_up(&app, "google", "", "+14155550123").await;
    stub.rotate_key("stub-key-2");
    // The keys were read moments ago: an unknown kid does not trigger another read yet.
    dance(&app, "google", "").await.refused("unknown key");
    // Later, the unknown kid makes Latchkey read the provider's keys again, once.
    app.advance(std::time::Duration::from_secs(31));
    let code = dance(&app, "google", "").await.code();
    let (status, signed) = exchange(&app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["user"]["user_id"], first["user"]["user_id"]);
}

/// Zoe's address was squatted with a password; her first sign-in through a provider that
/// vouches for the address takes the account over: the squatter's password, sessions, API key
/// and second factor stop working, and she is not asked for the squatter's factor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_sign_in_takes_over_an_account_squatted_with_a_password() {
    let stub = Stub::google_like().await;
    let app = spawn(Backend::Sqlite, &stub, "google", &[]).await.unwrap();
    let sq = crate::helpers::takeover::squat(&app, "zoe@example.com").await;
    stub.set_person(
        json!({"sub": "zoe-google", "email": "Zoe@Example.com", "email_verified": true}),
    );
    let code = dance(&app, "google", "").await.code();
    let (status, zoe) = exchange(&app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{zoe}");
    assert!(zoe["access_token"].is_string(), "no second step: {zoe}");
    assert_eq!(zoe["user"]["user_id"], sq.user_id);
    crate::helpers::takeover::assert_squatter_out(&app, &sq, "zoe@example.com").await;
    let access = s(&zoe, "access_token");
    let me: Value = app.me(&access).await.json().await.unwrap();
    assert_eq!(me["email_verified"], true);
    let events = audit_events(&app, &access).await;
    let taken = audit_event(&events, "account.taken_over");
    assert_eq!(taken["detail"]["method"], "provider", "{taken}");
    assert_eq!(taken["subject_user_id"], sq.user_id);
    // From then on her Google identity signs her in.
    let code = dance(&app, "google", "").await.code();
    let (status, again) = exchange(&app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["user"]["user_id"], sq.user_id);
}

/// A provider that does not vouch for an address (`email_verified: false`) cannot make it an
/// account's address: the sign-up needs the code mailed to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_an_unvouched_email_signs_up_only_with_a_mailed_code() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let stub = Stub::google_like().await;
    let url = sink.url();
    let app = spawn_tweaked(Backend::Sqlite, &stub, "google", &[], |c| {
        c.smtp_url = Some(url);
        c.require_verified_email = true;
    })
    .await
    .unwrap();
    stub.set_person(json!({"sub": "mallory", "email": "zoe@example.com", "email_verified": false}));
    let code = dance(&app, "google", "").await.code();
    let (status, step) = exchange(&app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{step}");
    assert_eq!(step["email_code_required"], true, "{step}");
    let token = s(&step, "signup_token");
    // Without the code, or with a wrong one: no account, and the step stays usable.
    let (status, body) = complete(
        &app,
        json!({"signup_token": token, "phone": "+14155550123"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_shape(status.as_u16(), &body, "no email_code");
    let mailed = sink
        .last_to("zoe@example.com")
        .await
        .code_after(ADDRESS_CODE);
    let wrong = if mailed == "000000" {
        "000001"
    } else {
        "000000"
    };
    let (status, body) = complete(
        &app,
        json!({"signup_token": token, "phone": "+14155550123", "email_code": wrong}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_session_code");
    // The right code: the address is proven, the account verified.
    let (status, body) = complete(
        &app,
        json!({"signup_token": token, "phone": "+14155550123", "email_code": mailed}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let me: Value = app
        .me(&s(&body, "access_token"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email_verified"], true);
}

async fn enable_totp(app: &TestApp, access: &str) -> String {
    let r = app
        .post_json_auth("/api/v1/mfa/totp/enroll", access, &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let secret = s(&r.json::<Value>().await.unwrap(), "secret");
    let r = app
        .post_json_auth(
            "/api/v1/mfa/totp/confirm",
            access,
            &json!({"code": crate::helpers::mfa::totp_code(app, &secret)}),
        )
        .await;
    assert_eq!(r.status(), 200);
    app.advance(std::time::Duration::from_secs(30));
    secret
}

/// An account with TOTP signing in through a provider gets the second step, as after a
/// password, and tokens only with the code; unless the operator says the provider satisfies MFA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_sign_in_of_an_account_with_totp_asks_for_the_second_factor() {
    let stub = Stub::google_like().await;
    let app = spawn(Backend::Sqlite, &stub, "google", &[]).await.unwrap();
    let created = sign_up(&app, "google", "", "+14155550123").await;
    let secret = enable_totp(&app, &s(&created, "access_token")).await;
    let code = dance(&app, "google", "").await.code();
    let (status, step) = exchange(&app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{step}");
    assert_eq!(step["status"], "mfa_required", "{step}");
    assert!(step.get("access_token").is_none(), "{step}");
    assert!(step.get("refresh_token").is_none(), "{step}");
    let mfa_token = s(&step, "mfa_token");
    let r = app
        .post(
            "/api/v1/auth/mfa/verify",
            &json!({"mfa_token": mfa_token, "mfa_code": "000000"}),
        )
        .await;
    assert_eq!(r.status(), 401);
    let r = app
        .post(
            "/api/v1/auth/mfa/verify",
            &json!({"mfa_token": mfa_token, "mfa_code": crate::helpers::mfa::totp_code(&app, &secret)}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let signed: Value = r.json().await.unwrap();
    assert_eq!(signed["user"]["user_id"], created["user"]["user_id"]);
    assert!(signed["access_token"].is_string(), "{signed}");

    // The operator marks the provider as satisfying MFA: straight to tokens.
    let stub = Stub::google_like().await;
    let app = spawn_tweaked(Backend::Sqlite, &stub, "google", &[], |c| {
        c.oidc_providers[0].satisfies_mfa = true;
    })
    .await
    .unwrap();
    let created = sign_up(&app, "google", "", "+14155550123").await;
    enable_totp(&app, &s(&created, "access_token")).await;
    let code = dance(&app, "google", "").await.code();
    let (status, signed) = exchange(&app, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert!(signed["access_token"].is_string(), "{signed}");
}
