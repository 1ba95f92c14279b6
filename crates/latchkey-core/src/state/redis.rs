//! The Redis store, for several instances acting as one.
//!
//! Keys: `<prefix>revoked`, `<prefix>user:<uid>`, `<prefix>rl:<name>`, and per API key
//! `<prefix>{<kid>}:key` and `<prefix>{<kid>}:tok` — one hash tag per key id, so the scripts
//! that touch a key's record and its tokens run on Redis Cluster too. Each check is one round
//! trip: a script or a pipeline.
//!
//! The revocation list lives in `redis_revoked.rs`; connection handling and error meaning in
//! `redis_conn.rs`.

use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;

use super::redis_conn::{RedisOptions, check_eviction_policy, manager_config};
use super::{KeyRecord, RECORD_TTL, RetryAfter, Slide, UserRecord};

pub struct RedisState {
    conn: ConnectionManager,
    /// For the revocation subscription, which needs a connection of its own.
    client: redis::Client,
    pub(super) prefix: String,
    take: Script,
    put: Script,
    give_back: Script,
    lookup: Script,
    peek: Script,
    insert: Script,
    pub(super) record_ttl: Duration,
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

/// As LOOKUP without sliding, with the tokens' time left (ms; negative when the key is gone).
const PEEK: &str = r"
local v = redis.call('HGET', KEYS[1], ARGV[1])
local t = redis.call('PTTL', KEYS[1])
local k = redis.call('GET', KEYS[2])
return {v or '', t, k or ''}";

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

impl RedisState {
    pub async fn connect(url: &str, prefix: &str, opts: &RedisOptions) -> anyhow::Result<Self> {
        let client =
            redis::Client::open(url).map_err(|e| anyhow::anyhow!("invalid Redis URL: {e}"))?;
        let mut conn = client
            .get_connection_manager_with_config(manager_config(opts))
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach Redis: {e}"))?;
        check_eviction_policy(&mut conn, opts.allow_eviction).await?;
        Ok(RedisState {
            conn,
            client,
            prefix: prefix.to_owned(),
            take: Script::new(TAKE),
            put: Script::new(PUT),
            give_back: Script::new(GIVE_BACK),
            lookup: Script::new(LOOKUP),
            peek: Script::new(PEEK),
            insert: Script::new(INSERT),
            record_ttl: RECORD_TTL,
        })
    }

    pub(super) fn client(&self) -> &redis::Client {
        &self.client
    }

    pub(super) fn conn(&self) -> ConnectionManager {
        self.conn.clone()
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
            .arg(secs(self.record_ttl))
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

    pub(super) async fn token_peek(
        &self,
        kid: &str,
        generation: i64,
    ) -> anyhow::Result<(Option<(String, Duration)>, Option<KeyRecord>)> {
        let (entry, left_ms, key): (String, i64, String) = self
            .peek
            .key(format!("{}{{{kid}}}:tok", self.prefix))
            .key(format!("{}{{{kid}}}:key", self.prefix))
            .arg(generation)
            .invoke_async(&mut self.conn())
            .await?;
        let key = empty_to_none(key)
            .map(|k| serde_json::from_str(&k))
            .transpose()?;
        let entry = empty_to_none(entry)
            .filter(|_| left_ms > 0)
            .map(|e| (e, Duration::from_millis(left_ms as u64)));
        Ok((entry, key))
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

    /// Redis evicts nothing (`noeviction`), so an account's lock (`_lock`) needs no care here.
    pub(super) async fn take(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        _lock: bool,
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
