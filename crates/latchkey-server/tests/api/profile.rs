//! The owner's own account over the API: name and phone, a change of address confirmed from
//! the new mailbox, another confirmation mail, new recovery codes, and deleting the account.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::api_keys::{assert_key_refused, auth_token, user_id};
use crate::helpers::mail_sink::SmtpSink;
use crate::helpers::mfa::{enable_mfa, totp_code};
use crate::helpers::phone::{PHONE, outbox_code};
use crate::helpers::reauth::{notice, reauthenticate};
use crate::helpers::{PASSWORD, TestApp, assert_error_shape, s};
use crate::on_all_setups;

async fn patch_me(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let r = app
        .send_json_auth(reqwest::Method::PATCH, "/api/v1/me", token, Some(&body))
        .await;
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn delete_me(app: &TestApp, token: &str) -> (u16, Option<Value>) {
    let r = app
        .send_json_auth(reqwest::Method::DELETE, "/api/v1/me", token, None)
        .await;
    let status = r.status().as_u16();
    (status, r.json().await.ok())
}

async fn ask_email_change(app: &TestApp, token: &str, email: &str) -> (u16, Value) {
    let r = app
        .post_json_auth("/api/v1/me/email", token, &json!({"email": email}))
        .await;
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn confirm_email_change(app: &TestApp, token: &str) -> (u16, Value) {
    let r = app
        .post("/api/v1/me/email/confirm", &json!({"token": token}))
        .await;
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The organization's audit events called `name` (the caller is its admin).
async fn events(app: &TestApp, access: &str, name: &str) -> Vec<Value> {
    let r = app.get_auth("/api/v1/admin/audit?limit=200", access).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == name)
        .cloned()
        .collect()
}

fn code_of(status: u16, body: &Value, what: &str) -> String {
    assert_error_shape(status, body, what)
}

on_all_setups!(profile_edits_change_the_name_and_send_a_new_number_a_code);
async fn profile_edits_change_the_name_and_send_a_new_number_a_code(app: TestApp) {
    let ada = app.signup("ada@example.com").await;
    let token = s(&ada, "access_token");

    let (status, body) = patch_me(&app, &token, json!({"name": "  Ada Lovelace "})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["name"], "Ada Lovelace");
    assert_eq!(body["phone_code_sent"], false);
    let me: Value = app.me(&token).await.json().await.unwrap();
    assert_eq!(me["name"], "Ada Lovelace", "every later /me sees it");

    // A new number is texted a code at once, and the code proves it.
    let (status, body) = patch_me(&app, &token, json!({"phone": "+1 415 555 0123"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["phone"], PHONE);
    assert_eq!(body["user"]["name"], "Ada Lovelace", "absent fields stay");
    assert_eq!(body["phone_code_sent"], true);
    let (to, code) = outbox_code(&app);
    assert_eq!(to, PHONE);
    let r = app
        .post_json_auth("/api/v1/phone/verify", &token, &json!({"code": code}))
        .await;
    assert_eq!(r.status(), 200);

    // The same number again changes nothing and sends nothing.
    let (status, body) = patch_me(&app, &token, json!({"phone": PHONE})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["phone_code_sent"], false);

    // `null` clears.
    let (status, body) = patch_me(&app, &token, json!({"name": null, "phone": null})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["name"], Value::Null);
    assert_eq!(body["user"]["phone"], Value::Null);

    for (bad, what) in [
        (json!({"phone": "0123"}), "not E.164"),
        (json!({"name": "x".repeat(201)}), "name too long"),
        (json!({"name": 5}), "name not a string"),
        (
            json!({"email": "b@example.com"}),
            "the address is not changed here",
        ),
    ] {
        let (status, body) = patch_me(&app, &token, bad).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(code_of(status, &body, what), "invalid_request", "{what}");
    }
    let logged = events(&app, &token, "profile.updated").await;
    assert_eq!(logged.len(), 3, "{logged:?}");
    assert_eq!(logged[0]["detail"]["fields"], json!(["name", "phone"]));
}

on_all_setups!(mail: an_email_change_needs_reauthentication_and_happens_only_when_the_new_mailbox_confirms);
async fn an_email_change_needs_reauthentication_and_happens_only_when_the_new_mailbox_confirms(
    app: TestApp,
    sink: SmtpSink,
) {
    let ada = app.signup("ada@example.com").await;
    let token = s(&ada, "access_token");
    app.advance(Duration::from_secs(6 * 60));
    let (status, body) = ask_email_change(&app, &token, "ada@new.example").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        code_of(status, &body, "stale sign-in"),
        "reauthentication_required"
    );
    let r = reauthenticate(&app, &token, json!({"password": PASSWORD})).await;
    assert_eq!(r.status(), 200);

    let (status, body) = ask_email_change(&app, &token, "Ada@New.example").await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["expires_in"], 3600);
    notice(&sink, "ada@example.com", "Ada@New.example").await;
    let link = sink
        .wait_for("Ada@New.example", "Confirm your new email address")
        .await;
    assert!(
        link.text().contains("/confirm-email?token=lke_"),
        "{}",
        link.text()
    );
    let confirm = link.link_param("token");

    // Nothing changed yet: the old address still signs in, the new one does not.
    let me: Value = app.me(&token).await.json().await.unwrap();
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(app.login("ada@new.example", PASSWORD).await.status(), 401);

    let (status, body) = confirm_email_change(&app, &confirm).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"email": "Ada@New.example", "email_verified": true})
    );
    let me: Value = app.me(&token).await.json().await.unwrap();
    assert_eq!(me["email"], "Ada@New.example");
    assert_eq!(
        me["email_verified"], true,
        "the link proved the new mailbox"
    );
    assert_eq!(app.login("ada@new.example", PASSWORD).await.status(), 200);
    assert_eq!(app.login("ada@example.com", PASSWORD).await.status(), 401);
    notice(&sink, "ada@example.com", "was changed to Ada@New.example").await;

    // Once only.
    let (status, body) = confirm_email_change(&app, &confirm).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(code_of(status, &body, "spent link"), "invalid_token");
    assert_eq!(
        events(&app, &token, "email.change_requested").await.len(),
        1
    );
    assert_eq!(events(&app, &token, "email.changed").await.len(), 1);
}

