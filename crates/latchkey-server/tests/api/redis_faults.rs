//! Redis is a cache that can be lost, paused or cut off: every test here runs its own
//! `redis-server` (never the machine's shared one) and stops, restarts, pauses or fills it.
//! Revoked sessions must stay refused on every instance, and a Redis fault must answer 503
//! `service_unavailable`, never 500 and never "allowed", then heal by itself.

use std::time::Duration;

use latchkey_core::Clock;
use latchkey_server::Config;
use reqwest::Response;
use serde_json::Value;

use crate::helpers::api_keys::{access, expect_error, org_with_member, refresh_token, user_id};
use crate::helpers::eventually::eventually_every;
use crate::helpers::forward_auth::{authorize, orders_policy_file};
use crate::helpers::tokens::login_ok;
use crate::helpers::{
    Backend, OwnedRedis, PASSWORD, TestApp, error_code, fresh_pg_schema, s, test_config,
    unique_prefix,
};

/// A server over a fresh PostgreSQL schema and the test's own Redis.
async fn app_on(redis: &OwnedRedis, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let url = redis.url();
    TestApp::spawn_with(Backend::Postgres, |c| {
        c.redis_url = Some(url);
        c.redis_prefix = unique_prefix();
        c.policy_file = Some(orders_policy_file());
        tweak(c);
    })
    .await
}

/// `/me` and forward-auth both refuse the token as revoked.
async fn assert_refused(app: &TestApp, token: &str, what: &str) {
    let r = app.me(token).await;
    assert_eq!(r.status(), 401, "{what}: /me");
    assert_eq!(error_code(r).await, "invalid_token", "{what}: /me");
    let r = authorize(app, token, "GET", "/public/x").await;
    assert_eq!(r.status(), 401, "{what}: forward-auth");
}

async fn assert_allowed(app: &TestApp, token: &str, what: &str) {
    let r = app.me(token).await;
    assert_eq!(r.status(), 200, "{what}: /me");
    let r = authorize(app, token, "GET", "/public/x").await;
    assert_eq!(r.status(), 200, "{what}: forward-auth");
}

/// A 503 in the documented shape, with `Retry-After`.
async fn assert_unavailable(r: Response, what: &str) {
    let retry_after = r.headers().contains_key("retry-after");
    expect_error(r, 503, "service_unavailable", what).await;
    assert!(retry_after, "{what}: no Retry-After");
}

/// Polls `/me` until it answers 200; every answer before must be a 503 (never a 500, never
/// a refusal of a valid token).
async fn until_me_works(app: &TestApp, token: &str, what: &str) {
    eventually_every(
        Duration::from_millis(50),
        Duration::from_secs(20),
        || async {
            let r = app.me(token).await;
            match r.status().as_u16() {
                200 => Ok(()),
                503 => {
                    assert_unavailable(r, what).await;
                    Err(format!("{what}: no 200 after 20 s"))
                }
                other => panic!("{what}: {other} {}", r.text().await.unwrap_or_default()),
            }
        },
    )
    .await
}

/// Sessions ended in every way the product offers, plus one live session, on `app`.
struct Ended {
    live: String,
    revoked: Vec<(&'static str, String)>,
}

async fn end_sessions_every_way(app: &TestApp) -> Ended {
    let (admin, member) = org_with_member(app, "ann@example.com", "max@example.com").await;
    let admin_token = access(&admin);
    let mut revoked = Vec::new();

    let out = login_ok(app, "ann@example.com").await;
    let r = app.post_auth("/api/v1/auth/logout", &access(&out)).await;
    assert_eq!(r.status(), 204, "logout");
    revoked.push(("logged out", access(&out)));

    let deleted = login_ok(app, "ann@example.com").await;
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/sessions/{}", s(&deleted, "session_id"))))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "delete session");
    revoked.push(("deleted", access(&deleted)));

    let reused = login_ok(app, "ann@example.com").await;
    assert_eq!(app.refresh(&refresh_token(&reused)).await.status(), 200);
    app.advance(Duration::from_secs(11));
    let r = app.refresh(&refresh_token(&reused)).await;
    assert_eq!(r.status(), 401, "replay after the grace");
    revoked.push(("reuse-revoked", access(&reused)));

    let r = app
        .client
        .delete(app.url(&format!(
            "/api/v1/admin/users/{}/sessions",
            user_id(&member)
        )))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "admin revokes the member's sessions");
    revoked.push(("admin-revoked", access(&member)));

    Ended {
        live: admin_token,
        revoked,
    }
}

