//! One behaviour suite for both token stores: the in-process one and Redis. Whatever the
//! single-node default does, several instances on Redis must do the same.

use std::time::Duration;

use latchkey_core::Clock;
use latchkey_core::state::{
    KeyRecord, PreviousSecret, RetryAfter, Revocation, Slide, StateStore, UserRecord,
};

/// The machine's Redis with a fresh key prefix; `None` (skip) when unreachable outside CI.
async fn redis() -> Option<StateStore> {
    let url = std::env::var("LATCHKEY_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = format!("lktest:{}:", uuid::Uuid::new_v4().simple());
    match StateStore::redis(&url, &prefix).await {
        Ok(s) => Some(s),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("Redis is required under CI=true: {e}")
        }
        Err(e) => {
            eprintln!("skipping: {e}");
            None
        }
    }
}

macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn memory() {
                super::$name(latchkey_core::state::StateStore::in_memory(
                    latchkey_core::Clock::manual(),
                ))
                .await;
            }
            #[tokio::test]
            async fn redis() {
                if let Some(s) = super::redis().await {
                    super::$name(s).await;
                }
            }
        }
    };
}

fn user(scopes: &[&str]) -> UserRecord {
    user_v(scopes, 0)
}

fn user_v(scopes: &[&str], version: i64) -> UserRecord {
    UserRecord {
        org_id: "o1".into(),
        email: "a@b.co".into(),
        name: None,
        phone: None,
        role: latchkey_core::domain::Role::Member,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        disabled: false,
        email_verified: Some(false),
        version,
    }
}

fn key(generation: i64) -> KeyRecord {
    KeyRecord {
        user_id: "u1".into(),
        org_id: "o1".into(),
        role: latchkey_core::domain::Role::Member,
        scopes: vec!["orders:read".into()],
        secret_hash: "h".into(),
        generation,
        previous: Some(PreviousSecret {
            hash: "old".into(),
            generation: generation - 1,
            until: 42,
        }),
        expires_at: None,
        revoked: false,
        version: generation,
    }
}

/// Marks the store's revocation list complete, as the start-up load from the database does.
async fn loaded(s: &StateStore, revoked: &[(&str, u64)]) {
    let token = s.begin_rebuild().await.unwrap();
    let revoked: Vec<_> = revoked
        .iter()
        .map(|(sid, secs)| (sid.to_string(), Duration::from_secs(*secs)))
        .collect();
    assert!(s.finish_rebuild(&token, &revoked).await.unwrap());
}

async fn revoked_sessions_are_seen(s: StateStore) {
    loaded(&s, &[]).await;
    assert_eq!(s.is_session_revoked("s1").await.unwrap(), Revocation::Live);
    s.revoke_session("s1", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        s.is_session_revoked("s1").await.unwrap(),
        Revocation::Revoked
    );
    assert_eq!(s.is_session_revoked("s2").await.unwrap(), Revocation::Live);
    let (revoked, none) = s.session_and_user("s1", "nobody").await.unwrap();
    assert_eq!(revoked, Revocation::Revoked);
    assert_eq!(none, None);
}
on_both!(revoked_sessions_are_seen);

async fn a_list_never_loaded_says_unknown_not_live(s: StateStore) {
    // Before the load from the database (or after Redis lost the list) absence proves nothing.
    assert_eq!(
        s.is_session_revoked("s1").await.unwrap(),
        Revocation::Unknown
    );
    s.revoke_session("s2", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        s.is_session_revoked("s2").await.unwrap(),
        Revocation::Revoked
    );
    assert_eq!(
        s.session_and_user("s1", "u1").await.unwrap().0,
        Revocation::Unknown
    );
    loaded(&s, &[("s3", 60)]).await;
    assert_eq!(s.is_session_revoked("s1").await.unwrap(), Revocation::Live);
    assert_eq!(
        s.is_session_revoked("s2").await.unwrap(),
        Revocation::Revoked
    );
    assert_eq!(
        s.is_session_revoked("s3").await.unwrap(),
        Revocation::Revoked
    );
}
on_both!(a_list_never_loaded_says_unknown_not_live);

