//! Measurement: the measuring window, per-task counters and a log-bucketed latency histogram.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

/// What one request came to: an HTTP status, or a transport failure (kind in the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    Transport(&'static str),
}

impl Outcome {
    pub fn is_ok(self) -> bool {
        matches!(self, Outcome::Status(s) if (200..300).contains(&s))
    }

    fn error_key(self) -> String {
        match self {
            Outcome::Status(s) => s.to_string(),
            Outcome::Transport(kind) => kind.to_string(),
        }
    }

    /// After a transport error or a 429, wait a little so the loop does not spin on cheap
    /// failures (a dead server, a rate limit).
    pub async fn pace(self) {
        if matches!(self, Outcome::Transport(_) | Outcome::Status(429)) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Warm-up then measurement. Requests that *start* inside `[measure_from, until)` count.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub measure_from: Instant,
    pub until: Instant,
}

impl Window {
    pub fn new(warmup: Duration, duration: Duration) -> Self {
        let measure_from = Instant::now() + warmup;
        Window {
            measure_from,
            until: measure_from + duration,
        }
    }

    /// The start time of the next request, or `None` once the window is over.
    pub fn next(&self) -> Option<Instant> {
        let now = Instant::now();
        (now < self.until).then_some(now)
    }

    pub fn measured(&self) -> Duration {
        self.until - self.measure_from
    }
}

const SUB_BITS: u32 = 7;
/// Values below this are exact; above, each power of two is split in `HALF` buckets (≤ 0.8 %).
const SUB: u64 = 1 << SUB_BITS;
const HALF: u64 = SUB / 2;
const BUCKETS: usize = (SUB + (64 - SUB_BITS as u64) * HALF) as usize;

fn bucket_of(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let shift = u64::from(63 - v.leading_zeros() - (SUB_BITS - 1));
    (SUB + (shift - 1) * HALF + ((v >> shift) - HALF)) as usize
}

/// Lowest value of a bucket and its width.
fn bucket_range(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < SUB {
        return (i, 1);
    }
    let shift = (i - SUB) / HALF + 1;
    (((i - SUB) % HALF + HALF) << shift, 1 << shift)
}

/// HDR-like latency histogram in microseconds.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: u128,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            sum: 0,
            max: 0,
        }
    }
}

impl Histogram {
    pub fn record(&mut self, micros: u64) {
        self.counts[bucket_of(micros)] += 1;
        self.total += 1;
        self.sum += u128::from(micros);
        self.max = self.max.max(micros);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    pub fn mean(&self) -> u64 {
        if self.total == 0 {
            0
        } else {
            (self.sum / u128::from(self.total)) as u64
        }
    }

    /// The value at quantile `q` (0..=1): the middle of its bucket, never above the max.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (low, width) = bucket_range(i);
                return (low + (width - 1) / 2).min(self.max);
            }
        }
        self.max
    }
}

/// What one task (or a merge of tasks) saw inside the measuring window.
#[derive(Debug, Clone, Default)]
pub struct TaskStats {
    /// Latencies of the 2xx responses.
    pub hist: Histogram,
    pub requests: u64,
    pub errors: BTreeMap<String, u64>,
}

impl TaskStats {
    pub fn record(&mut self, window: &Window, started: Instant, outcome: Outcome) {
        if started < window.measure_from {
            return;
        }
        self.requests += 1;
        if outcome.is_ok() {
            self.hist.record(started.elapsed().as_micros() as u64);
        } else {
            *self.errors.entry(outcome.error_key()).or_default() += 1;
        }
    }

    pub fn merge(&mut self, other: TaskStats) {
        self.hist.merge(&other.hist);
        self.requests += other.requests;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }
}

/// One printed line: a scenario's figures. Latencies are in microseconds, over 2xx responses.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub concurrency: usize,
    pub duration_s: f64,
    pub requests: u64,
    pub errors: u64,
    pub errors_by_status: BTreeMap<String, u64>,
    /// 2xx responses per second.
    pub rps: f64,
    pub mean_us: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl ScenarioResult {
    pub fn new(scenario: &str, concurrency: usize, window: &Window, stats: TaskStats) -> Self {
        let secs = window.measured().as_secs_f64();
        let h = &stats.hist;
        ScenarioResult {
            scenario: scenario.to_string(),
            concurrency,
            duration_s: secs,
            requests: stats.requests,
            errors: stats.errors.values().sum(),
            rps: h.total as f64 / secs,
            mean_us: h.mean(),
            p50_us: h.quantile(0.50),
            p90_us: h.quantile(0.90),
            p99_us: h.quantile(0.99),
            max_us: h.max,
            errors_by_status: stats.errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_tight() {
        for i in 0..BUCKETS {
            let (low, width) = bucket_range(i);
            assert_eq!(bucket_of(low), i);
            assert_eq!(bucket_of(low + (width - 1)), i);
            assert!(low < SUB || (width as f64) / (low as f64) <= 1.0 / HALF as f64);
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_are_close() {
        let mut h = Histogram::default();
        for v in 1..=10_000 {
            h.record(v);
        }
        for (q, want) in [(0.5, 5_000.0), (0.9, 9_000.0), (0.99, 9_900.0)] {
            let got = h.quantile(q) as f64;
            assert!((got - want).abs() / want < 0.01, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.quantile(1.0), 10_000);
        assert_eq!(h.mean(), 5_000);
    }
}