on_all_setups!(mail: an_email_change_refuses_a_taken_address_and_a_new_request_ends_the_old_link);
async fn an_email_change_refuses_a_taken_address_and_a_new_request_ends_the_old_link(
    app: TestApp,
    sink: SmtpSink,
) {
    app.signup("bob@example.com").await;
    let ada = app.signup("ada@example.com").await;
    let token = s(&ada, "access_token");
    for (email, status_wanted, code_wanted) in [
        ("BOB@example.com", 409, "email_taken"),
        ("ada@example.com", 400, "invalid_request"),
        ("not an address", 400, "invalid_request"),
    ] {
        let (status, body) = ask_email_change(&app, &token, email).await;
        assert_eq!(status, status_wanted, "{email}: {body}");
        assert_eq!(code_of(status, &body, email), code_wanted, "{email}");
    }
    assert_eq!(
        ask_email_change(&app, &token, "one@example.com").await.0,
        202
    );
    let first = sink
        .wait_for("one@example.com", "Confirm your new email address")
        .await
        .link_param("token");
    assert_eq!(
        ask_email_change(&app, &token, "two@example.com").await.0,
        202
    );
    let second = sink
        .wait_for("two@example.com", "Confirm your new email address")
        .await
        .link_param("token");
    assert_eq!(confirm_email_change(&app, &first).await.0, 401, "replaced");
    // The address was taken meanwhile: the link is refused, nothing changes.
    app.signup("two@example.com").await;
    let (status, body) = confirm_email_change(&app, &second).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(code_of(status, &body, "taken meanwhile"), "email_taken");
    let me: Value = app.me(&token).await.json().await.unwrap();
    assert_eq!(me["email"], "ada@example.com");
    // A link expires after an hour.
    assert_eq!(
        ask_email_change(&app, &token, "three@example.com").await.0,
        202
    );
    let third = sink
        .wait_for("three@example.com", "Confirm your new email address")
        .await
        .link_param("token");
    app.advance(Duration::from_secs(3601));
    assert_eq!(confirm_email_change(&app, &third).await.0, 401, "expired");
}

on_all_setups!(mail: the_confirmation_mail_is_sent_again_spaced_out_until_the_address_is_verified);
async fn the_confirmation_mail_is_sent_again_spaced_out_until_the_address_is_verified(
    app: TestApp,
    sink: SmtpSink,
) {
    let ada = app.signup("ada@example.com").await;
    let token = s(&ada, "access_token");
    sink.wait_for("ada@example.com", "Confirm your email address")
        .await;
    // The sign-up's own mail counts: a minute before the next.
    let r = app.post_auth("/api/v1/me/email/verification", &token).await;
    assert_eq!(r.status(), 429);
    app.advance(Duration::from_secs(61));
    let r = app.post_auth("/api/v1/me/email/verification", &token).await;
    assert_eq!(r.status(), 202);
    let again = sink
        .wait_for("ada@example.com", "Confirm your email address")
        .await
        .link_param("token");
    let r = app.post_auth("/api/v1/me/email/verification", &token).await;
    assert_eq!(r.status(), 429, "one a minute");
    assert!(r.headers().contains_key("retry-after"));
    app.advance(Duration::from_secs(61));
    let r = app.post_auth("/api/v1/me/email/verification", &token).await;
    assert_eq!(r.status(), 202);
    // Any live link confirms.
    let r = app
        .post(
            "/api/v1/auth/email/verify",
            &json!({"token": again, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 204);
    app.advance(Duration::from_secs(61));
    let r = app.post_auth("/api/v1/me/email/verification", &token).await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 409, "{body}");
    assert_eq!(code_of(status, &body, "verified"), "conflict");
    assert_eq!(
        events(&app, &token, "email.verification_sent").await.len(),
        2
    );
}

on_all_setups!(new_recovery_codes_need_reauthentication_and_replace_the_old_ones);
async fn new_recovery_codes_need_reauthentication_and_replace_the_old_ones(app: TestApp) {
    let plain = app.signup("plain@example.com").await;
    let r = app
        .post_auth("/api/v1/mfa/recovery-codes", &s(&plain, "access_token"))
        .await;
    assert_eq!(r.status(), 404, "no second factor");

    let (secret, old, token) = enable_mfa(&app, "ada@example.com").await;
    app.advance(Duration::from_secs(6 * 60));
    let r = app.post_auth("/api/v1/mfa/recovery-codes", &token).await;
    assert_eq!(r.status(), 403);
    let proof = json!({"mfa_code": totp_code(&app, &secret)});
    assert_eq!(reauthenticate(&app, &token, proof).await.status(), 200);
    let r = app.post_auth("/api/v1/mfa/recovery-codes", &token).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    let new: Vec<String> = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !old.contains(c)));
    let r = reauthenticate(&app, &token, json!({"mfa_code": old[0]})).await;
    assert_eq!(r.status(), 401, "an old code stopped working");
    let r = reauthenticate(&app, &token, json!({"mfa_code": new[0]})).await;
    assert_eq!(r.status(), 200, "a new one works");
    assert_eq!(
        events(&app, &token, "mfa.recovery_codes_regenerated")
            .await
            .len(),
        1
    );
}

