//! The Redis store, for several instances acting as one.
//!
//! Keys: `<prefix>revoked`, `<prefix>user:<uid>`, `<prefix>rl:<name>`, and per API key
//! `<prefix>{<kid>}:key` and `<prefix>{<kid>}:tok` — one hash tag per key id, so the scripts
//! that touch a key's record and its tokens run on Redis Cluster too. Each check is one round
//! trip: a script or a pipeline.
//!
//! `<prefix>revoked` is ONE hash per deployment: field = session id, value = when its last
//! access token expires (ms, Redis time), plus `~complete` (written by a rebuild from the
//! database) and `~building` (a rebuild in progress). Losing the key loses the marker with it, so
//! a lost list reads as "unknown", never as "live".

use std::collections::HashMap;
use std::time::Duration;

use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{KeyRecord, RECORD_TTL, RetryAfter, Revocation, Slide, UserRecord};
use crate::error::StoreUnavailable;

/// How Latchkey talks to Redis.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Bounds each connection attempt and each command: a Redis that stopped answering (paused,
    /// network cut) costs a request at most this long before it is answered 503.
    pub timeout: Duration,
    /// Start even when Redis may evict keys. Revocations then still hold (a lost list is
    /// rebuilt from the database), but counters and API auth tokens can vanish.
    pub allow_eviction: bool,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            timeout: Duration::from_secs(2),
            allow_eviction: false,
        }
    }
}

pub struct RedisState {
    conn: ConnectionManager,
    prefix: String,
    revoke: Script,
    finish_rebuild: Script,
    prune: Script,
    take: Script,
    put: Script,
    give_back: Script,
    lookup: Script,
    insert: Script,
}

const TAKE: &str = r"
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if c > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  local t = redis.call('PTTL', KEYS[1])
  if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); t = tonumber(ARGV[2]) end
  return t
end
return 0";

/// SET unless the stored record has a newer `version` (ARGV[3] = 1: only if absent).
const PUT: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur then
  if ARGV[3] == '1' then return 0 end
  local ok, old = pcall(cjson.decode, cur)
  if ok and type(old) == 'table' and tonumber(old.version or 0) > tonumber(ARGV[4]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1";

const GIVE_BACK: &str = r"
local c = redis.call('GET', KEYS[1])
if c and tonumber(c) > 0 then redis.call('DECR', KEYS[1]) end
return 0";

const LOOKUP: &str = r"
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and (ARGV[3] == '1' or (ARGV[3] == '2' and string.sub(v, 1, #ARGV[4]) == ARGV[4])) then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
local k = redis.call('GET', KEYS[2])
return {v or '', k or ''}";

/// Redis's clock, in ms: expiries are written and pruned by the same clock on every instance.
const NOW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
";

/// ARGV: session id, ms left, … pairs.
const REVOKE: &str = r"
for i = 1, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], now + tonumber(ARGV[i + 1]))
end
return 1";

/// ARGV[1]: the token `begin_rebuild` wrote; then session id, ms left, … pairs. All or nothing:
/// if the list was lost or another rebuild started since, nothing is marked complete.
const FINISH_REBUILD: &str = r"
if redis.call('HGET', KEYS[1], '~complete') then
  for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], now + tonumber(ARGV[i + 1])) end
  if redis.call('HGET', KEYS[1], '~building') == ARGV[1] then redis.call('HDEL', KEYS[1], '~building') end
  return 1
end
if redis.call('HGET', KEYS[1], '~building') ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], now + tonumber(ARGV[i + 1])) end
redis.call('HSET', KEYS[1], '~complete', now)
redis.call('HDEL', KEYS[1], '~building')
return 1";

const PRUNE: &str = r"
local all = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 1) ~= '~' and (tonumber(all[i + 1]) or 0) <= now then
    redis.call('HDEL', KEYS[1], all[i])
    n = n + 1
  end
end
return n";

/// The marker fields cannot collide with session ids (UUIDs).
const COMPLETE: &str = "~complete";
const BUILDING: &str = "~building";

const INSERT: &str = r"
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return redis.call('HGET', KEYS[1], ARGV[1])";