async fn a_rebuild_overtaken_by_another_is_not_marked_complete(s: StateStore) {
    let first = s.begin_rebuild().await.unwrap();
    let second = s.begin_rebuild().await.unwrap();
    assert!(
        !s.finish_rebuild(&first, &[("s1".into(), Duration::from_secs(60))])
            .await
            .unwrap()
    );
    assert_eq!(
        s.is_session_revoked("s9").await.unwrap(),
        Revocation::Unknown
    );
    assert!(s.finish_rebuild(&second, &[]).await.unwrap());
    assert_eq!(s.is_session_revoked("s9").await.unwrap(), Revocation::Live);
}
on_both!(a_rebuild_overtaken_by_another_is_not_marked_complete);

async fn a_distrusted_list_is_unknown_until_rebuilt(s: StateStore) {
    loaded(&s, &[("s1", 60)]).await;
    s.distrust_revocations().await.unwrap();
    assert_eq!(
        s.is_session_revoked("s2").await.unwrap(),
        Revocation::Unknown
    );
    // What it holds still counts.
    assert_eq!(
        s.is_session_revoked("s1").await.unwrap(),
        Revocation::Revoked
    );
    loaded(&s, &[]).await;
    assert_eq!(s.is_session_revoked("s2").await.unwrap(), Revocation::Live);
}
on_both!(a_distrusted_list_is_unknown_until_rebuilt);

async fn a_written_record_replaces_and_an_absent_only_insert_never_does(s: StateStore) {
    assert_eq!(s.user("u1").await.unwrap(), None);
    s.put_user_if_absent("u1", &user(&["a"])).await.unwrap();
    assert_eq!(s.user("u1").await.unwrap(), Some(user(&["a"])));
    // A reader that loaded stale data must not overwrite what a writer put.
    s.put_user("u1", &user(&["a", "b"])).await.unwrap();
    s.put_user_if_absent("u1", &user(&["a"])).await.unwrap();
    assert_eq!(s.user("u1").await.unwrap(), Some(user(&["a", "b"])));
    loaded(&s, &[]).await;
    let (revoked, rec) = s.session_and_user("s9", "u1").await.unwrap();
    assert_eq!(revoked, Revocation::Live);
    assert_eq!(rec, Some(user(&["a", "b"])));

    s.put_key_if_absent("k1", &key(0)).await.unwrap();
    s.put_key("k1", &key(1)).await.unwrap();
    s.put_key_if_absent("k1", &key(0)).await.unwrap();
    assert_eq!(s.key("k1").await.unwrap(), Some(key(1)));
}

async fn of_two_changes_published_at_once_the_newer_stays(s: StateStore) {
    // A writer that read version 3 publishes after one that read version 5: 5 stays.
    s.put_user("u1", &user_v(&["new"], 5)).await.unwrap();
    s.put_user("u1", &user_v(&["old"], 3)).await.unwrap();
    assert_eq!(s.user("u1").await.unwrap(), Some(user_v(&["new"], 5)));
    s.put_user("u1", &user_v(&["newer"], 6)).await.unwrap();
    assert_eq!(s.user("u1").await.unwrap(), Some(user_v(&["newer"], 6)));
    s.put_key("k1", &key(4)).await.unwrap();
    s.put_key("k1", &key(2)).await.unwrap();
    assert_eq!(s.key("k1").await.unwrap(), Some(key(4)));
}
on_both!(of_two_changes_published_at_once_the_newer_stays);
on_both!(a_written_record_replaces_and_an_absent_only_insert_never_does);

