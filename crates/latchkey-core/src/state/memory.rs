//! The in-process store: a single node's state in maps, expiring by the injected clock.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use super::{KeyRecord, RECORD_TTL, RetryAfter, Revocation, Slide, UserRecord};
use crate::clock::Clock;

pub struct MemoryState {
    clock: Clock,
    /// session id -> revoked until (ms)
    revoked: RwLock<HashMap<String, i64>>,
    /// The list's state: `None` until a rebuild from the database finished (a store created
    /// before the revocations were loaded must not call any session live), `Some("")` once
    /// complete, `Some(token)` while a rebuild is in progress.
    rebuild: Mutex<Option<String>>,
    users: Records<UserRecord>,
    keys: Records<KeyRecord>,
    tokens: Mutex<HashMap<String, TokenSlot>>,
    /// key -> its window; per-client buckets and account locks in one bounded map.
    counters: Mutex<HashMap<String, Counter>>,
    /// The most counters kept (`MAX_ENTRIES` unless the server says otherwise).
    pub(super) counter_cap: usize,
    pub(super) record_ttl: Duration,
}

/// One counter's window.
struct Counter {
    /// When the window ends (ms).
    end: i64,
    count: u32,
    /// An account's lock: never dropped to make room before its window ends, since forgetting
    /// it would give the account's attackers a fresh budget. Only existing accounts get one,
    /// so these are bounded by the accounts there are.
    lock: bool,
}

/// A key's live tokens: generation -> entry, and when they all expire (ms).
type TokenSlot = (HashMap<i64, String>, i64);

fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

/// Maps are swept of expired entries when they grow past this.
const SWEEP_AT: usize = 100_000;

/// The most counters, and the most records of each kind, one process keeps.
const MAX_ENTRIES: usize = 100_000;

/// Makes room for one more entry in a map of at most `cap`: drops expired entries, then, if
/// the map is still nearly full, the tenth of `cap` that would expire soonest among those
/// `evictable` says may go. Counters and records are what unauthenticated traffic can make, so
/// they are bounded; what is dropped is only rebuilt (a record) or restarted (a per-client
/// counter). Account locks are not evictable (a flood of addresses must not unlock an
/// account), nor are revocations (forgetting one would let a revoked token in).
fn make_room<V>(
    map: &mut HashMap<String, V>,
    now: i64,
    cap: usize,
    until: impl Fn(&V) -> i64,
    evictable: impl Fn(&V) -> bool,
) {
    if map.len() < cap {
        return;
    }
    map.retain(|_, v| until(v) > now);
    if map.len() < cap - cap / 10 {
        return;
    }
    let mut ends: Vec<i64> = map.values().filter(|v| evictable(v)).map(&until).collect();
    if ends.is_empty() {
        return;
    }
    let cut = (cap / 10).clamp(1, ends.len());
    let (_, nth, _) = ends.select_nth_unstable(cut - 1);
    let nth = *nth;
    // Exactly a tenth, even when many expire at the same moment.
    let victims: Vec<String> = map
        .iter()
        .filter(|(_, v)| evictable(v) && until(v) <= nth)
        .map(|(k, _)| k.clone())
        .take(cut)
        .collect();
    for k in victims {
        map.remove(&k);
    }
}

impl MemoryState {
    pub fn new(clock: Clock) -> Self {
        MemoryState {
            clock,
            revoked: RwLock::default(),
            rebuild: Mutex::default(),
            users: Records::default(),
            keys: Records::default(),
            tokens: Mutex::default(),
            counters: Mutex::default(),
            counter_cap: MAX_ENTRIES,
            record_ttl: RECORD_TTL,
        }
    }

    pub(super) fn revoke_session(&self, sid: &str, ttl: Duration) {
        let now = self.clock.now_ms();
        let mut map = self.revoked.write().unwrap_or_else(|e| e.into_inner());
        if map.len() > SWEEP_AT {
            map.retain(|_, until| *until > now);
        }
        map.insert(sid.to_owned(), now + ms(ttl));
    }

    pub(super) fn is_session_revoked(&self, sid: &str) -> Revocation {
        // One lock at a time (never `revoked` and `rebuild` together): no lock-order inversion.
        let revoked = self
            .revoked
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(sid)
            .is_some_and(|until| *until > self.clock.now_ms());
        if revoked {
            return Revocation::Revoked;
        }
        let complete = self
            .rebuild
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_deref()
            == Some("");
        if complete {
            Revocation::Live
        } else {
            Revocation::Unknown
        }
    }

