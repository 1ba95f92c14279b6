//! Short-lived shared state: revoked sessions, attempt counters, the records the hot path
//! reads (users, API keys) and the API auth tokens themselves.
//!
//! The database is the source of truth for users and keys; the records here are derived from it,
//! written through on every change (never merely deleted, so a slow reader cannot refill them
//! with pre-change data: readers only insert when absent). The in-process store serves a single
//! node; Redis lets several instances act as one. Both pass one behaviour suite
//! (`tests/state_store.rs`). The enum keeps dispatch static.
//!
//! Revocations are a *cache* of the database's `sessions.revoked_at`: the store may lose them
//! (a restart, an eviction). The list carries a completeness marker, written only by a rebuild
//! from the database; a check that finds the marker missing answers `Revocation::Unknown`, never
//! "live", and the caller rebuilds or asks the database.
//!
//! Errors from Redis that mean "unreachable right now" (I/O, timeouts, loading, out of memory)
//! are tagged `StoreUnavailable`, so they reach clients as a retryable 503, not a 500.

mod memory;
mod redis;
mod redis_conn;
mod redis_revoked;

use std::time::Duration;

pub use memory::MemoryState;
pub use redis::RedisState;
pub use redis_conn::RedisOptions;
use serde::{Deserialize, Serialize};

use crate::domain::Role;

pub enum StateStore {
    Memory(MemoryState),
    Redis(RedisState),
}

/// When a token lookup resets the token's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slide<'a> {
    No,
    /// The caller already proved the right to it (a valid API key at `/get-token`).
    Always,
    /// Only when the entry starts with this (`<token hash>|`): a guessed or forged token
    /// naming a real key id must not keep that key's token alive.
    IfEntryStartsWith(&'a str),
}

impl Slide<'_> {
    fn applies_to(self, entry: &str) -> bool {
        match self {
            Slide::No => false,
            Slide::Always => true,
            Slide::IfEntryStartsWith(prefix) => entry.starts_with(prefix),
        }
    }
}

/// What the store knows about one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    /// Not revoked, and the list is known to be complete.
    Live,
    /// Not in the list, but the list was lost since it was last rebuilt: ask the database.
    Unknown,
}

/// Refused: when the counted action may be tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

/// A user as every request needs it. `disabled` doubles as the tombstone of a removed user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub org_id: String,
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// Parsed once when the record is built; stored as `"admin"`/`"member"`.
    #[serde(with = "role_wire")]
    pub role: Role,
    pub scopes: Vec<String>,
    pub disabled: bool,
    /// Whether the user proved their address. `None` in a record written by an older build,
    /// which did not carry it: the reader then asks the database.
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// The user's version when this was read; the store keeps the newest.
    #[serde(default)]
    pub version: i64,
}

/// An API key as token checks need it: the owner, the *effective* scopes (the key's own ∩ the
/// owner's, recomputed whenever either changes), and the secrets that may mint tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub user_id: String,
    pub org_id: String,
    #[serde(with = "role_wire")]
    pub role: Role,
    pub scopes: Vec<String>,
    pub secret_hash: String,
    pub generation: i64,
    #[serde(default)]
    pub previous: Option<PreviousSecret>,
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// Deleted key, or disabled/removed owner.
    pub revoked: bool,
    /// The owner's version when this was read; the store keeps the newest.
    #[serde(default)]
    pub version: i64,
}

/// The secret a rotation replaced, still accepted until `until` (ms) when an overlap was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousSecret {
    pub hash: String,
    pub generation: i64,
    pub until: i64,
}

/// A role in a record travels as its column value, so records written by older builds read.
mod role_wire {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::domain::Role;

    pub fn serialize<S: Serializer>(role: &Role, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(role.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Role, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(|()| D::Error::custom("unknown role"))
    }
}

/// The longest derived records are kept. They are rebuilt from the database on a miss, so a
/// change whose publishing was missed cannot stay out of force longer than this (the
/// server lowers it to the access-token lifetime when that is shorter).
pub const RECORD_TTL: Duration = Duration::from_secs(5 * 60);

/// Every operation is idempotent enough to be sent twice (a counter may count one attempt
/// twice, which only errs on the side of refusing): after Redis restarts, the first command on
/// the old connection fails with a dropped connection while the manager reconnects, and one
/// retry makes that request succeed instead of failing.
macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            StateStore::Memory($s) => Ok($e),
            StateStore::Redis($s) => match $e.await {
                Err(e) if redis_conn::is_dropped(&e) => $e.await.map_err(redis_conn::classify),
                r => r.map_err(redis_conn::classify),
            },
        }
    };
}