async fn the_first_token_stored_for_a_generation_wins(s: StateStore) {
    let ttl = Duration::from_secs(3600);
    let (entry, rec) = s.token_lookup("k1", 0, ttl, Slide::Always).await.unwrap();
    assert_eq!((entry, rec), (None, None));
    assert_eq!(
        s.token_insert("k1", 0, "first", ttl).await.unwrap(),
        "first"
    );
    assert_eq!(
        s.token_insert("k1", 0, "second", ttl).await.unwrap(),
        "first"
    );
    assert_eq!(
        s.token_insert("k1", 1, "next-gen", ttl).await.unwrap(),
        "next-gen"
    );
    s.put_key("k1", &key(1)).await.unwrap();
    let (entry, rec) = s.token_lookup("k1", 0, ttl, Slide::Always).await.unwrap();
    assert_eq!(entry.as_deref(), Some("first"));
    assert_eq!(rec, Some(key(1)));
    let (entry, _) = s.token_lookup("k1", 1, ttl, Slide::No).await.unwrap();
    assert_eq!(entry.as_deref(), Some("next-gen"));
    assert_eq!(
        s.token_lookup("k2", 0, ttl, Slide::Always).await.unwrap().0,
        None
    );
    s.drop_tokens("k1").await.unwrap();
    assert_eq!(
        s.token_lookup("k1", 0, ttl, Slide::Always).await.unwrap().0,
        None
    );
}
on_both!(the_first_token_stored_for_a_generation_wins);

async fn counters_stop_at_the_limit_and_say_when_to_retry(s: StateStore) {
    let w = Duration::from_secs(900);
    for _ in 0..3 {
        assert_eq!(s.take("k", 3, w).await.unwrap(), Ok(()));
    }
    let Err(RetryAfter(wait)) = s.take("k", 3, w).await.unwrap() else {
        panic!("the fourth attempt must be refused");
    };
    assert!(wait > Duration::from_secs(890) && wait <= w, "{wait:?}");
    s.give_back("k").await.unwrap();
    assert_eq!(s.take("k", 3, w).await.unwrap(), Ok(()));
    assert!(s.take("k", 3, w).await.unwrap().is_err());
    s.reset("k").await.unwrap();
    assert_eq!(s.take("k", 3, w).await.unwrap(), Ok(()));
    // Other keys are counted apart.
    assert_eq!(s.take("other", 1, w).await.unwrap(), Ok(()));
}
on_both!(counters_stop_at_the_limit_and_say_when_to_retry);

/// An account's lock counts, refuses, gives back and resets like any counter, and shares the
/// key space: a lock and a plain counter of one key are one counter.
async fn account_locks_count_like_counters(s: StateStore) {
    let w = Duration::from_secs(900);
    for _ in 0..2 {
        assert_eq!(s.take_lock("lock", 2, w).await.unwrap(), Ok(()));
    }
    let Err(RetryAfter(wait)) = s.take_lock("lock", 2, w).await.unwrap() else {
        panic!("the third attempt must be refused");
    };
    assert!(wait > Duration::from_secs(890) && wait <= w, "{wait:?}");
    assert!(s.take("lock", 2, w).await.unwrap().is_err());
    s.give_back("lock").await.unwrap();
    assert_eq!(s.take_lock("lock", 2, w).await.unwrap(), Ok(()));
    s.reset("lock").await.unwrap();
    assert_eq!(s.take_lock("lock", 2, w).await.unwrap(), Ok(()));
}
on_both!(account_locks_count_like_counters);

async fn parallel_attempts_cannot_pass_the_limit(s: StateStore) {
    let s = std::sync::Arc::new(s);
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.take("burst", 10, Duration::from_secs(60)).await })
        })
        .collect();
    let mut passed = 0;
    for t in tasks {
        if t.await.unwrap().unwrap().is_ok() {
            passed += 1;
        }
    }
    assert_eq!(passed, 10);
}
on_both!(parallel_attempts_cannot_pass_the_limit);

#[tokio::test]
async fn memory_entries_expire_by_the_injected_clock() {
    let clock = Clock::manual();
    let s = StateStore::in_memory(clock.clone());
    let ttl = Duration::from_secs(60);
    s.revoke_session("s1", ttl).await.unwrap();
    s.token_insert("k1", 0, "tok", ttl).await.unwrap();
    clock.advance(Duration::from_secs(30));
    // A use slides the token's expiry back to the full TTL.
    assert!(
        s.token_lookup("k1", 0, ttl, Slide::Always)
            .await
            .unwrap()
            .0
            .is_some()
    );
    clock.advance(Duration::from_secs(45));
    assert_ne!(
        s.is_session_revoked("s1").await.unwrap(),
        Revocation::Revoked
    );
    // A lookup for an entry the caller does not hold (a forged token) slides nothing.
    assert!(
        s.token_lookup("k1", 0, ttl, Slide::IfEntryStartsWith("forged|"))
            .await
            .unwrap()
            .0
            .is_some()
    );
    assert!(
        s.token_lookup("k1", 0, ttl, Slide::No)
            .await
            .unwrap()
            .0
            .is_some()
    );
    clock.advance(Duration::from_secs(16));
    assert!(
        s.token_lookup("k1", 0, ttl, Slide::Always)
            .await
            .unwrap()
            .0
            .is_none()
    );
}