    pub(super) fn session_and_user(
        &self,
        sid: &str,
        uid: &str,
    ) -> (Revocation, Option<UserRecord>) {
        (self.is_session_revoked(sid), self.user(uid))
    }

    pub(super) fn begin_rebuild(&self, token: &str) {
        let mut state = self.rebuild.lock().unwrap_or_else(|e| e.into_inner());
        // A complete list stays complete (as in Redis, where the marker stays until lost).
        if state.as_deref() != Some("") {
            *state = Some(token.to_owned());
        }
    }

    pub(super) fn finish_rebuild(&self, token: &str, revoked: &[(String, Duration)]) -> bool {
        // Entries first, then the marker: nothing is ever called live before its entry is in.
        for (sid, ttl) in revoked {
            self.revoke_session(sid, *ttl);
        }
        let mut state = self.rebuild.lock().unwrap_or_else(|e| e.into_inner());
        match state.as_deref() {
            Some("") => true,
            Some(t) if t == token => {
                *state = Some(String::new());
                true
            }
            _ => false,
        }
    }

    /// Writes here cannot fail, so nothing calls this in practice; it behaves as Redis does.
    pub(super) fn distrust_revocations(&self) {
        *self.rebuild.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub(super) fn prune_revocations(&self) -> u64 {
        let now = self.clock.now_ms();
        let mut map = self.revoked.write().unwrap_or_else(|e| e.into_inner());
        let before = map.len();
        map.retain(|_, until| *until > now);
        (before - map.len()) as u64
    }

    pub(super) fn user(&self, uid: &str) -> Option<UserRecord> {
        self.users.get(uid, self.clock.now_ms())
    }

    pub(super) fn put_user(&self, uid: &str, rec: &UserRecord, only_if_absent: bool) {
        let keep = |old: &UserRecord| only_if_absent || old.version > rec.version;
        self.users
            .put(uid, rec, keep, self.clock.now_ms(), self.record_ttl);
    }

    pub(super) fn key(&self, kid: &str) -> Option<KeyRecord> {
        self.keys.get(kid, self.clock.now_ms())
    }

    pub(super) fn put_key(&self, kid: &str, rec: &KeyRecord, only_if_absent: bool) {
        let keep = |old: &KeyRecord| only_if_absent || old.version > rec.version;
        self.keys
            .put(kid, rec, keep, self.clock.now_ms(), self.record_ttl);
    }

    pub(super) fn token_lookup(
        &self,
        kid: &str,
        generation: i64,
        ttl: Duration,
        slide: Slide<'_>,
    ) -> (Option<String>, Option<KeyRecord>) {
        let now = self.clock.now_ms();
        let entry = {
            let mut map = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
            match map.get_mut(kid) {
                Some((entries, until)) if *until > now => {
                    let found = entries.get(&generation).cloned();
                    if found.as_deref().is_some_and(|e| slide.applies_to(e)) {
                        *until = now + ms(ttl);
                    }
                    found
                }
                _ => None,
            }
        };
        (entry, self.key(kid))
    }

    pub(super) fn token_peek(
        &self,
        kid: &str,
        generation: i64,
    ) -> (Option<(String, Duration)>, Option<KeyRecord>) {
        let now = self.clock.now_ms();
        let entry = {
            let map = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
            match map.get(kid) {
                Some((entries, until)) if *until > now => entries
                    .get(&generation)
                    .map(|e| (e.clone(), Duration::from_millis((*until - now) as u64))),
                _ => None,
            }
        };
        (entry, self.key(kid))
    }

    pub(super) fn token_insert(
        &self,
        kid: &str,
        generation: i64,
        entry: &str,
        ttl: Duration,
    ) -> String {
        let now = self.clock.now_ms();
        let mut map = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > SWEEP_AT {
            map.retain(|_, (_, until)| *until > now);
        }
        let slot = map
            .entry(kid.to_owned())
            .or_insert_with(|| (HashMap::new(), 0));
        if slot.1 <= now {
            slot.0.clear();
        }
        slot.1 = now + ms(ttl);
        slot.0
            .entry(generation)
            .or_insert_with(|| entry.to_owned())
            .clone()
    }

    pub(super) fn drop_tokens(&self, kid: &str) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(kid);
    }

