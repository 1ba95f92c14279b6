//! Every way to sign in with the Rust client (`latchkey-client`), against the real server with
//! a real mail sink: password, mailed code, the second factor after either, adopting tokens
//! from elsewhere, the password flows and signing out everywhere.

use latchkey_client::{
    Client, CodeSignIn, Error, MemoryStore, MfaChallenge, MfaOutcome, SignIn, TokenStore,
};
use serde_json::json;

use crate::helpers::mail_sink::SmtpSink;
use crate::helpers::mfa::{enable_mfa, totp_code};
use crate::helpers::{PASSWORD, TestApp};
use crate::on_all_setups;

fn client(app: &TestApp) -> Client {
    Client::builder(&app.base)
        .http_client(reqwest::Client::new())
        .build()
        .unwrap()
}

async fn me_status(client: &Client) -> u16 {
    let r = client.get("/api/v1/me").await.unwrap();
    let status = r.status().as_u16();
    if status != 200 {
        eprintln!(
            "GET /api/v1/me: {status} {}",
            r.text().await.unwrap_or_default()
        );
    }
    status
}

/// Proves `email` with the link mailed at sign-up: a mailed code for an unproven address
/// claims the account instead of signing in to it.
async fn prove_address(app: &TestApp, sink: &SmtpSink, email: &str) {
    let link = sink.last_to(email).await.link_param("token");
    let r = app
        .post(
            "/api/v1/auth/email/verify",
            &json!({"token": link, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 204);
}

/// A code of the right shape that is not the current one.
fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| {
            if c == '9' {
                '0'
            } else {
                char::from(c as u8 + 1)
            }
        })
        .collect()
}

async fn rust_client_signs_in_by_password_and_mailed_code_with_a_second_factor(
    app: TestApp,
    sink: SmtpSink,
) {
    let email = "mfa@example.com";
    let (secret, recovery, _) = enable_mfa(&app, email).await;
    prove_address(&app, &sink, email).await;
    let store = std::sync::Arc::new(MemoryStore::new());
    let client = Client::builder(&app.base)
        .store(Shared(store.clone()))
        .build()
        .unwrap();
    assert!(!client.has_session().await.unwrap());

    // Password: a wrong one is an error; the right one asks for the second factor.
    let refused = client.login(email, "not the password").await;
    assert!(
        matches!(&refused, Err(Error::Api { code, .. }) if code == "invalid_credentials"),
        "{refused:?}"
    );
    let SignIn::MfaRequired(challenge) = client.login(email, PASSWORD).await.unwrap() else {
        panic!("an account with TOTP asks for it");
    };
    assert!(matches!(challenge, MfaChallenge::Token(_)));
    let code = totp_code(&app, &secret);
    let MfaOutcome::InvalidCode {
        challenge,
        attempts_left,
    } = client.verify_mfa(&challenge, &wrong(&code)).await.unwrap()
    else {
        panic!("a wrong code is not a session");
    };
    assert_eq!(attempts_left, 4);
    let MfaOutcome::SignedIn(tokens) = client.verify_mfa(&challenge, &code).await.unwrap() else {
        panic!("the right code signs in");
    };
    assert_eq!(me_status(&client).await, 200);
    assert!(client.has_session().await.unwrap());
    let device = tokens
        .device_token
        .clone()
        .expect("a new session's device token");
    assert_eq!(store.load_device().await.unwrap(), Some(device.clone()));
    client.logout().await.unwrap();
    assert!(matches!(
        client.access_token().await,
        Err(Error::NotSignedIn)
    ));
    assert_eq!(
        store.load_device().await.unwrap(),
        Some(device),
        "the device token outlives the session"
    );

    // Mailed code: a wrong code says so; the right one asks for the second factor, which a
    // recovery code answers.
    let sent = client.send_login_code(email).await.unwrap();
    let mailed = sink.code_to(email).await.code_after("sign-in code is ");
    assert!(matches!(
        client
            .login_with_code(&sent.login_id, &wrong(&mailed))
            .await
            .unwrap(),
        CodeSignIn::InvalidCode
    ));
    let challenge = match client.login_with_code(&sent.login_id, &mailed).await {
        Ok(CodeSignIn::MfaRequired(challenge)) => challenge,
        other => panic!("the account's second factor is asked after a mailed code too: {other:?}"),
    };
    assert!(matches!(challenge, MfaChallenge::Code { .. }));
    let MfaOutcome::SignedIn(_) = client.verify_mfa(&challenge, &recovery[0]).await.unwrap() else {
        panic!("a recovery code signs in");
    };
    assert_eq!(me_status(&client).await, 200);
}
on_all_setups!(mail: rust_client_signs_in_by_password_and_mailed_code_with_a_second_factor);

