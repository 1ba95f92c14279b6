//! API-key scenarios: `/get-token`, forward-auth with an auth token, the token store's memory
//! per live token, and validation latency as the number of live tokens grows.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::api::{Api, bearer};
use crate::scenarios::Ctx;
use crate::stats::{ScenarioResult, TaskStats, Window};

/// Creates an API key for the bench user; returns the key.
pub async fn create_key(ctx: &Ctx, name: &str) -> anyhow::Result<String> {
    let resp = ctx
        .api
        .client()
        .post(ctx.api.url("/api/v1/api-keys"))
        .header(reqwest::header::AUTHORIZATION, bearer(&ctx.access_token))
        .json(&json!({ "name": name }))
        .send()
        .await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    if !status.is_success() {
        bail!("creating an API key answered {status}: {body}");
    }
    Ok(body["key"]
        .as_str()
        .context("no key in the answer")?
        .to_owned())
}

/// Exchanges a key for its auth token.
pub async fn auth_token(api: &Api, key: &str) -> anyhow::Result<String> {
    let resp = api
        .client()
        .post(api.url("/get-token"))
        .json(&json!({ "api_key": key }))
        .send()
        .await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    if !status.is_success() {
        bail!("/get-token answered {status}: {body}");
    }
    Ok(body["data"]["auth_token"]
        .as_str()
        .context("no auth_token in the answer")?
        .to_owned())
}

pub(crate) async fn run(
    ctx: &Ctx,
    name: &str,
    n: usize,
    dur: Duration,
    make: impl Fn(&Api) -> reqwest::RequestBuilder + Send + Sync + 'static,
) -> ScenarioResult {
    let w = Window::new(ctx.warmup, dur);
    eprintln!(
        "» {name}: {n} tasks, {:.1?} (+{:.1?} warm-up)",
        dur, ctx.warmup
    );
    let make = Arc::new(make);
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (api, make) = (ctx.api.clone(), make.clone());
            tokio::spawn(async move {
                let mut st = TaskStats::default();
                while let Some(t0) = w.next() {
                    let out = api.send(make(&api)).await;
                    st.record(&w, t0, out);
                    out.pace().await;
                }
                st
            })
        })
        .collect();
    let mut total = TaskStats::default();
    for h in handles {
        if let Ok(s) = h.await {
            total.merge(s);
        }
    }
    ScenarioResult::new(name, n, &w, total)
}

/// `POST /get-token` with one key in a loop: the same live token comes back each time.
pub async fn get_token(ctx: &Ctx, key: &str, n: usize, dur: Duration) -> ScenarioResult {
    let body = json!({ "api_key": key });
    run(ctx, "get-token", n, dur, move |api| {
        api.client().post(api.url("/get-token")).json(&body)
    })
    .await
}

/// Forward-auth with an auth token (`x-authorization: Agent …`) for `GET <uri>`. The server's
/// policy must allow that URI (see the README: a rule with `scopes = []`).
pub async fn forward_auth(
    ctx: &Ctx,
    name: &str,
    token: &str,
    uri: &str,
    n: usize,
    dur: Duration,
) -> ScenarioResult {
    let (agent, uri) = (format!("Agent {token}"), uri.to_owned());
    run(ctx, name, n, dur, move |api| {
        api.client()
            .get(api.url("/api/v1/authorize"))
            .header("x-authorization", agent.clone())
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-uri", uri.clone())
    })
    .await
}

async fn redis_conn(url: &str) -> anyhow::Result<redis::aio::MultiplexedConnection> {
    redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await
        .with_context(|| format!("cannot reach Redis at {url}"))
}

/// Memory of the token store per live token, measured on Redis itself: `count` keys get a
/// token each; reports the average `MEMORY USAGE` of a token entry and the growth of
/// `used_memory` per key-and-token.
pub async fn token_memory(
    ctx: &Ctx,
    redis_url: &str,
    prefix: &str,
    count: usize,
) -> anyhow::Result<(f64, f64)> {
    let mut conn = redis_conn(redis_url).await?;
    let used = |info: String| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    eprintln!("» token-memory: minting {count} tokens from {count} keys…");
    let before = used(
        redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut conn)
            .await?,
    );
    let mut keys = Vec::with_capacity(count);
    for i in 0..count {
        keys.push(create_key(ctx, &format!("bench-mem-{i}")).await?);
    }
    for key in &keys {
        auth_token(&ctx.api, key).await?;
    }
    let after = used(
        redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut conn)
            .await?,
    );
    // Average MEMORY USAGE over the token entries of the keys just made.
    let mut total = 0u64;
    let mut seen = 0u64;
    for key in keys.iter().take(1000) {
        let id = key
            .strip_prefix("lk_")
            .and_then(|r| r.split('_').next())
            .context("unexpected key shape")?;
        let bytes: Option<u64> = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(format!("{prefix}{{{id}}}:tok"))
            .arg("SAMPLES")
            .arg(0)
            .query_async(&mut conn)
            .await?;
        if let Some(b) = bytes {
            total += b;
            seen += 1;
        }
    }
    if seen == 0 {
        bail!(
            "no token entries under prefix {prefix:?}: is the server using this Redis and --redis-prefix?"
        );
    }
    Ok((
        total as f64 / seen as f64,
        after.saturating_sub(before) as f64 / count as f64,
    ))
}

/// Fills Redis with `count` token entries shaped like the server's (one hash per key id,
/// under the same prefix) so validation can be measured against a large keyspace; returns the
/// filler's key pattern for `drop_filler`.
pub async fn fill(redis_url: &str, prefix: &str, count: usize) -> anyhow::Result<String> {
    let mut conn = redis_conn(redis_url).await?;
    let tag = format!("{prefix}{{fill");
    let entry = "x".repeat(43) + "|" + &"y".repeat(140);
    eprintln!("» filling Redis with {count} synthetic live tokens…");
    let mut i = 0;
    while i < count {
        let mut pipe = redis::pipe();
        for j in i..(i + 10_000).min(count) {
            let key = format!("{tag}{j:010}}}:tok");
            pipe.cmd("HSET").arg(&key).arg("0").arg(&entry).ignore();
            pipe.cmd("EXPIRE").arg(&key).arg(3600).ignore();
        }
        pipe.query_async::<()>(&mut conn).await?;
        i += 10_000;
    }
    Ok(format!("{tag}*"))
}

pub async fn drop_filler(redis_url: &str, pattern: &str) -> anyhow::Result<()> {
    let mut conn = redis_conn(redis_url).await?;
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(10_000)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            redis::cmd("UNLINK")
                .arg(&keys)
                .query_async::<()>(&mut conn)
                .await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}
