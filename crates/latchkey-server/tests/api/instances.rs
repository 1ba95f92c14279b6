//! Two real `latchkey serve` processes over one PostgreSQL schema and one Redis prefix, as a
//! load balancer would see them: whatever one instance issues the other accepts, and whatever
//! one revokes the other refuses on the very next request. Skipped when PostgreSQL or Redis is
//! unreachable outside CI.

use reqwest::{Client, Response};
use serde_json::{Value, json};

use crate::helpers::api_keys::{expect_error, expect_json, expect_status};
use crate::helpers::forward_auth::{
    Decision, allowed, decision_of, orders_policy_file, refused, with_token,
};
use crate::helpers::process::Proc;
use crate::helpers::{PASSWORD, TEST_SCOPES, fresh_pg_schema, redis_url, s, unique_prefix};

/// A `latchkey serve` process (killed when dropped, also when a test fails), with the settings
/// every instance here shares on top of the process defaults.
type Server = Proc;

async fn start_instance(shared: &[(&str, String)]) -> Server {
    let scopes = TEST_SCOPES.join(" ");
    let mut env: Vec<(&str, &str)> = vec![
        ("LATCHKEY_LOG_LEVEL", "warn"),
        ("LATCHKEY_SCOPES", &scopes),
        ("LATCHKEY_ADMIN_GRANTABLE_SCOPES", &scopes),
    ];
    env.extend(shared.iter().map(|(name, value)| (*name, value.as_str())));
    Proc::start(&env).await
}

/// Two instances over a fresh schema and a fresh Redis prefix, started one after the other (as
/// a rolling deploy does); `None` (skip) when PostgreSQL or Redis is unreachable outside CI.
async fn two_instances() -> Option<(Server, Server)> {
    let redis = redis_url()?;
    let database = fresh_pg_schema().await?;
    let shared = [
        ("LATCHKEY_DATABASE_URL", database),
        ("LATCHKEY_REDIS_URL", redis),
        ("LATCHKEY_REDIS_PREFIX", unique_prefix()),
        (
            "LATCHKEY_POLICY_FILE",
            orders_policy_file().display().to_string(),
        ),
    ];
    let a = start_instance(&shared).await;
    let b = start_instance(&shared).await;
    Some((a, b))
}

fn client() -> Client {
    Client::builder()
        .user_agent("latchkey-tests")
        .build()
        .unwrap()
}

