//! Signing-key rotation end to end: `latchkey keys rotate` against a running server's
//! database; the server signs with the new key within seconds, tokens of the old key verify
//! until they expire, then the old key retires, leaves the JWKS and verifies nothing.

use std::time::Duration;

use crate::helpers::key_rotation::{
    MASTER_KEY, RETIRE_AFTER, jwks_kids, kid_of, rotate_with_cli, sign_with, stored_private_key,
    wait_for_jwks,
};
use crate::helpers::oauth::claims_of;
use crate::helpers::operator::login_token;
use crate::helpers::{Backend, TestApp};

async fn rotation_end_to_end(app: TestApp, master_key: Option<&str>) {
    app.signup("ann@example.com").await;
    let old_token = login_token(&app, "ann@example.com").await;
    let old_kid = kid_of(&old_token);
    assert_eq!(jwks_kids(&app).await, std::slice::from_ref(&old_kid));

    let new_kid = rotate_with_cli(&app, master_key);
    assert_ne!(new_kid, old_kid);
    let kids = wait_for_jwks(&app, "after rotation", |k| k.contains(&new_kid)).await;
    assert!(
        kids.contains(&old_kid),
        "the old key still verifies: {kids:?}"
    );
    let new_token = login_token(&app, "ann@example.com").await;
    assert_eq!(kid_of(&new_token), new_kid, "new tokens carry the new kid");
    assert_eq!(app.me(&new_token).await.status(), 200);

    let stored = stored_private_key(&app, &new_kid).await;
    if master_key.is_some() {
        assert!(stored.starts_with("enc1:"), "the new key is sealed at rest");
    }
    // The old key's token keeps working until its own expiry.
    app.advance(Duration::from_secs(14 * 60));
    assert_eq!(
        app.me(&old_token).await.status(),
        200,
        "old-kid token before its exp"
    );
    app.advance(Duration::from_secs(2 * 60));
    assert_eq!(
        app.me(&old_token).await.status(),
        401,
        "old-kid token after its exp"
    );

    let old_private = stored_private_key(&app, &old_kid).await;
    let fresh = login_token(&app, "ann@example.com").await; // a live session for the forged token to name
    let live_claims = claims_of(&fresh);
    let now = || app.clock.now_ms() / 1000;
    let forged = master_key
        .is_none()
        .then(|| sign_with(&old_private, &old_kid, &live_claims, now()));
    if let Some(forged) = &forged {
        assert_eq!(
            app.me(forged).await.status(),
            200,
            "the old key still verifies before retiring"
        );
    }
    app.advance(RETIRE_AFTER);
    let kids = wait_for_jwks(&app, "after retirement", |k| !k.contains(&old_kid)).await;
    assert_eq!(kids, std::slice::from_ref(&new_kid));
    if master_key.is_none() {
        // A token signed with the retired key (say, from a leaked backup) is refused.
        let forged = sign_with(&old_private, &old_kid, &live_claims, now());
        let r = app.me(&forged).await;
        assert_eq!(r.status(), 401, "a retired key verifies nothing");
    }
    // The server keeps working with the new key.
    assert_eq!(
        app.me(&login_token(&app, "ann@example.com").await)
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_on_sqlite() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    rotation_end_to_end(app, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_on_postgres() {
    if let Some(app) = TestApp::spawn(Backend::Postgres).await {
        rotation_end_to_end(app, None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_with_a_master_key_seals_the_new_key() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.master_key = Some(MASTER_KEY.into()))
        .await
        .unwrap();
    rotation_end_to_end(app, Some(MASTER_KEY)).await;
}

/// Two instances over one database: a token signed with the new key by one is accepted by the
/// other at once, whether or not that one has reloaded its keys yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instance_accepts_the_new_key_at_once() {
    let Some(a) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let b = a.sibling().await;
    a.signup("ann@example.com").await;
    let new_kid = rotate_with_cli(&a, None);
    wait_for_jwks(&a, "instance a", |k| k.contains(&new_kid)).await;
    for round in 0..20 {
        let token = login_token(&a, "ann@example.com").await;
        assert_eq!(kid_of(&token), new_kid);
        assert_eq!(
            b.me(&token).await.status(),
            200,
            "round {round}: instance b refused it"
        );
    }
}
