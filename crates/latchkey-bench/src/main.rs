//! `latchkey-bench`: drives a running Latchkey server at fixed concurrency for a fixed time per
//! scenario and prints req/s and latency percentiles, then a summary against the targets.

mod api;
mod keys;
mod oauth;
mod report;
mod scenarios;
mod stats;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use clap::{Parser, ValueEnum};

use crate::api::{Api, Creds};
use crate::report::{Findings, HashBound, MixedP99, Printer};
use crate::scenarios::Ctx;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
enum Scenario {
    Bare,
    Me,
    Refresh,
    Login,
    LoginMixed,
    /// `/get-token` with one key in a loop.
    GetToken,
    /// `/api/v1/authorize` with an auth token (the policy must allow --forward-uri).
    ForwardAuth,
    /// Redis bytes per live token (needs --redis-url).
    TokenMemory,
    /// forward-auth latency with few vs --scale-tokens live tokens (needs --redis-url).
    TokenScale,
    /// `/oauth2/token` with `grant_type=client_credentials` (an API key as the client).
    ClientCredentials,
    /// `/oauth2/introspect` of the bench user's access token by an API key.
    Introspect,
}

#[derive(Debug, Parser)]
#[command(name = "latchkey-bench", version, about)]
struct Args {
    /// Base URL of the running server.
    #[arg(
        long,
        env = "LATCHKEY_BENCH_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    url: String,
    /// Load tasks per scenario (each loops request → response).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Measured time per scenario, e.g. 10s, 500ms, 1m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured warm-up before each scenario.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Scenarios to run (always in the order bare, me, refresh, login, login-mixed).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "bare,me,refresh,login,login-mixed"
    )]
    scenarios: Vec<Scenario>,
    /// One JSON object per line instead of the table.
    #[arg(long)]
    json: bool,
    /// Seconds one password hash takes on the server; estimated from login latency if absent.
    #[arg(long)]
    hash_seconds: Option<f64>,
    /// CPU cores of the server machine (default: this machine's available parallelism).
    #[arg(long)]
    server_cores: Option<usize>,
    /// Pause of each /me probe between requests in login-mixed (and its idle reference).
    #[arg(long, value_parser = parse_duration, default_value = "5ms")]
    mixed_me_pause: Duration,
    /// The URI forward-auth scenarios ask about; the server's policy must allow it.
    #[arg(long, default_value = "/bench/item")]
    forward_uri: String,
    /// The server's Redis, for token-memory and token-scale.
    #[arg(long, env = "LATCHKEY_BENCH_REDIS_URL")]
    redis_url: Option<String>,
    /// The server's Redis key prefix (LATCHKEY_REDIS_PREFIX).
    #[arg(long, default_value = "lk:")]
    redis_prefix: String,
    /// Keys (each with a live token) minted by token-memory.
    #[arg(long, default_value_t = 2000)]
    memory_tokens: usize,
    /// Synthetic live tokens added to Redis by token-scale (removed afterwards).
    #[arg(long, default_value_t = 1_000_000)]
    scale_tokens: usize,
    /// Rounds of alternating 1 s slices (bare, then the route) behind the paired ratios: both
    /// sides then see the same machine, whose speed here drifts by tens of percent.
    #[arg(long, default_value_t = 5)]
    paired_rounds: usize,
    /// /api/v1/me tasks running beside the login load in login-mixed.
    #[arg(long, default_value_t = 4)]
    mixed_me_tasks: usize,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
    /// Use this existing user instead of signing up a new one (sign-ups are rate limited).
    #[arg(long, env = "LATCHKEY_BENCH_EMAIL", requires = "password")]
    email: Option<String>,
    #[arg(
        long,
        env = "LATCHKEY_BENCH_PASSWORD",
        requires = "email",
        hide_env_values = true
    )]
    password: Option<String>,
}