impl StateStore {
    pub fn in_memory(clock: crate::Clock) -> Self {
        StateStore::Memory(MemoryState::new(clock))
    }

    pub async fn redis(url: &str, prefix: &str) -> anyhow::Result<Self> {
        Self::redis_with(url, prefix, &RedisOptions::default()).await
    }

    pub async fn redis_with(url: &str, prefix: &str, opts: &RedisOptions) -> anyhow::Result<Self> {
        Ok(StateStore::Redis(
            RedisState::connect(url, prefix, opts).await?,
        ))
    }

    /// How long records live from their last write (at most `RECORD_TTL`).
    pub fn set_record_ttl(&mut self, ttl: Duration) {
        let ttl = ttl.clamp(Duration::from_secs(1), RECORD_TTL);
        match self {
            StateStore::Memory(s) => s.record_ttl = ttl,
            StateStore::Redis(s) => s.record_ttl = ttl,
        }
    }

    /// The most attempt counters the in-process store keeps (Redis keeps what its memory
    /// allows, and refuses writes rather than evict).
    pub fn set_counter_cap(&mut self, cap: usize) {
        if let StateStore::Memory(s) = self {
            s.counter_cap = cap.max(10);
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            StateStore::Memory(_) => "memory",
            StateStore::Redis(_) => "redis",
        }
    }

    /// Marks a session revoked for `ttl` (the longest an access token of it can still be
    /// presented: after that, expiry refuses it anyway).
    pub async fn revoke_session(&self, sid: &str, ttl: Duration) -> anyhow::Result<()> {
        dispatch!(self, s => s.revoke_session(sid, ttl))
    }

    /// Announces a recorded revocation to every instance (Redis pub/sub); a no-op in process,
    /// where `Auth` tells its sockets itself.
    pub async fn announce_revoked(&self, sid: &str) -> anyhow::Result<()> {
        match self {
            StateStore::Memory(_) => Ok(()),
            StateStore::Redis(r) => r.announce_revoked(sid).await,
        }
    }

    /// With Redis: forwards revocations announced by any instance to `tx` until the
    /// subscription ends (the caller subscribes again). In process: returns at once.
    pub async fn listen_revocations(
        &self,
        tx: &tokio::sync::broadcast::Sender<String>,
    ) -> anyhow::Result<()> {
        match self {
            StateStore::Memory(_) => Ok(()),
            StateStore::Redis(r) => r.listen_revocations(tx).await,
        }
    }

    pub async fn is_session_revoked(&self, sid: &str) -> anyhow::Result<Revocation> {
        dispatch!(self, s => s.is_session_revoked(sid))
    }

    /// Whether the session is revoked, and the user's record: the two facts every request with
    /// an access token needs, in one round trip.
    pub async fn session_and_user(
        &self,
        sid: &str,
        uid: &str,
    ) -> anyhow::Result<(Revocation, Option<UserRecord>)> {
        dispatch!(self, s => s.session_and_user(sid, uid))
    }