async fn assert_ended(apps: &[&TestApp], ended: &Ended, when: &str) {
    for (i, app) in apps.iter().enumerate() {
        for (how, token) in &ended.revoked {
            assert_refused(app, token, &format!("instance {i}, {how}, {when}")).await;
        }
        assert_allowed(app, &ended.live, &format!("instance {i}, live, {when}")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_survive_a_redis_restart_on_every_instance() {
    let Some(mut redis) = OwnedRedis::start() else {
        return;
    };
    let Some(a) = app_on(&redis, |_| {}).await else {
        return;
    };
    let b = a.sibling().await;
    let ended = end_sessions_every_way(&a).await;
    assert_ended(&[&a, &b], &ended, "before the restart").await;

    redis.restart();
    // The very first requests after the restart, on idle connections: no 500, no "allowed".
    assert_ended(&[&b, &a], &ended, "after the restart").await;
    // The list was rebuilt for everyone, so later checks are one round trip again.
    let key = format!("{}revoked", a.config.redis_prefix);
    assert_eq!(redis.cli(&["HEXISTS", &key, "~complete"]), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_survive_redis_evicting_them() {
    let Some(redis) = OwnedRedis::start_with(&[
        "--maxmemory-policy",
        "allkeys-lru",
        "--enable-debug-command",
        "yes",
    ]) else {
        return;
    };
    let Some(a) = app_on(&redis, |c| c.redis_allow_eviction = true).await else {
        return;
    };
    let b = a.sibling().await;
    let ended = end_sessions_every_way(&a).await;
    assert_ended(&[&a, &b], &ended, "before the eviction").await;

    // Fill Redis past its memory limit until it evicts the revocation list.
    let key = format!("{}revoked", a.config.redis_prefix);
    assert_eq!(redis.cli(&["CONFIG", "SET", "maxmemory", "4mb"]), "OK");
    let mut round = 0;
    eventually_every(Duration::ZERO, Duration::from_secs(30), || {
        let evicted = redis.cli(&["EXISTS", &key]) == "0";
        if !evicted {
            let prefix = format!("junk{round}:");
            redis.cli(&["DEBUG", "POPULATE", "20000", &prefix, "200"]);
            round += 1;
        }
        async move {
            match evicted {
                true => Ok(()),
                false => Err("the list was never evicted".to_owned()),
            }
        }
    })
    .await;
    assert_ended(&[&a, &b], &ended, "after the eviction").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_start_on_a_redis_that_may_evict() {
    let Some(redis) = OwnedRedis::start_with(&["--maxmemory-policy", "allkeys-lru"]) else {
        return;
    };
    let Some(db) = fresh_pg_schema().await else {
        return;
    };
    let mut config = test_config(Backend::Postgres, Some(db));
    config.redis_url = Some(redis.url());
    config.redis_prefix = unique_prefix();
    let err = latchkey_server::start(config.clone(), Clock::manual())
        .await
        .err()
        .expect("an evicting Redis is refused");
    let err = format!("{err:#}");
    assert!(
        err.contains("allkeys-lru") && err.contains("noeviction"),
        "{err}"
    );
    // Allowed explicitly, it starts.
    config.redis_allow_eviction = true;
    let running = latchkey_server::start(config, Clock::manual())
        .await
        .expect("starts when eviction is allowed");
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_redis_answers_503_and_recovers_by_itself() {
    let Some(mut redis) = OwnedRedis::start() else {
        return;
    };
    let Some(app) = app_on(&redis, |_| {}).await else {
        return;
    };
    let grant = app.signup("ann@example.com").await;
    let token = access(&grant);
    assert_allowed(&app, &token, "before").await;

    redis.stop();
    for what in ["first /me", "second /me"] {
        assert_unavailable(app.me(&token).await, what).await;
    }
    assert_unavailable(
        authorize(&app, &token, "GET", "/public/x").await,
        "forward-auth",
    )
    .await;
    assert_unavailable(app.login("ann@example.com", PASSWORD).await, "login").await;
    assert_unavailable(app.refresh(&refresh_token(&grant)).await, "refresh").await;
    let r = app.post_auth("/api/v1/auth/logout", &token).await;
    assert_unavailable(r, "logout").await;

    redis.restart();
    // The first request after Redis is back succeeds: no 500 from the dead connection.
    assert_allowed(&app, &token, "after the restart").await;
    let r = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200, "login after the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_redis_answers_503_and_recovers_when_it_resumes() {
    let Some(redis) = OwnedRedis::start() else {
        return;
    };
    let Some(app) = app_on(&redis, |c| c.redis_timeout = Duration::from_millis(500)).await else {
        return;
    };
    let grant = app.signup("ann@example.com").await;
    let token = access(&grant);
    assert_allowed(&app, &token, "before").await;

    redis.pause();
    // A bounded wait (the test must not hang if the server does): the answer is a 503.
    let paused = |path: &str| {
        app.client
            .get(app.url(path))
            .bearer_auth(&token)
            .timeout(Duration::from_secs(30))
            .send()
    };
    let r = paused("/api/v1/me").await.expect("answered while paused");
    assert_unavailable(r, "/me while paused").await;
    let r = paused("/api/v1/sessions")
        .await
        .expect("answered while paused");
    assert_unavailable(r, "/sessions while paused").await;

    redis.resume();
    until_me_works(&app, &token, "after resuming").await;
    let body: Value = app.me(&token).await.json().await.unwrap();
    assert_eq!(body["email"], "ann@example.com", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_redis_refused_to_store_is_not_lost() {
    let Some(redis) = OwnedRedis::start() else {
        return;
    };
    let Some(a) = app_on(&redis, |_| {}).await else {
        return;
    };
    let b = a.sibling().await;
    a.signup("ann@example.com").await;
    let grant = login_ok(&a, "ann@example.com").await;
    let token = access(&grant);
    assert_allowed(&b, &token, "before").await;

    // Redis keeps answering reads but refuses writes (out of memory under `noeviction`): the
    // logout commits to the database, then cannot record the revocation in Redis.
    assert_eq!(redis.cli(&["CONFIG", "SET", "maxmemory", "1"]), "OK");
    let r = a.post_auth("/api/v1/auth/logout", &token).await;
    assert_unavailable(r, "logout while Redis refuses writes").await;
    // No instance trusts the list any more: refused at once, from the database.
    assert_refused(&a, &token, "instance 0, Redis still refusing writes").await;
    assert_refused(&b, &token, "instance 1, Redis still refusing writes").await;
    // Refresh asks the database: refused on every instance.
    let r = b.refresh(&refresh_token(&grant)).await;
    assert_eq!(r.status(), 401, "refresh of the logged-out session");

    assert_eq!(redis.cli(&["CONFIG", "SET", "maxmemory", "0"]), "OK");
    // Once Redis takes writes again, that instance writes the revocation back (its next
    // request does), and every instance refuses the session.
    assert_refused(&a, &token, "instance 0, after Redis recovered").await;
    assert_refused(&b, &token, "instance 1, after Redis recovered").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_when_redis_hides_its_config() {
    // Managed Redis services often disable CONFIG: the policy cannot be read, so Latchkey warns
    // and starts rather than refusing a setup it cannot inspect.
    let Some(redis) = OwnedRedis::start_with(&["--rename-command", "CONFIG", ""]) else {
        return;
    };
    let reply = redis.cli(&["CONFIG", "GET", "maxmemory-policy"]);
    assert!(reply.contains("unknown command"), "{reply}");
    let Some(app) = app_on(&redis, |_| {}).await else {
        return;
    };
    let grant = app.signup("ann@example.com").await;
    assert_allowed(&app, &access(&grant), "on a Redis without CONFIG").await;
}

/// Waits until the workers made `n` more requests.
async fn after_requests(count: &std::sync::atomic::AtomicUsize, n: usize) {
    let target = count.load(std::sync::atomic::Ordering::Relaxed) + n;
    eventually_every(
        Duration::from_millis(10),
        Duration::from_secs(30),
        || async {
            match count.load(std::sync::atomic::Ordering::Relaxed) >= target {
                true => Ok(()),
                false => Err("the workers stalled".to_owned()),
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_redis_faults_never_answer_500_nor_admit_a_revoked_session() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let Some(mut redis) = OwnedRedis::start() else {
        return;
    };
    let Some(a) = app_on(&redis, |c| c.redis_timeout = Duration::from_millis(300)).await else {
        return;
    };
    let b = a.sibling().await;
    a.signup("ann@example.com").await;
    let live = access(&login_ok(&a, "ann@example.com").await);
    let ended = access(&login_ok(&a, "ann@example.com").await);
    let r = a.post_auth("/api/v1/auth/logout", &ended).await;
    assert_eq!(r.status(), 204);

    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for (i, base) in [a.base.clone(), b.base.clone()].into_iter().enumerate() {
        for (token, revoked) in [(live.clone(), false), (ended.clone(), true)] {
            let (stop, count, client) = (stop.clone(), count.clone(), a.client.clone());
            let base = base.clone();
            workers.push(tokio::spawn(async move {
                let mut seen = std::collections::BTreeMap::<u16, usize>::new();
                while !stop.load(Ordering::Relaxed) {
                    let r = client
                        .get(format!("{base}/api/v1/me"))
                        .bearer_auth(&token)
                        .timeout(Duration::from_secs(30))
                        .send()
                        .await
                        .expect("answered");
                    let status = r.status().as_u16();
                    let allowed: &[u16] = if revoked { &[401, 503] } else { &[200, 503] };
                    assert!(
                        allowed.contains(&status),
                        "instance {i}, revoked={revoked}: {status} {}",
                        r.text().await.unwrap_or_default()
                    );
                    *seen.entry(status).or_default() += 1;
                    count.fetch_add(1, Ordering::Relaxed);
                }
                seen
            }));
        }
    }

    after_requests(&count, 40).await;
    for _ in 0..2 {
        redis.stop();
        after_requests(&count, 40).await;
        redis.restart();
        after_requests(&count, 40).await;
        redis.pause();
        after_requests(&count, 8).await;
        redis.resume();
        after_requests(&count, 40).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let seen = w.await.expect("worker passed");
        assert!(
            seen.contains_key(&200) || seen.contains_key(&401),
            "{seen:?}"
        );
    }
    // And all is well afterwards.
    assert_allowed(&a, &live, "instance 0 after the faults").await;
    assert_allowed(&b, &live, "instance 1 after the faults").await;
    assert_refused(&a, &ended, "instance 0 after the faults").await;
    assert_refused(&b, &ended, "instance 1 after the faults").await;
}