async fn post(client: &Client, server: &Server, path: &str, body: Value) -> Response {
    client
        .post(server.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn post_auth(
    client: &Client,
    server: &Server,
    path: &str,
    token: &str,
    body: Value,
) -> Response {
    client
        .post(server.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn me_bearer(client: &Client, server: &Server, token: &str) -> Response {
    client
        .get(server.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn me_agent(client: &Client, server: &Server, token: &str) -> Response {
    client
        .get(server.url("/api/v1/me"))
        .header("x-authorization", format!("Agent {token}"))
        .send()
        .await
        .unwrap()
}

/// Forward-auth on `server` for `method uri` (the `ORDERS_POLICY` rules).
async fn decide(
    client: &Client,
    server: &Server,
    token: &str,
    method: &str,
    uri: &str,
) -> Decision {
    let req = client
        .get(server.url("/api/v1/authorize"))
        .header("x-forwarded-method", method)
        .header("x-forwarded-uri", uri);
    decision_of(with_token(req, token).send().await.unwrap()).await
}

async fn get_token(client: &Client, server: &Server, key: &str) -> String {
    let r = post(client, server, "/get-token", json!({"api_key": key})).await;
    let body = expect_json(r, 200, "get-token").await;
    s(&body["data"], "auth_token")
}

async fn signup(client: &Client, server: &Server, email: &str) -> Value {
    let r = post(
        client,
        server,
        "/api/v1/auth/signup",
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    expect_json(r, 201, "signup").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_issued_by_one_server_process_work_on_another() {
    let client = client();
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let grant = signup(&client, &a, "ann@example.com").await;
    let key = s(&grant["api_key"], "key");

    let token = get_token(&client, &a, &key).await;
    let me = expect_json(
        me_agent(&client, &b, &token).await,
        200,
        "A's auth token on B",
    )
    .await;
    assert_eq!(me["email"], "ann@example.com");
    assert_eq!(
        get_token(&client, &b, &key).await,
        token,
        "B hands back the token A minted"
    );

    let access = s(&grant, "access_token");
    expect_status(
        me_bearer(&client, &b, &access).await,
        200,
        "A's access token on B",
    )
    .await;

    let r = post(
        &client,
        &a,
        "/api/v1/auth/refresh",
        json!({"refresh_token": s(&grant, "refresh_token")}),
    )
    .await;
    let second = expect_json(r, 200, "refresh on A").await;
    let r = post(
        &client,
        &b,
        "/api/v1/auth/refresh",
        json!({"refresh_token": s(&second, "refresh_token")}),
    )
    .await;
    let third = expect_json(r, 200, "the refresh token A rotated, used on B").await;
    assert_eq!(third["session_id"], grant["session_id"]);
    let r = me_bearer(&client, &a, &s(&third, "access_token")).await;
    expect_status(r, 200, "B's access token on A").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_server_process_revokes_the_other_refuses_at_once() {
    let client = client();
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let grant = signup(&client, &a, "ann@example.com").await;
    let access = s(&grant, "access_token");
    let key = s(&grant["api_key"], "key");
    let kid = s(&grant["api_key"], "id");
    let token = get_token(&client, &a, &key).await;
    // B has served both tokens before the change.
    for t in [&token, &access] {
        assert_eq!(
            decide(&client, &b, t, "GET", "/orders/42").await,
            refused(403, "insufficient_scope"),
            "on B, before the grant"
        );
    }

    // Scopes granted on A: B applies them to the live auth token and access token at once.
    let r = client
        .put(a.url(&format!(
            "/api/v1/admin/users/{}/scopes",
            s(&grant["user"], "user_id")
        )))
        .bearer_auth(&access)
        .json(&json!({"scopes": ["orders:read"]}))
        .send()
        .await
        .unwrap();
    expect_status(r, 200, "set scopes on A").await;
    for t in [&token, &access] {
        assert_eq!(
            decide(&client, &b, t, "GET", "/orders/42").await,
            allowed(&["orders:read"]),
            "on B, right after A granted orders:read"
        );
    }
    let me = expect_json(me_agent(&client, &b, &token).await, 200, "on B").await;
    assert_eq!(
        me["scopes"],
        json!(["orders:read"]),
        "B sees A's change at once"
    );

    // The key rotated on A: its old token is refused on B at once.
    let r = post_auth(
        &client,
        &a,
        &format!("/api/v1/api-keys/{kid}/rotate"),
        &access,
        json!({}),
    )
    .await;
    let rotated = expect_json(r, 200, "rotate on A").await;
    let r = me_agent(&client, &b, &token).await;
    expect_error(r, 401, "invalid_token", "the old auth token on B").await;
    let r = post(&client, &b, "/get-token", json!({"api_key": key})).await;
    expect_error(r, 401, "invalid_api_key", "the old key on B").await;
    let fresh = get_token(&client, &b, &s(&rotated, "key")).await;
    expect_status(
        me_agent(&client, &a, &fresh).await,
        200,
        "B's new token on A",
    )
    .await;

    // Logout on A: that access token is refused on B at once.
    expect_status(me_bearer(&client, &b, &access).await, 200, "before logout").await;
    let r = client
        .post(a.url("/api/v1/auth/logout"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    expect_status(r, 204, "logout on A").await;
    let r = me_bearer(&client, &b, &access).await;
    expect_error(r, 401, "invalid_token", "the logged-out access token on B").await;
    let r = post(
        &client,
        &b,
        "/api/v1/auth/refresh",
        json!({"refresh_token": s(&grant, "refresh_token")}),
    )
    .await;
    expect_error(r, 401, "invalid_token", "the logged-out refresh token on B").await;
}

/// Two `latchkey serve` processes over a fresh schema and a Redis of the test's own.
async fn two_instances_on(redis: &crate::helpers::OwnedRedis) -> Option<(Server, Server)> {
    let database = fresh_pg_schema().await?;
    let shared = [
        ("LATCHKEY_DATABASE_URL", database),
        ("LATCHKEY_REDIS_URL", redis.url()),
        ("LATCHKEY_REDIS_PREFIX", unique_prefix()),
        ("LATCHKEY_REDIS_TIMEOUT", "500ms".to_owned()),
    ];
    let a = start_instance(&shared).await;
    let b = start_instance(&shared).await;
    Some((a, b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_processes_keep_revocations_when_redis_restarts_and_answer_503_while_it_is_down() {
    let client = client();
    let Some(mut redis) = crate::helpers::OwnedRedis::start() else {
        return;
    };
    let Some((a, b)) = two_instances_on(&redis).await else {
        return;
    };
    let live = s(
        &signup(&client, &a, "ann@example.com").await,
        "access_token",
    );
    let r = post(
        &client,
        &b,
        "/api/v1/auth/login",
        json!({"email": "ann@example.com", "password": PASSWORD}),
    )
    .await;
    let ended = s(&expect_json(r, 200, "login").await, "access_token");
    let r = post_auth(&client, &b, "/api/v1/auth/logout", &ended, json!({})).await;
    expect_status(r, 204, "logout on B").await;

    redis.restart();
    for (name, server) in [("A", &a), ("B", &b)] {
        let r = me_bearer(&client, server, &ended).await;
        expect_error(r, 401, "invalid_token", &format!("logged out, on {name}")).await;
        let r = me_bearer(&client, server, &live).await;
        expect_status(r, 200, &format!("live, on {name}")).await;
    }

    redis.stop();
    for (name, server) in [("A", &a), ("B", &b)] {
        let r = me_bearer(&client, server, &live).await;
        expect_error(
            r,
            503,
            "service_unavailable",
            &format!("Redis down, {name}"),
        )
        .await;
    }
    redis.restart();
    for (name, server) in [("A", &a), ("B", &b)] {
        let r = me_bearer(&client, server, &live).await;
        expect_status(r, 200, &format!("Redis back, on {name}")).await;
        let r = me_bearer(&client, server, &ended).await;
        expect_error(r, 401, "invalid_token", &format!("Redis back, {name}")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_redis_that_may_evict() {
    let Some(redis) =
        crate::helpers::OwnedRedis::start_with(&["--maxmemory-policy", "allkeys-lru"])
    else {
        return;
    };
    let Some(database) = fresh_pg_schema().await else {
        return;
    };
    let (database, redis_url) = (database, redis.url());
    let mut server = Proc::spawn(&[
        ("LATCHKEY_DATABASE_URL", &database),
        ("LATCHKEY_REDIS_URL", &redis_url),
        ("LATCHKEY_REDIS_PREFIX", &unique_prefix()),
    ]);
    // Bounded: a server that starts anyway must fail the test, not hang it.
    let Some(status) = server.exit_status().await else {
        panic!("still running:\n{}", server.stderr());
    };
    let text = format!("{}{}", server.stdout(), server.stderr());
    assert!(!status.success(), "exited 0:\n{text}");
    assert!(
        text.contains("maxmemory-policy allkeys-lru")
            && text.contains("LATCHKEY_REDIS_ALLOW_EVICTION"),
        "{text}"
    );
}