fn secs(d: Duration) -> u64 {
    d.as_secs().max(1)
}

fn empty_to_none(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn redis_error(e: &anyhow::Error) -> Option<&redis::RedisError> {
    e.chain()
        .find_map(|c| c.downcast_ref::<redis::RedisError>())
}

/// The connection broke under the command (Redis restarted, an idle connection was cut): the
/// manager reconnects, so sending the command once more is worth it.
pub(super) fn is_dropped(e: &anyhow::Error) -> bool {
    redis_error(e).is_some_and(|r| r.is_connection_dropped() || r.is_connection_refusal())
}

/// Tags errors that mean "Redis cannot answer right now" as `StoreUnavailable`.
pub(super) fn classify(e: anyhow::Error) -> anyhow::Error {
    use redis::{ErrorKind, ServerErrorKind};
    let Some(r) = redis_error(&e) else {
        return e;
    };
    let unavailable = match r.kind() {
        ErrorKind::Io | ErrorKind::ClusterConnectionNotFound => true,
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
            | ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::MasterDown
            | ServerErrorKind::ReadOnly,
        ) => true,
        _ => matches!(r.code(), Some("OOM" | "BUSY" | "LOADING" | "MASTERDOWN")),
    };
    if unavailable {
        e.context(StoreUnavailable("Redis is unreachable"))
    } else {
        e
    }
}