async fn rust_client_adopts_tokens_changes_and_resets_the_password_and_signs_out_everywhere(
    app: TestApp,
    sink: SmtpSink,
) {
    let email = "ann@example.com";
    let client = client(&app);
    let created = client
        .signup(json!({"email": email, "password": PASSWORD}))
        .await
        .unwrap();
    assert!(created.api_key.is_some(), "a sign-up shows its key once");
    prove_address(&app, &sink, email).await;
    let fresh = client
        .refresh(Some(created.access_token.clone()))
        .await
        .unwrap();
    assert_ne!(fresh, created.access_token);
    assert_eq!(client.when_signed_in().await.unwrap(), fresh);
    let r = client
        .send(client.request(reqwest::Method::GET, "/api/v1/me"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A mailed code for an account without a second factor signs in at once.
    let sent = client.send_login_code(email).await.unwrap();
    let mailed = sink.code_to(email).await.code_after("sign-in code is ");
    let CodeSignIn::SignedIn(by_code) = client
        .login_with_code(&sent.login_id, &mailed)
        .await
        .unwrap()
    else {
        panic!("no second factor: signed in");
    };
    assert_eq!(by_code.user.email, email);

    // Tokens got elsewhere (here: a plain HTTP login) are held and refreshed like any.
    let elsewhere = app.login(email, PASSWORD).await;
    assert_eq!(elsewhere.status(), 200);
    let tokens: latchkey_client::TokenResponse = elsewhere.json().await.unwrap();
    let other = self::client(&app);
    other.adopt_tokens(&tokens).await.unwrap();
    assert_eq!(me_status(&other).await, 200);

    // Change, then forget and reset: each new password signs in.
    let changed = "a new horse battery staple";
    client.change_password(PASSWORD, changed).await.unwrap();
    assert!(matches!(
        client.login(email, changed).await.unwrap(),
        SignIn::SignedIn(_)
    ));
    client.forgot_password(email).await.unwrap();
    let reset = sink.reset_to(email).await.link_param("token");
    let after_reset = "a third horse battery staple";
    client.reset_password(&reset, after_reset).await.unwrap();
    assert!(matches!(
        client.access_token().await,
        Err(Error::NotSignedIn)
    ));
    let SignIn::SignedIn(_) = client.login(email, after_reset).await.unwrap() else {
        panic!("the reset password signs in");
    };
    let SignIn::SignedIn(second) = other.login(email, after_reset).await.unwrap() else {
        panic!("a second device signs in");
    };

    // Everywhere: this client and the other device are both signed out.
    let ended = client.logout_everywhere().await.unwrap();
    assert!(ended >= 2, "{ended} sessions ended");
    assert!(matches!(
        client.access_token().await,
        Err(Error::NotSignedIn)
    ));
    let r = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&second.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the other device's session ended too");
}
on_all_setups!(mail: rust_client_adopts_tokens_changes_and_resets_the_password_and_signs_out_everywhere);

/// A store shared with the test, to look inside.
struct Shared(std::sync::Arc<MemoryStore>);

impl TokenStore for Shared {
    fn load(&self) -> latchkey_client::BoxFuture<'_, std::io::Result<Option<String>>> {
        self.0.load()
    }
    fn save<'a>(
        &'a self,
        refresh_token: &'a str,
    ) -> latchkey_client::BoxFuture<'a, std::io::Result<()>> {
        self.0.save(refresh_token)
    }
    fn clear(&self) -> latchkey_client::BoxFuture<'_, std::io::Result<()>> {
        self.0.clear()
    }
    fn load_device(&self) -> latchkey_client::BoxFuture<'_, std::io::Result<Option<String>>> {
        self.0.load_device()
    }
    fn save_device<'a>(
        &'a self,
        device_token: &'a str,
    ) -> latchkey_client::BoxFuture<'a, std::io::Result<()>> {
        self.0.save_device(device_token)
    }
}

/// Every public method of `latchkey-client` is called by a test against the real server (the
/// `rust_client*.rs` files): the list is read from the client's source, so a new method
/// without a test fails here. `KeyringStore` is left out: it needs the OS keyring service,
/// which test machines lack (it has its own unit tests).
#[test]
fn every_public_method_of_the_rust_client_is_called_by_a_test() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tests: String = std::fs::read_dir(root.join("tests/api"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("rust_client"))
        })
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let src = root.join("../latchkey-client/src");
    let mut methods = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n == "keyring_store.rs") {
            continue;
        }
        let mut owner = String::new();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            // `impl Client {` names the owner of the methods below; a trait's methods are
            // not `pub` and are called through the types that use them.
            if let Some(rest) = line.strip_prefix("impl ") {
                owner = rest
                    .split([' ', '<', '{'])
                    .find(|w| !w.is_empty())
                    .unwrap_or("")
                    .to_owned();
            }
            let t = line.trim_start();
            let Some(rest) = t
                .strip_prefix("pub async fn ")
                .or_else(|| t.strip_prefix("pub fn "))
            else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            methods.push((owner.clone(), name));
        }
    }
    assert!(methods.len() > 20, "read the client's methods: {methods:?}");
    let untested: Vec<String> = methods
        .iter()
        .filter(|(owner, name)| {
            !tests.contains(&format!(".{name}(")) && !tests.contains(&format!("{owner}::{name}("))
        })
        .map(|(owner, name)| format!("{owner}::{name}"))
        .collect();
    assert!(
        untested.is_empty(),
        "public methods of latchkey-client that no test in tests/api/rust_client*.rs calls: {untested:?}"
    );
}
