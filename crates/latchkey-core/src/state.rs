//! Short-lived shared state: revoked sessions and attempt counters.
//!
//! The database is the source of truth; this is what every request consults, so it must answer
//! in memory-time. The in-process store serves a single node. A Redis store (same behaviour
//! suite) takes its place when several instances must act as one; the enum keeps dispatch static.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use crate::clock::Clock;

pub enum StateStore {
    Memory(MemoryState),
}

/// Refused: when the counted action may be tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl StateStore {
    pub fn in_memory(clock: Clock) -> Self {
        StateStore::Memory(MemoryState::new(clock))
    }

    /// Marks a session revoked for `ttl` (the longest an access token of it can still be
    /// presented: after that, expiry refuses it anyway).
    pub async fn revoke_session(&self, sid: &str, ttl: Duration) -> anyhow::Result<()> {
        match self {
            StateStore::Memory(m) => m.revoke_session(sid, ttl),
        }
        Ok(())
    }

    pub async fn is_session_revoked(&self, sid: &str) -> anyhow::Result<bool> {
        match self {
            StateStore::Memory(m) => Ok(m.is_session_revoked(sid)),
        }
    }

    /// Counts one attempt in `key`'s window *before* the attempt is evaluated, so parallel
    /// attempts cannot all slip under the limit.
    pub async fn take(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> anyhow::Result<Result<(), RetryAfter>> {
        match self {
            StateStore::Memory(m) => Ok(m.take(key, limit, window)),
        }
    }

    /// Forgets `key`'s attempts (after a success).
    pub async fn reset(&self, key: &str) -> anyhow::Result<()> {
        match self {
            StateStore::Memory(m) => m.reset(key),
        }
        Ok(())
    }

    /// Gives back one counted attempt (a success should not count against a shared key).
    pub async fn give_back(&self, key: &str) -> anyhow::Result<()> {
        match self {
            StateStore::Memory(m) => m.give_back(key),
        }
        Ok(())
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

pub struct MemoryState {
    clock: Clock,
    /// session id -> revoked until (ms)
    revoked: RwLock<HashMap<String, i64>>,
    /// key -> (window end ms, count)
    counters: Mutex<HashMap<String, (i64, u32)>>,
}

impl MemoryState {
    pub fn new(clock: Clock) -> Self {
        MemoryState {
            clock,
            revoked: RwLock::default(),
            counters: Mutex::default(),
        }
    }

    fn revoke_session(&self, sid: &str, ttl: Duration) {
        let now = self.clock.now_ms();
        let mut map = self.revoked.write().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, until| *until > now);
        }
        map.insert(sid.to_owned(), now + ttl.as_millis() as i64);
    }

    fn is_session_revoked(&self, sid: &str) -> bool {
        let map = self.revoked.read().unwrap_or_else(|e| e.into_inner());
        map.get(sid)
            .is_some_and(|until| *until > self.clock.now_ms())
    }

    fn take(&self, key: &str, limit: u32, window: Duration) -> Result<(), RetryAfter> {
        let now = self.clock.now_ms();
        let mut map = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (end, _)| *end > now);
        }
        let entry = map
            .entry(key.to_owned())
            .or_insert((now + window.as_millis() as i64, 0));
        if entry.0 <= now {
            *entry = (now + window.as_millis() as i64, 0);
        }
        if entry.1 >= limit {
            let wait_ms = (entry.0 - now).max(1000);
            return Err(RetryAfter(Duration::from_millis(wait_ms as u64)));
        }
        entry.1 += 1;
        Ok(())
    }

    fn reset(&self, key: &str) {
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    fn give_back(&self, key: &str) {
        let mut map = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = map.get_mut(key) {
            entry.1 = entry.1.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn revocation_lasts_its_ttl() {
        let clock = Clock::manual();
        let s = StateStore::in_memory(clock.clone());
        assert!(!s.is_session_revoked("a").await.unwrap());
        s.revoke_session("a", Duration::from_secs(60))
            .await
            .unwrap();
        assert!(s.is_session_revoked("a").await.unwrap());
        assert!(!s.is_session_revoked("b").await.unwrap());
        clock.advance(Duration::from_secs(61));
        assert!(!s.is_session_revoked("a").await.unwrap());
    }

    #[tokio::test]
    async fn take_counts_up_to_the_limit_then_tells_when_to_retry() {
        let clock = Clock::manual();
        let s = StateStore::in_memory(clock.clone());
        let w = Duration::from_secs(900);
        for _ in 0..3 {
            assert!(s.take("k", 3, w).await.unwrap().is_ok());
        }
        let RetryAfter(wait) = s.take("k", 3, w).await.unwrap().unwrap_err();
        assert_eq!(wait, w);
        s.give_back("k").await.unwrap();
        assert!(s.take("k", 3, w).await.unwrap().is_ok());
        clock.advance(w);
        assert!(s.take("k", 3, w).await.unwrap().is_ok());
        s.reset("k").await.unwrap();
        for _ in 0..3 {
            assert!(s.take("k", 3, w).await.unwrap().is_ok());
        }
    }
}