impl RedisState {
    pub async fn connect(url: &str, prefix: &str, opts: &RedisOptions) -> anyhow::Result<Self> {
        let client =
            redis::Client::open(url).map_err(|e| anyhow::anyhow!("invalid Redis URL: {e}"))?;
        // Few, quick reconnect attempts: a request waits for them, and while Redis is away it
        // is better answered 503 at once than held; the next request tries again.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(opts.timeout))
            .set_response_timeout(Some(opts.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(250));
        let mut conn = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach Redis: {e}"))?;
        check_eviction_policy(&mut conn, opts.allow_eviction).await?;
        Ok(RedisState {
            conn,
            prefix: prefix.to_owned(),
            revoke: Script::new(&format!("{NOW}{REVOKE}")),
            finish_rebuild: Script::new(&format!("{NOW}{FINISH_REBUILD}")),
            prune: Script::new(&format!("{NOW}{PRUNE}")),
            take: Script::new(TAKE),
            put: Script::new(PUT),
            give_back: Script::new(GIVE_BACK),
            lookup: Script::new(LOOKUP),
            insert: Script::new(INSERT),
        })
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    fn revoked_key(&self) -> String {
        format!("{}revoked", self.prefix)
    }

    pub(super) async fn revoke_session(&self, sid: &str, ttl: Duration) -> anyhow::Result<()> {
        self.revoke
            .key(self.revoked_key())
            .arg(sid)
            .arg(ttl.as_millis().max(1) as u64)
            .invoke_async::<i64>(&mut self.conn())
            .await?;
        Ok(())
    }

    pub(super) async fn is_session_revoked(&self, sid: &str) -> anyhow::Result<Revocation> {
        let found: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.revoked_key())
            .arg(sid)
            .arg(COMPLETE)
            .query_async(&mut self.conn())
            .await?;
        Ok(revocation(&found))
    }

    pub(super) async fn session_and_user(
        &self,
        sid: &str,
        uid: &str,
    ) -> anyhow::Result<(Revocation, Option<UserRecord>)> {
        let (found, user): (Vec<Option<String>>, Option<String>) = redis::pipe()
            .cmd("HMGET")
            .arg(self.revoked_key())
            .arg(sid)
            .arg(COMPLETE)
            .cmd("GET")
            .arg(format!("{}user:{uid}", self.prefix))
            .query_async(&mut self.conn())
            .await?;
        Ok((
            revocation(&found),
            user.map(|u| serde_json::from_str(&u)).transpose()?,
        ))
    }

    pub(super) async fn begin_rebuild(&self, token: &str) -> anyhow::Result<()> {
        redis::cmd("HSET")
            .arg(self.revoked_key())
            .arg(BUILDING)
            .arg(token)
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    pub(super) async fn finish_rebuild(
        &self,
        token: &str,
        revoked: &[(String, Duration)],
    ) -> anyhow::Result<bool> {
        let mut call = self.finish_rebuild.key(self.revoked_key());
        call.arg(token);
        for (sid, ttl) in revoked {
            call.arg(sid).arg(ttl.as_millis().max(1) as u64);
        }
        let done: i64 = call.invoke_async(&mut self.conn()).await?;
        Ok(done == 1)
    }

    pub(super) async fn prune_revocations(&self) -> anyhow::Result<u64> {
        let n: i64 = self
            .prune
            .key(self.revoked_key())
            .invoke_async(&mut self.conn())
            .await?;
        Ok(n.max(0) as u64)
    }

    pub(super) async fn user(&self, uid: &str) -> anyhow::Result<Option<UserRecord>> {
        let v: Option<String> = redis::cmd("GET")
            .arg(format!("{}user:{uid}", self.prefix))
            .query_async(&mut self.conn())
            .await?;
        Ok(v.map(|u| serde_json::from_str(&u)).transpose()?)
    }

    async fn put(
        &self,
        key: String,
        value: String,
        only_if_absent: bool,
        version: i64,
    ) -> anyhow::Result<()> {
        self.put
            .key(key)
            .arg(value)
            .arg(secs(RECORD_TTL))
            .arg(if only_if_absent { "1" } else { "0" })
            .arg(version)
            .invoke_async::<i64>(&mut self.conn())
            .await?;
        Ok(())
    }

    pub(super) async fn put_user(
        &self,
        uid: &str,
        rec: &UserRecord,
        only_if_absent: bool,
    ) -> anyhow::Result<()> {
        self.put(
            format!("{}user:{uid}", self.prefix),
            serde_json::to_string(rec)?,
            only_if_absent,
            rec.version,
        )
        .await
    }

    pub(super) async fn key(&self, kid: &str) -> anyhow::Result<Option<KeyRecord>> {
        let v: Option<String> = redis::cmd("GET")
            .arg(format!("{}{{{kid}}}:key", self.prefix))
            .query_async(&mut self.conn())
            .await?;
        Ok(v.map(|k| serde_json::from_str(&k)).transpose()?)
    }

    pub(super) async fn put_key(
        &self,
        kid: &str,
        rec: &KeyRecord,
        only_if_absent: bool,
    ) -> anyhow::Result<()> {
        self.put(
            format!("{}{{{kid}}}:key", self.prefix),
            serde_json::to_string(rec)?,
            only_if_absent,
            rec.version,
        )
        .await
    }

    pub(super) async fn token_lookup(
        &self,
        kid: &str,
        generation: i64,
        ttl: Duration,
        slide: Slide<'_>,
    ) -> anyhow::Result<(Option<String>, Option<KeyRecord>)> {
        let (mode, prefix) = match slide {
            Slide::No => ("0", ""),
            Slide::Always => ("1", ""),
            Slide::IfEntryStartsWith(p) => ("2", p),
        };
        let (entry, key): (String, String) = self
            .lookup
            .key(format!("{}{{{kid}}}:tok", self.prefix))
            .key(format!("{}{{{kid}}}:key", self.prefix))
            .arg(generation)
            .arg(secs(ttl))
            .arg(mode)
            .arg(prefix)
            .invoke_async(&mut self.conn())
            .await?;
        let key = empty_to_none(key)
            .map(|k| serde_json::from_str(&k))
            .transpose()?;
        Ok((empty_to_none(entry), key))
    }

    pub(super) async fn token_insert(
        &self,
        kid: &str,
        generation: i64,
        entry: &str,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        Ok(self
            .insert
            .key(format!("{}{{{kid}}}:tok", self.prefix))
            .arg(generation)
            .arg(entry)
            .arg(secs(ttl))
            .invoke_async(&mut self.conn())
            .await?)
    }

    pub(super) async fn drop_tokens(&self, kid: &str) -> anyhow::Result<()> {
        redis::cmd("DEL")
            .arg(format!("{}{{{kid}}}:tok", self.prefix))
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    pub(super) async fn take(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> anyhow::Result<Result<(), RetryAfter>> {
        let wait_ms: i64 = self
            .take
            .key(format!("{}rl:{key}", self.prefix))
            .arg(limit)
            .arg(window.as_millis().max(1) as u64)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(if wait_ms > 0 {
            Err(RetryAfter(Duration::from_millis(wait_ms.max(1000) as u64)))
        } else {
            Ok(())
        })
    }

    pub(super) async fn reset(&self, key: &str) -> anyhow::Result<()> {
        redis::cmd("DEL")
            .arg(format!("{}rl:{key}", self.prefix))
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    pub(super) async fn give_back(&self, key: &str) -> anyhow::Result<()> {
        self.give_back
            .key(format!("{}rl:{key}", self.prefix))
            .invoke_async::<i64>(&mut self.conn())
            .await?;
        Ok(())
    }

    pub(super) async fn ping(&self) -> anyhow::Result<()> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn())
            .await?;
        Ok(())
    }
}

/// `HMGET revoked <sid> ~complete` read as an answer: absent from a list that is not known to be
/// complete is "unknown", never "live".
fn revocation(found: &[Option<String>]) -> Revocation {
    match found {
        [Some(_), _] => Revocation::Revoked,
        [None, Some(_)] => Revocation::Live,
        _ => Revocation::Unknown,
    }
}

/// Revocations, counters and tokens must not be evicted: refuse to start (unless allowed) when
/// Redis may evict. A Redis that hides `CONFIG` (managed services) gets a warning instead.
async fn check_eviction_policy(
    conn: &mut ConnectionManager,
    allow_eviction: bool,
) -> anyhow::Result<()> {
    let reply: redis::RedisResult<HashMap<String, String>> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query_async(conn)
        .await;
    match reply.map(|m| m.get("maxmemory-policy").cloned()) {
        Ok(Some(policy)) if policy == "noeviction" => Ok(()),
        Ok(Some(policy)) if allow_eviction => {
            tracing::warn!(
                policy,
                "Redis may evict keys (maxmemory-policy is not noeviction); API auth tokens and \
                 attempt counters can vanish under memory pressure"
            );
            Ok(())
        }
        Ok(Some(policy)) => anyhow::bail!(
            "Redis has maxmemory-policy {policy}: it may evict Latchkey's keys (attempt counters, \
             API auth tokens). Set `maxmemory-policy noeviction` on Redis, or set \
             LATCHKEY_REDIS_ALLOW_EVICTION=true to start anyway"
        ),
        Ok(None) | Err(_) => {
            tracing::warn!(
                "cannot read Redis's maxmemory-policy (CONFIG is disabled?); make sure it is \
                 noeviction"
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuthError;

    #[test]
    fn an_unreachable_redis_is_unavailable_and_a_bad_reply_is_a_bug() {
        let refused =
            redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let e = classify(anyhow::Error::from(refused));
        assert!(is_dropped(&e));
        assert!(matches!(AuthError::from(e), AuthError::Unavailable(_)));

        // Server replies such as `OOM` cannot be built outside the redis crate: the HTTP test
        // `a_revocation_redis_refused_to_store_is_not_lost` gets a real one.
        let timeout = redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
        let e = classify(anyhow::Error::from(timeout).context("reading a record"));
        assert!(
            !is_dropped(&e),
            "a timeout is not retried: it already waited"
        );
        assert!(matches!(AuthError::from(e), AuthError::Unavailable(_)));

        let bad = redis::RedisError::from((redis::ErrorKind::UnexpectedReturnType, "bad reply"));
        assert!(matches!(
            AuthError::from(classify(anyhow::Error::from(bad))),
            AuthError::Unexpected(_)
        ));
    }

    #[test]
    fn absent_from_an_incomplete_list_is_unknown() {
        let some = || Some("1".to_owned());
        assert_eq!(revocation(&[some(), None]), Revocation::Revoked);
        assert_eq!(revocation(&[some(), some()]), Revocation::Revoked);
        assert_eq!(revocation(&[None, some()]), Revocation::Live);
        assert_eq!(revocation(&[None, None]), Revocation::Unknown);
        assert_eq!(revocation(&[]), Revocation::Unknown);
    }
}
