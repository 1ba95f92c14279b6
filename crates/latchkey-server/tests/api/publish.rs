//! The database is the truth and the token store is derived: a change committed while the
//! store is unreachable is answered as saved (503, `committed`), and takes effect, on every
//! credential, once the store is back.

use std::time::{Duration, Instant};

use reqwest::{Method, Response};
use serde_json::{Value, json};
use sqlx::{Connection, Row};

use crate::helpers::api_keys::{
    access, assert_access_refused, assert_access_works, assert_agent_works, auth_token,
    org_with_member, refresh_token, signup_key, user_id,
};
use crate::helpers::eventually::eventually;
use crate::helpers::forward_auth::orders_policy_file;
use crate::helpers::{Backend, OwnedRedis, TestApp, unique_prefix};

/// PostgreSQL + a Redis of the test's own (which the test may kill), with a policy file.
async fn app_on_own_redis(redis: &OwnedRedis) -> Option<TestApp> {
    let url = redis.url();
    TestApp::spawn_with(Backend::Postgres, |c| {
        c.redis_url = Some(url);
        c.redis_prefix = unique_prefix();
        c.policy_file = Some(orders_policy_file());
    })
    .await
}

/// As `app_on_own_redis`, with the background retry of pending changes out of the way: what a
/// test sees published, the call itself published.
async fn app_without_background_retry(redis: &OwnedRedis) -> Option<TestApp> {
    let url = redis.url();
    TestApp::spawn_with(Backend::Postgres, |c| {
        c.redis_url = Some(url);
        c.redis_prefix = unique_prefix();
        c.publish_retry_interval = Duration::from_secs(3600);
    })
    .await
}

async fn forward(app: &TestApp, token: &str) -> Response {
    app.client
        .get(app.url("/api/v1/authorize"))
        .bearer_auth(token)
        .header("x-forwarded-method", "GET")
        .header("x-forwarded-uri", "/public/page")
        .send()
        .await
        .unwrap()
}

/// Runs `call` while `user_id`'s row is locked in PostgreSQL; once the call waits on the lock,
/// kills `redis`, then releases the row. The call thus passes authentication with the store up
/// and commits its change with the store down.
async fn with_store_cut_mid_call(
    app: &TestApp,
    redis: &mut OwnedRedis,
    user_id: &str,
    call: impl std::future::Future<Output = Response>,
) -> Response {
    let url = app.config.database_url.clone().expect("PostgreSQL");
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let cut = async {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let waiting: i64 = sqlx::query(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))",
            )
            .fetch_one(&mut *tx)
            .await
            .unwrap()
            .get(0);
            if waiting > 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the call never reached the row lock"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        redis.stop();
        tx.rollback().await.unwrap();
    };
    let (response, ()) = tokio::join!(call, cut);
    response
}

async fn expect_committed_503(r: Response, what: &str) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 503, "{what}: {body}");
    assert_eq!(body["status"], "failed", "{what}: {body}");
    assert_eq!(body["code"], 503, "{what}: {body}");
    assert_eq!(body["error"], "service_unavailable", "{what}: {body}");
    assert_eq!(body["data"], json!({"committed": true}), "{what}: {body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("saved"), "{what}: {body}");
}

