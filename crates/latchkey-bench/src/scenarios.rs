//! The load loops: N tokio tasks, each looping request → response until the window closes.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinHandle;

use crate::api::{Api, Creds, Tokens, bearer};
use crate::stats::{Outcome, ScenarioResult, TaskStats, Window};

const SETUP_LOGINS_IN_FLIGHT: usize = 4;

/// What every scenario needs: the client, the bench user, and the timing.
#[derive(Clone)]
pub struct Ctx {
    pub api: Arc<Api>,
    pub creds: Arc<Creds>,
    /// The setup user's access token.
    pub access_token: Arc<str>,
    pub warmup: Duration,
}

async fn gather(handles: Vec<JoinHandle<TaskStats>>) -> TaskStats {
    let mut total = TaskStats::default();
    for h in handles {
        match h.await {
            Ok(stats) => total.merge(stats),
            Err(e) => eprintln!("warning: a load task failed: {e}"),
        }
    }
    total
}

fn announce(name: &str, concurrency: usize, window: &Window, warmup: Duration) {
    eprintln!(
        "» {name}: {concurrency} tasks, {:.1}s (+{:.1}s warm-up)",
        window.measured().as_secs_f64(),
        warmup.as_secs_f64()
    );
}

/// `GET /healthz` in a loop.
pub async fn bare(
    api: &Arc<Api>,
    name: &str,
    n: usize,
    warmup: Duration,
    dur: Duration,
) -> ScenarioResult {
    let w = Window::new(warmup, dur);
    announce(name, n, &w, warmup);
    let handles = (0..n)
        .map(|_| tokio::spawn(bare_task(api.clone(), w)))
        .collect();
    ScenarioResult::new(name, n, &w, gather(handles).await)
}

async fn bare_task(api: Arc<Api>, w: Window) -> TaskStats {
    let mut st = TaskStats::default();
    while let Some(t0) = w.next() {
        let out = api.healthz().await;
        st.record(&w, t0, out);
        out.pace().await;
    }
    st
}

/// `GET /api/v1/me` with the setup user's token, in a loop.
pub async fn me(ctx: &Ctx, name: &str, n: usize, dur: Duration) -> ScenarioResult {
    me_paced(ctx, name, n, dur, None).await
}

/// `/api/v1/me` where each task waits `pause` between requests: a latency probe that measures
/// how the server answers without itself taking the CPU it measures.
pub async fn me_paced(
    ctx: &Ctx,
    name: &str,
    n: usize,
    dur: Duration,
    pause: Option<Duration>,
) -> ScenarioResult {
    let w = Window::new(ctx.warmup, dur);
    announce(name, n, &w, ctx.warmup);
    let handles = me_tasks(ctx, n, w, pause);
    ScenarioResult::new(name, n, &w, gather(handles).await)
}

fn me_tasks(ctx: &Ctx, n: usize, w: Window, pause: Option<Duration>) -> Vec<JoinHandle<TaskStats>> {
    (0..n)
        .map(|_| tokio::spawn(me_task(ctx.clone(), w, pause)))
        .collect()
}

async fn me_task(ctx: Ctx, w: Window, pause: Option<Duration>) -> TaskStats {
    let mut st = TaskStats::default();
    let mut auth = bearer(&ctx.access_token);
    let mut relogged = false;
    while let Some(t0) = w.next() {
        let out = ctx.api.me(&auth).await;
        st.record(&w, t0, out);
        if out == Outcome::Status(401) && !relogged {
            // The access token expired (or was revoked): log in once for a new one.
            relogged = true;
            if let (_, Some(t)) = ctx.api.login(&ctx.creds).await {
                auth = bearer(&t.access_token);
            }
        }
        out.pace().await;
        if let Some(p) = pause {
            tokio::time::sleep(p).await;
        }
    }
    st
}

/// Each task logs in (its own session), then rotates its refresh token in a loop.
pub async fn refresh(ctx: &Ctx, n: usize, dur: Duration) -> anyhow::Result<ScenarioResult> {
    eprintln!("  logging in {n} sessions for refresh…");
    // The server rate-limits logins *in flight* per account (10 by default): a few at a time.
    let mut tokens = Vec::with_capacity(n);
    while tokens.len() < n {
        let batch = (n - tokens.len()).min(SETUP_LOGINS_IN_FLIGHT);
        let logins: Vec<_> = (0..batch)
            .map(|_| {
                let ctx = ctx.clone();
                tokio::spawn(async move { ctx.api.login_checked(&ctx.creds).await })
            })
            .collect();
        for h in logins {
            let t = h.await??;
            tokens.push(t.refresh_token.context("login answered no refresh_token")?);
        }
    }
    let w = Window::new(ctx.warmup, dur);
    announce("refresh", n, &w, ctx.warmup);
    let handles = tokens
        .into_iter()
        .map(|token| tokio::spawn(refresh_task(ctx.clone(), token, w)))
        .collect();
    Ok(ScenarioResult::new("refresh", n, &w, gather(handles).await))
}

async fn refresh_task(ctx: Ctx, mut token: String, w: Window) -> TaskStats {
    let mut st = TaskStats::default();
    while let Some(t0) = w.next() {
        let (out, body) = ctx.api.refresh(&token).await;
        st.record(&w, t0, out);
        match body.and_then(|t| t.refresh_token) {
            Some(next) => token = next,
            // A lenient refresh keeps the refresh token.
            None if out.is_ok() => {}
            // The session is likely gone (e.g. a lost response consumed the token): start anew.
            None => {
                if let (
                    _,
                    Some(Tokens {
                        refresh_token: Some(r),
                        ..
                    }),
                ) = ctx.api.login(&ctx.creds).await
                {
                    token = r;
                }
            }
        }
        out.pace().await;
    }
    st
}

/// `POST /api/v1/auth/login` with the right password, in a loop.
pub async fn login(ctx: &Ctx, name: &str, n: usize, dur: Duration) -> ScenarioResult {
    let w = Window::new(ctx.warmup, dur);
    announce(name, n, &w, ctx.warmup);
    let handles = login_tasks(ctx, n, w);
    ScenarioResult::new(name, n, &w, gather(handles).await)
}

fn login_tasks(ctx: &Ctx, n: usize, w: Window) -> Vec<JoinHandle<TaskStats>> {
    (0..n)
        .map(|_| tokio::spawn(login_task(ctx.clone(), w)))
        .collect()
}

async fn login_task(ctx: Ctx, w: Window) -> TaskStats {
    let mut st = TaskStats::default();
    while let Some(t0) = w.next() {
        let (out, _) = ctx.api.login(&ctx.creds).await;
        st.record(&w, t0, out);
        out.pace().await;
    }
    st
}

/// Login load at `n` tasks and, in the same window, `me_n` paced probes on `/api/v1/me`.
pub async fn login_mixed(
    ctx: &Ctx,
    n: usize,
    me_n: usize,
    dur: Duration,
    pause: Duration,
) -> (ScenarioResult, ScenarioResult) {
    let w = Window::new(ctx.warmup, dur);
    announce(
        &format!("login-mixed ({n} login + {me_n} /me)"),
        n + me_n,
        &w,
        ctx.warmup,
    );
    let logins = login_tasks(ctx, n, w);
    let mes = me_tasks(ctx, me_n, w, Some(pause));
    let (logins, mes) = tokio::join!(gather(logins), gather(mes));
    (
        ScenarioResult::new("login-mixed/login", n, &w, logins),
        ScenarioResult::new("login-mixed/me", me_n, &w, mes),
    )
}