    /// First step of a rebuild, taken *before* the database is read: returns a token that
    /// `finish_rebuild` checks, so a list lost (or rebuilt by another instance) in between is
    /// never marked complete with a stale snapshot.
    pub async fn begin_rebuild(&self) -> anyhow::Result<String> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        dispatch!(self, s => s.begin_rebuild(&token))?;
        Ok(token)
    }

    /// Adds `revoked` (session id, time left) and marks the list complete, atomically, if the
    /// list is still the one `begin_rebuild` saw; false otherwise (the caller may retry).
    pub async fn finish_rebuild(
        &self,
        token: &str,
        revoked: &[(String, Duration)],
    ) -> anyhow::Result<bool> {
        dispatch!(self, s => s.finish_rebuild(token, revoked))
    }

    /// Marks the list incomplete, so every instance asks the database until the next rebuild:
    /// after a revocation could not be written. Redis allows this delete even when it refuses
    /// writes for lack of memory.
    pub async fn distrust_revocations(&self) -> anyhow::Result<()> {
        dispatch!(self, s => s.distrust_revocations())
    }

    /// Drops revocations whose access tokens have all expired; returns how many.
    pub async fn prune_revocations(&self) -> anyhow::Result<u64> {
        dispatch!(self, s => s.prune_revocations())
    }

    pub async fn user(&self, uid: &str) -> anyhow::Result<Option<UserRecord>> {
        dispatch!(self, s => s.user(uid))
    }

    /// Writes the record (after the database changed), unless the store holds a newer version:
    /// of two changes published at once, the later one stays.
    pub async fn put_user(&self, uid: &str, rec: &UserRecord) -> anyhow::Result<()> {
        dispatch!(self, s => s.put_user(uid, rec, false))
    }

    /// Inserts the record only if none is there (after a miss was read from the database).
    pub async fn put_user_if_absent(&self, uid: &str, rec: &UserRecord) -> anyhow::Result<()> {
        dispatch!(self, s => s.put_user(uid, rec, true))
    }

    pub async fn key(&self, kid: &str) -> anyhow::Result<Option<KeyRecord>> {
        dispatch!(self, s => s.key(kid))
    }

    /// As `put_user`: the newer version stays.
    pub async fn put_key(&self, kid: &str, rec: &KeyRecord) -> anyhow::Result<()> {
        dispatch!(self, s => s.put_key(kid, rec, false))
    }

    pub async fn put_key_if_absent(&self, kid: &str, rec: &KeyRecord) -> anyhow::Result<()> {
        dispatch!(self, s => s.put_key(kid, rec, true))
    }

    /// The token entry of key `kid` for secret generation `gen`, and the key's record, in one
    /// round trip; `slide` says when the entry's expiry is reset to `ttl`.
    pub async fn token_lookup(
        &self,
        kid: &str,
        generation: i64,
        ttl: Duration,
        slide: Slide<'_>,
    ) -> anyhow::Result<(Option<String>, Option<KeyRecord>)> {
        dispatch!(self, s => s.token_lookup(kid, generation, ttl, slide))
    }

    /// As `token_lookup` without sliding (introspection is not a use), with the time the
    /// token has left.
    pub async fn token_peek(
        &self,
        kid: &str,
        generation: i64,
    ) -> anyhow::Result<(Option<(String, Duration)>, Option<KeyRecord>)> {
        dispatch!(self, s => s.token_peek(kid, generation))
    }

    /// Stores `entry` for (`kid`, `generation`) unless one is there; returns the entry that won.
    pub async fn token_insert(
        &self,
        kid: &str,
        generation: i64,
        entry: &str,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        dispatch!(self, s => s.token_insert(kid, generation, entry, ttl))
    }

    /// Forgets every token of a key (deleted or rotated without overlap).
    pub async fn drop_tokens(&self, kid: &str) -> anyhow::Result<()> {
        dispatch!(self, s => s.drop_tokens(kid))
    }

    /// Counts one attempt in `key`'s window *before* the attempt is evaluated, so parallel
    /// attempts cannot all slip under the limit.
    pub async fn take(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> anyhow::Result<Result<(), RetryAfter>> {
        dispatch!(self, s => s.take(key, limit, window, false))
    }

    /// As `take`, for an account's lock: the in-process store never drops it to make room
    /// before its window ends (per-client buckets give way first). Redis drops nothing
    /// (`noeviction`), so there both are the same.
    pub async fn take_lock(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> anyhow::Result<Result<(), RetryAfter>> {
        dispatch!(self, s => s.take(key, limit, window, true))
    }

    /// Forgets `key`'s attempts (after a success).
    pub async fn reset(&self, key: &str) -> anyhow::Result<()> {
        dispatch!(self, s => s.reset(key))
    }

    /// Gives back one counted attempt (a success should not count against a shared key).
    pub async fn give_back(&self, key: &str) -> anyhow::Result<()> {
        dispatch!(self, s => s.give_back(key))
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        dispatch!(self, s => s.ping())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_the_role_in_its_wire_form() {
        let rec = UserRecord {
            org_id: "o".into(),
            email: "e@example.com".into(),
            name: None,
            phone: None,
            role: Role::Admin,
            scopes: vec!["a".into()],
            disabled: false,
            email_verified: Some(true),
            version: 3,
        };
        let json = serde_json::to_value(&rec).unwrap();
        assert_eq!(json["role"], "admin");
        assert_eq!(serde_json::from_value::<UserRecord>(json).unwrap(), rec);
        // A record from a build before `email_verified`: read as unknown, not as "no".
        let old = serde_json::json!({"org_id": "o", "email": "e", "role": "member",
            "scopes": [], "disabled": false, "version": 1});
        let old = serde_json::from_value::<UserRecord>(old).unwrap();
        assert_eq!(old.email_verified, None);
        let bad = serde_json::json!({"org_id": "o", "email": "e", "role": "owner",
            "scopes": [], "disabled": false});
        assert!(serde_json::from_value::<UserRecord>(bad).is_err());
    }
}