/// `10s`, `1.5s`, `250ms`, `2m`, or a bare number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1e3,
        "m" | "min" => n * 60.0,
        other => return Err(format!("unknown unit {other:?} in {s:?} (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

/// Alternating 1 s slices of the bare route and of `route`, `rounds` times: the mean req/s of
/// each, measured under the same conditions.
async fn paired<F, Fut>(api: &Arc<Api>, n: usize, rounds: usize, route: F) -> (f64, f64)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = stats::ScenarioResult>,
{
    let (mut bare, mut other) = (0.0, 0.0);
    for _ in 0..rounds.max(1) {
        let slice = Duration::from_secs(1);
        bare += scenarios::bare(api, "bare (paired)", n, Duration::from_millis(100), slice)
            .await
            .rps;
        other += route().await.rps;
    }
    (bare / rounds.max(1) as f64, other / rounds.max(1) as f64)
}

/// The one bench user of this run: signed up, or logged in with `--email`/`--password`.
async fn setup_user(api: &Arc<Api>, args: &Args) -> anyhow::Result<Ctx> {
    let (creds, tokens) = match (&args.email, &args.password) {
        (Some(email), Some(password)) => {
            let creds = Creds {
                email: email.clone(),
                password: password.clone(),
            };
            let tokens = api.login_checked(&creds).await?;
            eprintln!("logged in bench user {}", creds.email);
            (creds, tokens)
        }
        _ => {
            let creds = Creds::generate();
            let tokens = api.signup(&creds).await?;
            eprintln!("signed up bench user {}", creds.email);
            (creds, tokens)
        }
    };
    Ok(Ctx {
        api: api.clone(),
        creds: Arc::new(creds),
        access_token: tokens.access_token.into(),
        warmup: args.warmup,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.concurrency >= 1, "--concurrency must be at least 1");
    ensure!(!args.duration.is_zero(), "--duration must be positive");
    ensure!(
        args.hash_seconds.is_none_or(|s| s > 0.0),
        "--hash-seconds must be positive"
    );
    let mut scenarios = args.scenarios.clone();
    scenarios.sort();
    scenarios.dedup();

    let (n, me_n, dur, warmup) = (
        args.concurrency,
        args.mixed_me_tasks.max(1),
        args.duration,
        args.warmup,
    );
    let api = Arc::new(Api::new(&args.url, n + me_n + 4, args.timeout)?);
    api.check_up().await?;
    let ctx = match scenarios.iter().any(|s| *s != Scenario::Bare) {
        true => Some(setup_user(&api, &args).await?),
        false => None,
    };
    let cores = args
        .server_cores
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |c| c.get()));

    let out = Printer::new(args.json);
    out.header();
    let mut f = Findings::default();
    for s in &scenarios {
        let ctx = ctx.as_ref();
        match (s, ctx) {
            (Scenario::Bare, _) => {
                let r = scenarios::bare(&api, "bare", n, warmup, dur).await;
                out.row(&r);
                f.bare_rps = Some(r.rps);
            }
            (Scenario::Me, Some(ctx)) => {
                let r = scenarios::me(ctx, "me", n, dur).await;
                out.row(&r);
                f.me_rps = Some(r.rps);
                let quick = Ctx {
                    warmup: Duration::from_millis(100),
                    ..ctx.clone()
                };
                f.me_paired = Some(
                    paired(&api, n, args.paired_rounds, || {
                        scenarios::me(&quick, "me (paired)", n, Duration::from_secs(1))
                    })
                    .await,
                );
            }
            (Scenario::Refresh, Some(ctx)) => {
                let r = scenarios::refresh(ctx, n, dur).await?;
                out.row(&r);
                f.refresh_rps = Some(r.rps);
            }
            (Scenario::Login, Some(ctx)) => {
                let seconds = match args.hash_seconds {
                    Some(s) => s,
                    None => {
                        let r =
                            scenarios::login(ctx, "login-serial", 1, Duration::from_secs(3)).await;
                        out.row(&r);
                        r.mean_us as f64 / 1e6
                    }
                };
                f.hash = Some(HashBound {
                    seconds,
                    estimated: args.hash_seconds.is_none(),
                    cores,
                });
                let r = scenarios::login(ctx, "login", n, dur).await;
                out.row(&r);
                f.login_rps = Some(r.rps);
            }
            (Scenario::LoginMixed, Some(ctx)) => {
                // The idle reference runs the very same paced probes without the login load:
                // a flat-out /me loop would measure its own queueing, and take the CPU the
                // logins need.
                let pause = args.mixed_me_pause;
                let idle_dur = dur.min(Duration::from_secs(5));
                let r = scenarios::me_paced(ctx, "me-idle", me_n, idle_dur, Some(pause)).await;
                out.row(&r);
                let idle_us = r.p99_us;
                let (login, me) = scenarios::login_mixed(ctx, n, me_n, dur, pause).await;
                out.row(&login);
                out.row(&me);
                f.mixed = Some(MixedP99 {
                    loaded_us: me.p99_us,
                    idle_us,
                    tasks: me_n,
                });
            }
            (Scenario::ClientCredentials, Some(ctx)) => {
                let key = keys::create_key(ctx, "bench-client-credentials").await?;
                out.row(&oauth::client_credentials(ctx, &key, n, dur).await?);
            }
            (Scenario::Introspect, Some(ctx)) => {
                let key = keys::create_key(ctx, "bench-introspect").await?;
                out.row(&oauth::introspect(ctx, &key, n, dur).await?);
            }
            (Scenario::GetToken, Some(ctx)) => {
                let key = keys::create_key(ctx, "bench-get-token").await?;
                let r = keys::get_token(ctx, &key, n, dur).await;
                out.row(&r);
                f.get_token_rps = Some(r.rps);
            }
            (Scenario::ForwardAuth, Some(ctx)) => {
                let key = keys::create_key(ctx, "bench-forward-auth").await?;
                let token = keys::auth_token(&ctx.api, &key).await?;
                let r = keys::forward_auth(ctx, "forward-auth", &token, &args.forward_uri, n, dur)
                    .await;
                out.row(&r);
                f.forward_auth_rps = Some(r.rps);
                let quick = Ctx {
                    warmup: Duration::from_millis(100),
                    ..ctx.clone()
                };
                let uri = args.forward_uri.clone();
                f.forward_auth_paired = Some(
                    paired(&api, n, args.paired_rounds, || {
                        let name = "forward-auth (paired)";
                        keys::forward_auth(&quick, name, &token, &uri, n, Duration::from_secs(1))
                    })
                    .await,
                );
            }
            (Scenario::TokenMemory, Some(ctx)) => {
                let url = args
                    .redis_url
                    .as_deref()
                    .context("token-memory needs --redis-url")?;
                f.token_bytes = Some(
                    keys::token_memory(ctx, url, &args.redis_prefix, args.memory_tokens).await?,
                );
            }
            (Scenario::TokenScale, Some(ctx)) => {
                let url = args
                    .redis_url
                    .as_deref()
                    .context("token-scale needs --redis-url")?;
                let key = keys::create_key(ctx, "bench-scale").await?;
                let token = keys::auth_token(&ctx.api, &key).await?;
                let probe = |name: &'static str| {
                    keys::forward_auth(ctx, name, &token, &args.forward_uri, n, dur)
                };
                let few = probe("forward-auth/few").await;
                out.row(&few);
                let pattern = keys::fill(url, &args.redis_prefix, args.scale_tokens).await?;
                let many = probe("forward-auth/many").await;
                out.row(&many);
                keys::drop_filler(url, &pattern).await?;
                f.scale_p99 = Some((few.p99_us, many.p99_us, args.scale_tokens));
            }
            (_, None) => unreachable!("a user is set up for every scenario but bare"),
        }
    }
    if scenarios.contains(&Scenario::Bare) {
        // Same load again at the end: the difference is the machine's noise.
        let r = scenarios::bare(&api, "bare-end", n, warmup, dur).await;
        out.row(&r);
        f.bare_end_rps = Some(r.rps);
    }
    report::summary(&f, &out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("3h").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn args_parse() {
        let a = Args::parse_from(["b", "--scenarios", "login-mixed,bare", "--duration", "3s"]);
        assert_eq!(a.scenarios, vec![Scenario::LoginMixed, Scenario::Bare]);
        assert_eq!(a.duration, Duration::from_secs(3));
    }
}
