//! Output: the aligned table (or JSON lines) and the closing summary with targets.

use std::cell::Cell;

use serde::Serialize;
use serde_json::json;

use crate::stats::ScenarioResult;

/// Microseconds as a short human figure.
pub fn fmt_us(us: u64) -> String {
    match us {
        0..1_000 => format!("{us}µs"),
        1_000..1_000_000 => format!("{:.2}ms", us as f64 / 1e3),
        _ => format!("{:.2}s", us as f64 / 1e6),
    }
}

pub struct Printer {
    pub json: bool,
    /// Whether any row had a 429: the summary then says how to lift the login limits.
    saw_429: Cell<bool>,
}

impl Printer {
    pub fn new(json: bool) -> Self {
        Printer {
            json,
            saw_429: Cell::new(false),
        }
    }

    pub fn header(&self) {
        if !self.json {
            println!(
                "{:<18} {:>5} {:>9} {:>7} {:>10} {:>9} {:>9} {:>9} {:>9}",
                "scenario", "conc", "requests", "errors", "req/s", "p50", "p90", "p99", "max"
            );
        }
    }

    pub fn row(&self, r: &ScenarioResult) {
        if r.errors_by_status.contains_key("429") {
            self.saw_429.set(true);
        }
        if self.json {
            println!("{}", serde_json::to_string(r).expect("serializable"));
            return;
        }
        println!(
            "{:<18} {:>5} {:>9} {:>7} {:>10.1} {:>9} {:>9} {:>9} {:>9}",
            r.scenario,
            r.concurrency,
            r.requests,
            r.errors,
            r.rps,
            fmt_us(r.p50_us),
            fmt_us(r.p90_us),
            fmt_us(r.p99_us),
            fmt_us(r.max_us)
        );
        if !r.errors_by_status.is_empty() {
            let parts: Vec<String> = r
                .errors_by_status
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            println!("  └ errors by status: {}", parts.join(", "));
        }
    }
}

/// The seconds-per-hash figure behind the login bound.
#[derive(Debug, Clone, Copy)]
pub struct HashBound {
    pub seconds: f64,
    /// Estimated from login latency at concurrency 1 (else given by `--hash-seconds`).
    pub estimated: bool,
    pub cores: usize,
}

#[derive(Debug, Clone)]
pub struct MixedP99 {
    pub loaded_us: u64,
    pub idle_us: u64,
    pub tasks: usize,
}

/// Everything the summary compares, filled in as scenarios run.
#[derive(Debug, Default)]
pub struct Findings {
    pub bare_rps: Option<f64>,
    pub bare_end_rps: Option<f64>,
    pub me_rps: Option<f64>,
    pub refresh_rps: Option<f64>,
    pub hash: Option<HashBound>,
    pub login_rps: Option<f64>,
    pub mixed: Option<MixedP99>,
    pub forward_auth_rps: Option<f64>,
    /// (bare, /me) req/s from alternating slices
    pub me_paired: Option<(f64, f64)>,
    /// (bare, forward-auth) req/s from alternating slices
    pub forward_auth_paired: Option<(f64, f64)>,
    pub get_token_rps: Option<f64>,
    /// (average MEMORY USAGE of a token entry, used_memory growth per key and token)
    pub token_bytes: Option<(f64, f64)>,
    /// forward-auth p99 (µs) with few live tokens, and with the filler added
    pub scale_p99: Option<(u64, u64, usize)>,
}

#[derive(Debug, Serialize)]
struct Check {
    check: &'static str,
    value: f64,
    detail: String,
    target: String,
    pass: bool,
}