#[tokio::test]
async fn redis_slides_a_used_tokens_expiry_back_to_the_full_ttl() {
    let url = std::env::var("LATCHKEY_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = format!("lktest:{}:", uuid::Uuid::new_v4().simple());
    let Ok(s) = StateStore::redis(&url, &prefix).await else {
        assert!(
            std::env::var("CI").is_err(),
            "Redis is required under CI=true"
        );
        return;
    };
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let key = format!("{prefix}{{k1}}:tok");
    let ttl = |conn: &mut redis::aio::MultiplexedConnection| {
        let key = key.clone();
        let mut conn = conn.clone();
        async move {
            redis::cmd("TTL")
                .arg(key)
                .query_async::<i64>(&mut conn)
                .await
                .unwrap()
        }
    };
    s.token_insert("k1", 0, "tok", Duration::from_secs(100))
        .await
        .unwrap();
    assert!((90..=100).contains(&ttl(&mut conn).await));
    // A use slides the expiry back to the full TTL; a lookup without sliding leaves it.
    s.token_lookup("k1", 0, Duration::from_secs(5000), Slide::Always)
        .await
        .unwrap();
    assert!((4990..=5000).contains(&ttl(&mut conn).await));
    s.token_lookup("k1", 0, Duration::from_secs(10), Slide::No)
        .await
        .unwrap();
    assert!(ttl(&mut conn).await > 4000);
    // A miss (unknown generation) does not extend anything either, nor does a lookup whose
    // entry is not the one the caller holds.
    s.token_lookup("k1", 7, Duration::from_secs(10), Slide::Always)
        .await
        .unwrap();
    assert!(ttl(&mut conn).await > 4000);
    s.token_lookup(
        "k1",
        0,
        Duration::from_secs(10),
        Slide::IfEntryStartsWith("other|"),
    )
    .await
    .unwrap();
    assert!(ttl(&mut conn).await > 4000);
    s.token_lookup(
        "k1",
        0,
        Duration::from_secs(10),
        Slide::IfEntryStartsWith("to"),
    )
    .await
    .unwrap();
    assert!(ttl(&mut conn).await <= 10);
}

/// `advance` moves the store's clock past the short entry's expiry.
async fn pruning_drops_only_expired_revocations(s: StateStore, advance: impl AsyncFn()) {
    loaded(&s, &[]).await;
    s.revoke_session("gone", Duration::from_millis(1))
        .await
        .unwrap();
    s.revoke_session("kept", Duration::from_secs(600))
        .await
        .unwrap();
    advance().await;
    assert_eq!(s.prune_revocations().await.unwrap(), 1);
    assert_eq!(
        s.is_session_revoked("gone").await.unwrap(),
        Revocation::Live
    );
    assert_eq!(
        s.is_session_revoked("kept").await.unwrap(),
        Revocation::Revoked
    );
    // The completeness marker is never pruned.
    assert_eq!(s.prune_revocations().await.unwrap(), 0);
    assert_eq!(
        s.is_session_revoked("other").await.unwrap(),
        Revocation::Live
    );
}

#[tokio::test]
async fn memory_prunes_expired_revocations() {
    let clock = Clock::manual();
    let s = StateStore::in_memory(clock.clone());
    pruning_drops_only_expired_revocations(s, async || clock.advance(Duration::from_millis(2)))
        .await;
}

#[tokio::test]
async fn redis_prunes_expired_revocations() {
    if let Some(s) = redis().await {
        // Redis expires by its own clock: 1 ms has passed once a later command sees it.
        pruning_drops_only_expired_revocations(s, async || {
            tokio::time::sleep(Duration::from_millis(20)).await
        })
        .await;
    }
}