fn refused(status: u16) -> bool {
    status == 401 || status == 403
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_disabled_while_the_store_was_down_loses_every_credential_once_it_is_back() {
    let Some(mut redis) = OwnedRedis::start_persistent() else {
        return;
    };
    let Some(app) = app_on_own_redis(&redis).await else {
        return;
    };
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let bob = user_id(&member);
    let (bob_access, bob_refresh) = (access(&member), refresh_token(&member));
    let bob_key = signup_key(&member);
    let bob_token = auth_token(&app, &bob_key).await;
    // Every credential works, and the store holds bob's records.
    assert_access_works(&app, &bob_access, "access token before").await;
    assert_agent_works(&app, &bob_token, "API token before").await;
    assert_eq!(forward(&app, &bob_access).await.status(), 200);
    assert_eq!(forward(&app, &bob_token).await.status(), 200);

    let path = format!("/api/v1/admin/users/{bob}/disabled");
    let (admin_access, body) = (access(&admin), json!({"disabled": true}));
    let disable = app.send_json_auth(Method::PUT, &path, &admin_access, Some(&body));
    let r = with_store_cut_mid_call(&app, &mut redis, &bob, disable).await;
    expect_committed_503(r, "disable with the store down").await;

    redis.restart();
    // Bounded: every instance retries pending changes every few seconds.
    eventually(Duration::from_secs(30), || async {
        let me = app.me(&bob_access).await.status().as_u16();
        let (get_token, _) = app.get_token(&bob_key).await;
        let fwd_access = forward(&app, &bob_access).await.status().as_u16();
        let fwd_token = forward(&app, &bob_token).await.status().as_u16();
        let agent = app
            .get_agent("/api/v1/me", &bob_token)
            .await
            .status()
            .as_u16();
        match [me, get_token, fwd_access, fwd_token, agent]
            .into_iter()
            .all(refused)
        {
            true => Ok(()),
            false => Err(format!(
                "still let in after the store came back: me {me}, get-token {get_token}, \
                 forward-auth {fwd_access}/{fwd_token}, API token {agent}"
            )),
        }
    })
    .await;
    let r = app.refresh(&bob_refresh).await;
    assert!(
        refused(r.status().as_u16()),
        "refresh: {}",
        r.text().await.unwrap()
    );

    // The same call again is safe and now reports success.
    let again = app
        .send_json_auth(Method::PUT, &path, &admin_access, Some(&body))
        .await;
    assert_eq!(again.status(), 204, "{}", again.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_enabling_does_not_readmit_sessions_ended_while_the_store_was_down() {
    let Some(mut redis) = OwnedRedis::start_persistent() else {
        return;
    };
    // The background retry stays out of the way: the re-enabling itself must not let the
    // disabled sessions back in.
    let Some(a) = app_without_background_retry(&redis).await else {
        return;
    };
    let b = a.sibling().await;
    let (admin, member) = org_with_member(&a, "ann@example.com", "bob@example.com").await;
    let bob = user_id(&member);
    let bob_access = access(&member);
    for app in [&a, &b] {
        assert_access_works(app, &bob_access, "before").await;
    }

    let path = format!("/api/v1/admin/users/{bob}/disabled");
    let (admin_access, body) = (access(&admin), json!({"disabled": true}));
    let disable = a.send_json_auth(Method::PUT, &path, &admin_access, Some(&body));
    let r = with_store_cut_mid_call(&a, &mut redis, &bob, disable).await;
    expect_committed_503(r, "disable with the store down").await;

    // Redis comes back with what it held: bob's session is not in its (complete) list.
    redis.restart();
    let r = a
        .send_json_auth(
            Method::PUT,
            &path,
            &admin_access,
            Some(&json!({"disabled": false})),
        )
        .await;
    assert_eq!(r.status(), 204, "re-enable: {}", r.text().await.unwrap());
    for (i, app) in [&a, &b].into_iter().enumerate() {
        let what = format!("instance {i}: an access token of a session the disabling ended");
        assert_access_refused(app, &bob_access, &what).await;
    }
    // Bob signs in again as usual.
    let r = a.login("bob@example.com", crate::helpers::PASSWORD).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_removal_finishes_the_one_saved_while_the_store_was_down() {
    let Some(mut redis) = OwnedRedis::start_persistent() else {
        return;
    };
    // The background retry stays out of the way: the retried call itself must finish the job.
    let Some(app) = app_without_background_retry(&redis).await else {
        return;
    };
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let bob = user_id(&member);
    let bob_key = signup_key(&member);
    let bob_token = auth_token(&app, &bob_key).await;
    assert_agent_works(&app, &bob_token, "API token before").await;

    let path = format!("/api/v1/admin/users/{bob}");
    let admin_access = access(&admin);
    let remove = app.send_json_auth(Method::DELETE, &path, &admin_access, None);
    let r = with_store_cut_mid_call(&app, &mut redis, &bob, remove).await;
    expect_committed_503(r, "removal with the store down").await;
    redis.restart();

    // Not a misleading 404: the retry finishes the saved removal and says so.
    let r = app
        .send_json_auth(Method::DELETE, &path, &admin_access, None)
        .await;
    assert_eq!(r.status(), 204, "retry: {}", r.text().await.unwrap());
    let (status, body) = app.get_token(&bob_key).await;
    assert_eq!(status, 401, "the removed user's key: {body}");
    let r = app.get_agent("/api/v1/me", &bob_token).await;
    assert_eq!(r.status(), 401, "the removed user's API token");
    // Once in effect, the user is simply gone.
    let r = app
        .send_json_auth(Method::DELETE, &path, &admin_access, None)
        .await;
    assert_eq!(r.status(), 404);
}