    /// `lock`: the counter is an account's lock, kept until its window ends.
    pub(super) fn take(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        lock: bool,
    ) -> Result<(), RetryAfter> {
        let now = self.clock.now_ms();
        let mut map = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(key) {
            make_room(&mut map, now, self.counter_cap, |c| c.end, |c| !c.lock);
        }
        let fresh = Counter {
            end: now + ms(window),
            count: 0,
            lock,
        };
        let entry = map.entry(key.to_owned()).or_insert(fresh);
        if entry.end <= now {
            entry.end = now + ms(window);
            entry.count = 0;
        }
        entry.lock |= lock;
        if entry.count >= limit {
            let wait_ms = (entry.end - now).max(1000);
            return Err(RetryAfter(Duration::from_millis(wait_ms as u64)));
        }
        entry.count += 1;
        Ok(())
    }

    pub(super) fn reset(&self, key: &str) {
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    pub(super) fn give_back(&self, key: &str) {
        let mut map = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = map.get_mut(key) {
            entry.count = entry.count.saturating_sub(1);
        }
    }

    pub(super) fn ping(&self) {}
}

/// Derived records by id, each kept for the store's record TTL.
struct Records<T>(RwLock<HashMap<String, (T, i64)>>);

impl<T> Default for Records<T> {
    fn default() -> Self {
        Records(RwLock::default())
    }
}

impl<T: Clone> Records<T> {
    fn get(&self, id: &str, now: i64) -> Option<T> {
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        map.get(id)
            .filter(|(_, until)| *until > now)
            .map(|(r, _)| r.clone())
    }

    /// Stores `rec` unless a live entry is there that `keep` says must stay.
    fn put(&self, id: &str, rec: &T, keep: impl Fn(&T) -> bool, now: i64, ttl: Duration) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        if map
            .get(id)
            .is_some_and(|(old, until)| *until > now && keep(old))
        {
            return;
        }
        if !map.contains_key(id) {
            make_room(&mut map, now, MAX_ENTRIES, |(_, until)| *until, |_| true);
        }
        map.insert(id.to_owned(), (rec.clone(), now + ms(ttl)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_records_stay_bounded_under_made_up_keys() {
        let clock = Clock::manual();
        let state = MemoryState::new(clock.clone());
        let window = Duration::from_secs(900);
        for i in 0..MAX_ENTRIES + 5_000 {
            assert!(
                state
                    .take(&format!("login:ip:{i}"), 10, window, false)
                    .is_ok()
            );
            clock.advance(Duration::from_millis(1));
        }
        let counters = state.counters.lock().unwrap().len();
        assert!(counters <= MAX_ENTRIES, "{counters} counters");
        // The newest keys are kept, the soonest to expire went first.
        let newest = format!("login:ip:{}", MAX_ENTRIES + 4_999);
        assert!(state.counters.lock().unwrap().contains_key(&newest));
    }

    #[test]
    fn a_flood_of_per_client_counters_never_evicts_an_accounts_lock() {
        let clock = Clock::manual();
        let mut state = MemoryState::new(clock.clone());
        state.counter_cap = 1_000;
        let window = Duration::from_secs(900);
        // The oldest entry, the first to go if age decided.
        for _ in 0..3 {
            assert!(state.take("login:acct:u1", 3, window, true).is_ok());
        }
        assert!(state.take("login:acct:u1", 3, window, true).is_err());
        for i in 0..10_000 {
            clock.advance(Duration::from_millis(1));
            assert!(
                state
                    .take(&format!("login:ip:{i}"), 10, window, false)
                    .is_ok()
            );
        }
        assert!(state.counters.lock().unwrap().len() <= 1_000);
        let refused = state.take("login:acct:u1", 3, window, true);
        assert!(refused.is_err(), "the lock outlived the flood");
        // It ends with its window, like any other.
        clock.advance(window);
        assert!(state.take("login:acct:u1", 3, window, true).is_ok());
    }

    #[test]
    fn records_stay_bounded_and_keep_the_newest() {
        let clock = Clock::manual();
        let state = MemoryState::new(clock.clone());
        let rec = |v| UserRecord {
            org_id: "o".into(),
            email: "e".into(),
            name: None,
            phone: None,
            role: crate::domain::Role::Member,
            scopes: Vec::new(),
            disabled: false,
            email_verified: Some(false),
            version: v,
        };
        for i in 0..MAX_ENTRIES + 10 {
            state.put_user(&format!("u{i}"), &rec(0), false);
        }
        assert!(state.users.0.read().unwrap().len() <= MAX_ENTRIES);
        assert!(state.user(&format!("u{}", MAX_ENTRIES + 9)).is_some());
    }
}
