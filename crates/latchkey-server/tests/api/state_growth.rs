//! Unauthenticated requests must not grow the token store: only what exists is cached, and
//! only existing accounts get a login counter (the per-IP counter bounds the rest).

use std::collections::BTreeSet;

use futures::StreamExt;
use redis::AsyncCommands;
use serde_json::json;

use crate::helpers::{TestApp, redis_url};

async fn keys_under(url: &str, prefix: &str) -> BTreeSet<String> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut iter = conn
        .scan_match::<_, String>(format!("{prefix}*"))
        .await
        .unwrap();
    let mut keys = BTreeSet::new();
    while let Some(k) = iter.next_item().await {
        keys.insert(k.unwrap());
    }
    keys
}

/// `lkr_<user id>.<session id>.<43 characters>`, all made up.
fn made_up_refresh_token() -> String {
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    format!(
        "lkr_{}.{}.{}",
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        &secret[..43]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_refresh_tokens_and_emails_leave_nothing_but_the_ip_counters_behind() {
    let Some(url) = redis_url() else {
        return;
    };
    // Enough per IP that every login reaches the account lookup.
    let Some(app) = TestApp::spawn_redis_with(|c| c.login_limit_per_ip = 10_000).await else {
        return;
    };
    let prefix = app.config.redis_prefix.clone();
    app.signup("ann@example.com").await;
    let before = keys_under(&url, &prefix).await;
    let app = &app;

    let statuses: Vec<u16> = futures::stream::iter(0..1_000)
        .map(|_| async {
            app.refresh(&made_up_refresh_token())
                .await
                .status()
                .as_u16()
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| *s == 401),
        "refreshes: {statuses:?}"
    );
    let statuses: Vec<u16> = futures::stream::iter(0..1_000)
        .map(|i| async move {
            let email = format!("nobody-{i}-{}@example.com", uuid::Uuid::new_v4().simple());
            app.post(
                "/api/v1/auth/login",
                &json!({"email": email, "password": "wrong password, long enough"}),
            )
            .await
            .status()
            .as_u16()
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 401), "logins: {statuses:?}");

    let after = keys_under(&url, &prefix).await;
    let new: Vec<&String> = after.difference(&before).collect();
    // Per client IP only: its login attempts, and the audit rows its refusals may open.
    let ip_counters = [
        format!("{prefix}rl:login:ip:127.0.0.1"),
        format!("{prefix}rl:audit:failed_rows:ip:127.0.0.1"),
    ];
    assert!(
        new.iter().all(|k| ip_counters.contains(k)),
        "{} new keys, e.g. {:?}",
        new.len(),
        new.iter().take(5).collect::<Vec<_>>()
    );
}