impl Check {
    fn new(check: &'static str, value: f64, detail: String, at_least: bool, target: f64) -> Self {
        let pass = value.is_finite()
            && if at_least {
                value >= target
            } else {
                value <= target
            };
        let op = if at_least { "≥" } else { "≤" };
        Check {
            check,
            value,
            detail,
            target: format!("{op} {target}"),
            pass,
        }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

const LIMITS_HINT: &str = "429s seen: the server limits logins in flight per account from one \
address (10), per account (50) and per IP (100); for benchmarking start it with \
LATCHKEY_LOGIN_LIMIT_PER_ACCOUNT=1000000 LATCHKEY_LOGIN_LIMIT_PER_ACCOUNT_IP=1000000 \
LATCHKEY_LOGIN_LIMIT_PER_IP=1000000";

pub fn summary(f: &Findings, out: &Printer) {
    let json = out.json;
    let noise = match (f.bare_rps, f.bare_end_rps) {
        (Some(a), Some(b)) => Some(ratio(b - a, a) * 100.0),
        _ => None,
    };
    let mut checks = Vec::new();
    let mut notes = Vec::new();
    if out.saw_429.get() {
        notes.push(LIMITS_HINT.to_string());
    }
    if let Some((bare, me)) = f.me_paired {
        let detail = format!("{me:.0} / {bare:.0} req/s, alternating 1 s slices");
        checks.push(Check::new(
            "me/bare paired",
            ratio(me, bare),
            detail,
            true,
            0.7,
        ));
    }
    if let Some((bare, fa)) = f.forward_auth_paired {
        let detail = format!("{fa:.0} / {bare:.0} req/s, alternating 1 s slices");
        checks.push(Check::new(
            "fwd-auth/bare paired",
            ratio(fa, bare),
            detail,
            true,
            0.5,
        ));
    }
    if let (Some(me), Some(bare)) = (f.me_rps, f.bare_rps) {
        let detail = format!("{me:.0} / {bare:.0} req/s");
        checks.push(Check::new(
            "me/bare ratio",
            ratio(me, bare),
            detail,
            true,
            0.7,
        ));
    }
    if let Some(r) = f.refresh_rps {
        checks.push(Check::new(
            "refresh req/s",
            r,
            "rotating refresh tokens".into(),
            true,
            3000.0,
        ));
    }
    let bound = f.hash.map(|h| h.cores as f64 / h.seconds);
    if let Some(h) = f.hash {
        let how = if h.estimated {
            "estimated: mean login latency at concurrency 1, includes HTTP overhead"
        } else {
            "from --hash-seconds"
        };
        notes.push(format!("seconds per hash: {:.4} s ({how})", h.seconds));
        let b = bound.unwrap_or(f64::NAN);
        notes.push(format!(
            "login bound: {b:.1} req/s ({} server cores / {:.4} s)",
            h.cores, h.seconds
        ));
    }
    if let (Some(login), Some(b)) = (f.login_rps, bound) {
        let detail = format!("{login:.1} / {b:.1} req/s");
        checks.push(Check::new(
            "login efficiency",
            ratio(login, b),
            detail,
            true,
            0.9,
        ));
    }
    if let Some(m) = &f.mixed {
        let detail = format!(
            "/me p99 {} under login load vs {} idle ({} tasks)",
            fmt_us(m.loaded_us),
            fmt_us(m.idle_us),
            m.tasks
        );
        let r = ratio(m.loaded_us as f64, m.idle_us as f64);
        checks.push(Check::new("me p99 load/idle", r, detail, false, 2.0));
    }
    if let (Some(fa), Some(bare)) = (f.forward_auth_rps, f.bare_rps) {
        let detail = format!("{fa:.0} / {bare:.0} req/s, Redis-backed auth token");
        checks.push(Check::new(
            "forward-auth/bare",
            ratio(fa, bare),
            detail,
            true,
            0.5,
        ));
    }
    if let Some(r) = f.get_token_rps {
        checks.push(Check::new(
            "get-token req/s",
            r,
            "same key, same live token".into(),
            true,
            5000.0,
        ));
    }
    if let Some((entry, growth)) = f.token_bytes {
        let detail =
            format!("MEMORY USAGE of a token entry; used_memory grew {growth:.0} B per key+token");
        checks.push(Check::new("bytes/live token", entry, detail, false, 400.0));
    }
    if let Some((few, many, count)) = f.scale_p99 {
        let detail = format!(
            "forward-auth p99 {} with few live tokens vs {} with {count} more",
            fmt_us(few),
            fmt_us(many)
        );
        let r = ratio(many as f64, few as f64);
        checks.push(Check::new("p99 many/few tokens", r, detail, false, 1.5));
    }

    if json {
        let line = json!({ "summary": { "noise_pct": noise, "checks": checks, "notes": notes } });
        println!("{line}");
        return;
    }
    println!();
    println!("== summary ==");
    match (noise, f.bare_rps, f.bare_end_rps) {
        (Some(n), Some(a), Some(b)) => println!(
            "noise: {n:+.1}% (bare {a:.0} req/s at start, {b:.0} at end; |noise| bounds what the figures can show)"
        ),
        _ => println!("noise: n/a (needs the bare scenario)"),
    }
    for n in &notes {
        println!("{n}");
    }
    for c in &checks {
        let verdict = if c.pass { "PASS" } else { "MISS" };
        println!(
            "{:<18} {:>9.3}   target {:<8} {verdict}   ({})",
            c.check, c.value, c.target, c.detail
        );
    }
    if checks.is_empty() {
        println!("(no targets apply to the scenarios that ran)");
    }
}