on_all_setups!(deleting_the_account_needs_reauthentication_and_ends_every_session_and_key);
async fn deleting_the_account_needs_reauthentication_and_ends_every_session_and_key(app: TestApp) {
    let ada = app.signup("ada@example.com").await;
    let token = s(&ada, "access_token");
    let refresh = s(&ada, "refresh_token");
    let key = s(&ada["api_key"], "key");
    let api_token = auth_token(&app, &key).await;
    let other = app.login("ada@example.com", PASSWORD).await;
    let other: Value = other.json().await.unwrap();

    app.advance(Duration::from_secs(6 * 60));
    let (status, body) = delete_me(&app, &token).await;
    let body = body.unwrap();
    assert_eq!(status, 403, "{body}");
    assert_eq!(code_of(status, &body, "stale"), "reauthentication_required");
    let r = app
        .client
        .delete(app.url("/api/v1/me"))
        .header("x-authorization", format!("Agent {api_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "an API token is not the user");
    let r = reauthenticate(&app, &token, json!({"password": PASSWORD})).await;
    assert_eq!(r.status(), 200);
    let (status, body) = delete_me(&app, &token).await;
    assert_eq!(status, 204, "{body:?}");

    for (t, what) in [
        (&token, "this session"),
        (&s(&other, "access_token"), "another session"),
    ] {
        assert_eq!(app.me(t).await.status(), 401, "{what}");
    }
    assert_eq!(
        app.get_agent("/api/v1/me", &api_token).await.status(),
        401,
        "an API token"
    );
    assert_eq!(app.refresh(&refresh).await.status(), 401);
    assert_key_refused(&app, &key, "the deleted account's key").await;
    assert_eq!(app.login("ada@example.com", PASSWORD).await.status(), 401);
    // The address is free again: a new account, in a new organization.
    let again = app.signup("ada@example.com").await;
    assert_ne!(user_id(&again), user_id(&ada));
}

on_all_setups!(
    the_last_admin_cannot_leave_members_behind_and_the_last_member_ends_the_organization
);
async fn the_last_admin_cannot_leave_members_behind_and_the_last_member_ends_the_organization(
    app: TestApp,
) {
    let ada = app.signup("ada@example.com").await;
    let ada_token = s(&ada, "access_token");
    let org: Value = app
        .get_auth("/api/v1/org", &ada_token)
        .await
        .json()
        .await
        .unwrap();
    let code = s(&org, "referral_code");
    let bob = app
        .signup_with(
            json!({"email": "bob@example.com", "password": PASSWORD, "referral_code": code}),
        )
        .await;
    let (status, body) = delete_me(&app, &ada_token).await;
    let body = body.unwrap();
    assert_eq!(status, 409, "{body}");
    assert_eq!(code_of(status, &body, "last admin"), "conflict");
    assert_eq!(app.me(&ada_token).await.status(), 200, "nothing happened");

    // A member leaves freely; the admin is then the last member and may go, organization too.
    assert_eq!(delete_me(&app, &s(&bob, "access_token")).await.0, 204);
    let left = events(&app, &ada_token, "account.deleted").await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["subject_user_id"], user_id(&bob));
    assert_eq!(delete_me(&app, &ada_token).await.0, 204);
    let r = app
        .post(
            "/api/v1/auth/signup",
            &json!({"email": "cy@example.com", "password": PASSWORD, "referral_code": code}),
        )
        .await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        code_of(status, &body, "organization gone"),
        "unknown_referral_code"
    );
}
