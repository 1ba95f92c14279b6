//! The revocation list in Redis: ONE hash per deployment, `<prefix>revoked`. Field = session
//! id, value = when its last access token expires (ms, Redis's clock), plus `~complete` (written
//! by a rebuild from the database) and `~building` (a rebuild in progress). Losing the key loses
//! the marker with it, so a lost list reads as "unknown", never as "live".

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;

use super::redis::RedisState;
use super::{Revocation, UserRecord};

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

static REVOKE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&format!("{NOW}{REVOKE}")));
static FINISH_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(&format!("{NOW}{FINISH_REBUILD}")));
static PRUNE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&format!("{NOW}{PRUNE}")));

impl RedisState {
    fn revoked_key(&self) -> String {
        format!("{}revoked", self.prefix)
    }

    pub(super) async fn revoke_session(&self, sid: &str, ttl: Duration) -> anyhow::Result<()> {
        REVOKE_SCRIPT
            .key(self.revoked_key())
            .arg(sid)
            .arg(ttl.as_millis().max(1) as u64)
            .invoke_async::<i64>(&mut self.conn())
            .await?;
        Ok(())
    }

    fn events_channel(&self) -> String {
        format!("{}revocations", self.prefix)
    }

    /// Tells every instance's open sockets at once (a hint: they also poll the list).
    pub(super) async fn announce_revoked(&self, sid: &str) -> anyhow::Result<()> {
        redis::cmd("PUBLISH")
            .arg(self.events_channel())
            .arg(sid)
            .query_async::<i64>(&mut self.conn())
            .await?;
        Ok(())
    }

    /// Forwards announced revocations to `tx` until the subscription's connection ends.
    pub(super) async fn listen_revocations(
        &self,
        tx: &tokio::sync::broadcast::Sender<String>,
    ) -> anyhow::Result<()> {
        use futures_util::StreamExt;
        let mut pubsub = self.client().get_async_pubsub().await?;
        pubsub.subscribe(self.events_channel()).await?;
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            if let Ok(sid) = message.get_payload::<String>() {
                let _ = tx.send(sid);
            }
        }
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
        let mut call = FINISH_SCRIPT.key(self.revoked_key());
        call.arg(token);
        for (sid, ttl) in revoked {
            call.arg(sid).arg(ttl.as_millis().max(1) as u64);
        }
        let done: i64 = call.invoke_async(&mut self.conn()).await?;
        Ok(done == 1)
    }

    pub(super) async fn distrust_revocations(&self) -> anyhow::Result<()> {
        redis::cmd("HDEL")
            .arg(self.revoked_key())
            .arg(COMPLETE)
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    pub(super) async fn prune_revocations(&self) -> anyhow::Result<u64> {
        let n: i64 = PRUNE_SCRIPT
            .key(self.revoked_key())
            .invoke_async(&mut self.conn())
            .await?;
        Ok(n.max(0) as u64)
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

#[cfg(test)]
mod tests {
    use super::*;

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
