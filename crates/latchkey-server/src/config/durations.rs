//! Durations as `15m`, `4s`, `7d`, `1h 30m`, or a bare number of seconds (`#[serde(with)]`).

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Longer durations overflow millisecond arithmetic and mean nothing for tokens anyway.
const MAX: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Signed(i64),
        Float(f64),
        Text(String),
    }
    let d = match Raw::deserialize(d)? {
        Raw::Secs(n) => Duration::from_secs(n),
        Raw::Signed(n) => return Err(serde::de::Error::custom(negative(&n.to_string()))),
        Raw::Float(f) if f < 0.0 => {
            return Err(serde::de::Error::custom(negative(&f.to_string())));
        }
        Raw::Float(f) => Duration::try_from_secs_f64(f).map_err(serde::de::Error::custom)?,
        Raw::Text(t) => parse(&t).map_err(serde::de::Error::custom)?,
    };
    if d > MAX {
        return Err(serde::de::Error::custom(format!(
            "duration {} is longer than the supported maximum of 10 years",
            humantime::format_duration(d)
        )));
    }
    Ok(d)
}

fn negative(t: &str) -> String {
    format!("a duration cannot be negative (got {t}); use forms like 15m, 4s, 7d")
}

pub fn parse(t: &str) -> Result<Duration, String> {
    let t = t.trim();
    if t.starts_with('-') {
        return Err(negative(t));
    }
    if let Ok(n) = t.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("invalid duration {t:?} ({e}); use forms like 15m, 4s, 7d"))
}
