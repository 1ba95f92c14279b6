//! API keys and the auth tokens minted from them at `/get-token`.
//!
//! - A key is `lk_<id>_<secret>`; the id is public (the visible prefix), the secret is kept as a
//!   SHA-256 hash. A token is `lkt_<id>_<generation>_<secret>`, kept in the token store as a
//!   hash plus a copy encrypted under a server key, so `/get-token` can hand the same live
//!   token back while a dump of the store reveals no usable token.
//! - Scopes are not frozen into tokens: a check reads the key's record, whose scopes are the
//!   key's own ∩ the owner's, rewritten whenever either changes, so a scope change reaches live
//!   tokens on their next use.
//! - A rotation bumps the key's generation; tokens of an older generation are refused on their
//!   next use, after the overlap if one was asked.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::Auth;
use super::principal::{Credential, Principal};
use crate::error::{AuthError, AuthResult, TokenProblem};
use crate::secret::{Secret, ct_eq, random_bytes, random_token};
use crate::state::{KeyRecord, PreviousSecret, Slide};
use crate::store::ApiKeyRow;

pub const KEY_PREFIX: &str = "lk_";
pub const TOKEN_PREFIX: &str = "lkt_";
const ID_LEN: usize = 16;
/// `last_used_at` is written at most this often per key, to keep `/get-token` off the database.
const TOUCH_EVERY_MS: i64 = 60_000;

pub struct NewApiKey {
    pub name: String,
    /// `None`: the key follows its owner's scopes.
    pub scopes: Option<Vec<String>>,
    pub expires_at: Option<i64>,
}

/// An API key as its owner sees it; never the secret.
#[derive(Debug, Clone)]
pub struct ApiKeyInfo {
    pub id: String,
    pub prefix: String,
    pub name: String,
    pub scopes: Option<Vec<String>>,
    pub effective_scopes: Vec<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
}

/// A key with its secret, shown once (creation, rotation).
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub info: ApiKeyInfo,
    pub key: Secret,
}

pub struct MintedToken {
    pub token: Secret,
    pub expires_in: Duration,
}

/// Encrypts the copies of live tokens kept in the token store.
pub(super) struct TokenWrap(LessSafeKey);

impl TokenWrap {
    pub(super) fn new(key: &[u8]) -> anyhow::Result<Self> {
        let key = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| anyhow::anyhow!("token wrap key must be 32 bytes"))?;
        Ok(TokenWrap(LessSafeKey::new(key)))
    }

    fn seal(&self, token: &str) -> anyhow::Result<String> {
        let nonce = random_bytes::<NONCE_LEN>();
        let mut buf = token.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
            .map_err(|_| anyhow::anyhow!("seal failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    fn open(&self, sealed: &str) -> anyhow::Result<String> {
        let mut raw = URL_SAFE_NO_PAD.decode(sealed)?;
        anyhow::ensure!(raw.len() > NONCE_LEN, "sealed token too short");
        let mut body = raw.split_off(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(&raw).map_err(|_| anyhow::anyhow!("bad nonce"))?;
        let plain = self
            .0
            .open_in_place(nonce, Aad::empty(), &mut body)
            .map_err(|_| anyhow::anyhow!("sealed token does not open"))?;
        Ok(String::from_utf8(plain.to_vec())?)
    }
}

#[derive(Default)]
pub(super) struct Touched(Mutex<HashMap<String, i64>>);

fn hash_b64(s: &str) -> String {
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(s.as_bytes()))
}

fn valid_id(id: &str) -> bool {
    id.len() == ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `lk_<id>_<secret>` → id.
fn parse_key(key: &str) -> Option<&str> {
    let (id, secret) = key.strip_prefix(KEY_PREFIX)?.split_once('_')?;
    (valid_id(id) && secret.len() >= 32).then_some(id)
}

/// `lkt_<id>_<generation>_<secret>` → (id, generation).
fn parse_token(token: &str) -> Option<(&str, i64)> {
    let mut parts = token.strip_prefix(TOKEN_PREFIX)?.splitn(3, '_');
    let (id, generation, secret) = (parts.next()?, parts.next()?, parts.next()?);
    (valid_id(id) && secret.len() >= 32).then_some(())?;
    Some((id, generation.parse().ok()?))
}

fn new_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let limit = 256 - 256 % ALPHABET.len();
    let mut id = String::with_capacity(ID_LEN);
    while id.len() < ID_LEN {
        for b in random_bytes::<32>() {
            if (b as usize) < limit && id.len() < ID_LEN {
                id.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
    }
    id
}

/// Scope names: `orders:read`, `billing.admin`… Short, printable, no spaces (they travel
/// space-separated).
pub fn parse_scopes(raw: &[String]) -> AuthResult<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for s in raw {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":._-*/".contains(&b));
        if !ok {
            return Err(AuthError::invalid_field(
                "scopes",
                format!(
                    "{s:?} is not a valid scope name (letters, digits and : . _ - * /, at most 64)"
                ),
            ));
        }
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    if out.len() > 100 {
        return Err(AuthError::invalid_field("scopes", "at most 100 scopes"));
    }
    Ok(out)
}

fn effective(key_scopes: &Option<Vec<String>>, owner: &[String]) -> Vec<String> {
    match key_scopes {
        None => owner.to_vec(),
        Some(own) => own.iter().filter(|s| owner.contains(s)).cloned().collect(),
    }
}

fn parse_name(name: &str) -> AuthResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AuthError::invalid_field(
            "name",
            "must be 1 to 100 characters",
        ));
    }
    Ok(name.to_owned())
}

impl Auth {
    fn info(&self, row: &ApiKeyRow, owner_scopes: &[String]) -> ApiKeyInfo {
        ApiKeyInfo {
            id: row.id.clone(),
            prefix: format!("{KEY_PREFIX}{}", row.id),
            name: row.name.clone(),
            scopes: row.scopes.clone(),
            effective_scopes: effective(&row.scopes, owner_scopes),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
        }
    }

    /// Creates a key for `user_id`; `granter_scopes` bounds what it may carry.
    pub(super) async fn create_key_for(
        &self,
        user_id: &str,
        new: NewApiKey,
    ) -> AuthResult<CreatedKey> {
        let name = parse_name(&new.name)?;
        let scopes = new.scopes.as_deref().map(parse_scopes).transpose()?;
        self.check_catalogued(scopes.as_deref().unwrap_or_default())?;
        let now = self.clock.now_ms();
        if new.expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::invalid_field(
                "expires_at",
                "must be in the future",
            ));
        }
        let owner = self.user(user_id).await?;
        if let Some(s) = scopes.iter().flatten().find(|s| !owner.scopes.contains(s)) {
            // Nobody hands a key more than its owner holds.
            return Err(AuthError::InsufficientScope(s.clone()));
        }
        let id = new_id();
        let key = format!("{KEY_PREFIX}{id}_{}", random_token::<32>());
        let row = ApiKeyRow {
            id: id.clone(),
            user_id: user_id.to_owned(),
            name,
            secret_hash: hash_b64(&key),
            generation: 0,
            previous_hash: None,
            previous_until: None,
            scopes,
            created_at: now,
            last_used_at: None,
            expires_at: new.expires_at,
        };
        self.db.insert_api_key(&row).await?;
        self.publish_key(&id).await?;
        tracing::info!(key_id = %id, user_id, "api key created");
        Ok(CreatedKey {
            info: self.info(&row, &owner.scopes),
            key: Secret::new(key),
        })
    }

    pub async fn create_api_key(
        &self,
        caller: &Principal,
        new: NewApiKey,
    ) -> AuthResult<CreatedKey> {
        caller.require_session()?;
        self.create_key_for(&caller.user_id, new).await
    }

    pub async fn list_api_keys(&self, owner_id: &str) -> AuthResult<Vec<ApiKeyInfo>> {
        let owner = self.user(owner_id).await?;
        let rows = self.db.api_keys_of(owner_id).await?;
        Ok(rows.iter().map(|r| self.info(r, &owner.scopes)).collect())
    }

    /// The key, if `owner_id` owns it; anyone else's is "not found" (ids cannot be probed).
    async fn owned_key(&self, owner_id: &str, kid: &str) -> AuthResult<ApiKeyRow> {
        match self.db.api_key(kid).await? {
            Some(k) if k.user_id == owner_id => Ok(k),
            _ => Err(AuthError::NotFound("api key")),
        }
    }

    /// Renames and/or rescopes a key (`scopes: Some(None)` makes it follow the owner again).
    /// Live tokens carry the new scopes on their next use.
    pub async fn update_api_key(
        &self,
        caller: &Principal,
        kid: &str,
        name: Option<String>,
        scopes: Option<Option<Vec<String>>>,
    ) -> AuthResult<ApiKeyInfo> {
        caller.require_session()?;
        let mut row = self.owned_key(&caller.user_id, kid).await?;
        if let Some(name) = name {
            row.name = parse_name(&name)?;
        }
        if let Some(scopes) = scopes {
            let scopes = scopes.as_deref().map(parse_scopes).transpose()?;
            self.check_catalogued(scopes.as_deref().unwrap_or_default())?;
            if let Some(s) = scopes.iter().flatten().find(|s| !caller.has_scope(s)) {
                return Err(AuthError::InsufficientScope(s.clone()));
            }
            row.scopes = scopes;
        }
        if !self.db.update_api_key(kid, &row.name, &row.scopes).await? {
            return Err(AuthError::NotFound("api key"));
        }
        self.publish_key(kid).await?;
        Ok(self.info(&row, &caller.scopes))
    }

    /// A new secret for the same key id. Tokens of the old secret stop at once, or after
    /// `overlap` when one is asked (the old secret keeps minting until then too).
    pub async fn rotate_api_key(
        &self,
        caller: &Principal,
        kid: &str,
        overlap: Duration,
    ) -> AuthResult<CreatedKey> {
        caller.require_session()?;
        let row = self.owned_key(&caller.user_id, kid).await?;
        let now = self.clock.now_ms();
        let key = format!("{KEY_PREFIX}{kid}_{}", random_token::<32>());
        let until = (!overlap.is_zero()).then(|| now + overlap.as_millis() as i64);
        if !self
            .db
            .rotate_api_key(kid, row.generation, &hash_b64(&key), until, now)
            .await?
        {
            return Err(AuthError::Conflict(
                "the key was rotated concurrently; retry",
            ));
        }
        self.publish_key(kid).await?;
        if until.is_none() {
            self.state.drop_tokens(kid).await?;
        }
        tracing::info!(key_id = %kid, overlap_ms = overlap.as_millis() as u64, "api key rotated");
        let row = self.owned_key(&caller.user_id, kid).await?;
        Ok(CreatedKey {
            info: self.info(&row, &caller.scopes),
            key: Secret::new(key),
        })
    }

    pub async fn delete_api_key(&self, owner_id: &str, kid: &str) -> AuthResult<()> {
        self.owned_key(owner_id, kid).await?;
        self.db.delete_api_key(kid).await?;
        self.publish_key(kid).await?;
        self.state.drop_tokens(kid).await?;
        tracing::info!(key_id = %kid, "api key deleted");
        Ok(())
    }

    /// Rewrites the key's record from the database (a tombstone when the key is gone).
    pub(super) async fn publish_key(&self, kid: &str) -> AuthResult<()> {
        let rec = self.build_key_record(kid).await?;
        self.state.put_key(kid, &rec).await?;
        Ok(())
    }

    async fn build_key_record(&self, kid: &str) -> AuthResult<KeyRecord> {
        let tombstone = || KeyRecord {
            user_id: String::new(),
            org_id: String::new(),
            role: "member".into(),
            scopes: Vec::new(),
            secret_hash: String::new(),
            generation: -1,
            previous: None,
            expires_at: None,
            revoked: true,
            // Key ids are never reused: nothing may replace the tombstone.
            version: i64::MAX,
        };
        let Some(row) = self.db.api_key(kid).await? else {
            return Ok(tombstone());
        };
        let Some(owner) = self.db.user_by_id(&row.user_id).await? else {
            return Ok(tombstone());
        };
        Ok(KeyRecord {
            scopes: effective(&row.scopes, &owner.scopes),
            user_id: owner.id,
            org_id: owner.org_id,
            role: owner.role.as_str().to_owned(),
            secret_hash: row.secret_hash,
            generation: row.generation,
            previous: match (row.previous_hash, row.previous_until) {
                (Some(hash), Some(until)) => Some(PreviousSecret {
                    hash,
                    generation: row.generation - 1,
                    until,
                }),
                _ => None,
            },
            expires_at: row.expires_at,
            revoked: owner.disabled,
            version: owner.version,
        })
    }

    async fn key_record(&self, kid: &str, cached: Option<KeyRecord>) -> AuthResult<KeyRecord> {
        if let Some(rec) = cached {
            return Ok(rec);
        }
        let rec = self.build_key_record(kid).await?;
        // Only real keys are cached: unknown ids would let anyone fill the store.
        if rec.generation >= 0 {
            self.state.put_key_if_absent(kid, &rec).await?;
        }
        Ok(rec)
    }

    /// Which generation `key` is a secret of, if it may still be used.
    fn secret_generation(&self, rec: &KeyRecord, key: &str) -> Option<i64> {
        let h = hash_b64(key);
        let now = self.clock.now_ms();
        if rec.revoked || rec.expires_at.is_some_and(|at| at <= now) {
            return None;
        }
        if ct_eq(h.as_bytes(), rec.secret_hash.as_bytes()) {
            return Some(rec.generation);
        }
        rec.previous
            .as_ref()
            .filter(|p| p.until > now && ct_eq(h.as_bytes(), p.hash.as_bytes()))
            .map(|p| p.generation)
    }

    /// `/get-token`: the live token of this key (its expiry reset to the full TTL), or a new one.
    pub async fn get_token(&self, api_key: &str) -> AuthResult<MintedToken> {
        let bad = || AuthError::InvalidApiKey("the API key is unknown, revoked or expired");
        let kid = parse_key(api_key).ok_or_else(bad)?;
        let cached = self.state.key(kid).await?;
        let rec = self.key_record(kid, cached).await?;
        let generation = self.secret_generation(&rec, api_key).ok_or_else(bad)?;
        // A token never outlives its key.
        let ttl = match rec.expires_at {
            Some(at) => {
                let left =
                    std::time::Duration::from_millis((at - self.clock.now_ms()).max(0) as u64);
                self.settings
                    .api_token_ttl
                    .min(left)
                    .max(std::time::Duration::from_secs(1))
            }
            None => self.settings.api_token_ttl,
        };
        let (entry, _) = self
            .state
            .token_lookup(kid, generation, ttl, Slide::Always)
            .await?;
        let token = match entry.and_then(|e| self.open_entry(&e)) {
            Some(token) => token,
            None => {
                let fresh = format!("{TOKEN_PREFIX}{kid}_{generation}_{}", random_token::<32>());
                let entry = format!("{}|{}", hash_b64(&fresh), self.wrap.seal(&fresh)?);
                // Two first calls at once: both get the token that was stored first.
                let winner = self
                    .state
                    .token_insert(kid, generation, &entry, ttl)
                    .await?;
                self.open_entry(&winner)
                    .ok_or_else(|| anyhow::anyhow!("stored token entry does not open"))?
            }
        };
        self.touch_key(kid).await?;
        Ok(MintedToken {
            token: Secret::new(token),
            expires_in: ttl,
        })
    }

    /// The token inside a store entry `<hash>|<sealed token>`, checked against its hash.
    fn open_entry(&self, entry: &str) -> Option<String> {
        let (hash, sealed) = entry.split_once('|')?;
        let token = self.wrap.open(sealed).ok()?;
        ct_eq(hash_b64(&token).as_bytes(), hash.as_bytes()).then_some(token)
    }

    async fn touch_key(&self, kid: &str) -> AuthResult<()> {
        let now = self.clock.now_ms();
        let due = {
            let mut map = self.touched.0.lock().unwrap_or_else(|e| e.into_inner());
            if map
                .get(kid)
                .is_none_or(|last| now.saturating_sub(*last) >= TOUCH_EVERY_MS)
            {
                if map.len() > 100_000 {
                    map.clear();
                }
                map.insert(kid.to_owned(), now);
                true
            } else {
                false
            }
        };
        if due {
            self.db.touch_api_key(kid, now).await?;
        }
        Ok(())
    }

    /// The hot path for API callers: one round trip to the token store, which also slides the
    /// token's expiry back to the full TTL.
    pub(super) async fn authenticate_api_token(
        &self,
        token: &str,
        api_key: Option<&str>,
    ) -> AuthResult<Principal> {
        let (kid, generation) =
            parse_token(token).ok_or(AuthError::InvalidToken(TokenProblem::Malformed))?;
        let hash = hash_b64(token);
        let (entry, cached) = self
            .state
            .token_lookup(
                kid,
                generation,
                self.settings.api_token_ttl,
                Slide::IfEntryStartsWith(&format!("{hash}|")),
            )
            .await?;
        let entry = entry.ok_or(AuthError::InvalidToken(TokenProblem::Expired))?;
        let stored_hash = entry.split_once('|').map_or("", |(h, _)| h);
        if !ct_eq(hash.as_bytes(), stored_hash.as_bytes()) {
            return Err(AuthError::InvalidToken(TokenProblem::Unknown));
        }
        let rec = self.key_record(kid, cached).await?;
        let now = self.clock.now_ms();
        if rec.revoked {
            return Err(AuthError::InvalidToken(TokenProblem::Revoked));
        }
        if rec.expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::InvalidToken(TokenProblem::Expired));
        }
        let generation_ok = generation == rec.generation
            || rec
                .previous
                .as_ref()
                .is_some_and(|p| p.generation == generation && p.until > now);
        if !generation_ok {
            return Err(AuthError::InvalidToken(TokenProblem::Revoked));
        }
        if let Some(key) = api_key
            && (parse_key(key) != Some(kid) || self.secret_generation(&rec, key).is_none())
        {
            return Err(AuthError::InvalidApiKey(
                "x-api-key does not belong to this token",
            ));
        }
        Ok(Principal {
            user_id: rec.user_id,
            org_id: rec.org_id,
            role: crate::store::parse_column(&rec.role, "role")?,
            scopes: rec.scopes,
            credential: Credential::ApiToken {
                key_id: kid.to_owned(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_token_formats_parse() {
        let id = new_id();
        assert!(valid_id(&id));
        let key = format!("{KEY_PREFIX}{id}_{}", random_token::<32>());
        assert_eq!(parse_key(&key), Some(id.as_str()));
        let token = format!("{TOKEN_PREFIX}{id}_7_{}", random_token::<32>());
        assert_eq!(parse_token(&token), Some((id.as_str(), 7)));
        for bad in [
            "",
            "lk_",
            "lk_short_x",
            &format!("lk_{id}_tooshort"),
            "lkt_x_1_y",
        ] {
            assert_eq!(parse_key(bad), None, "{bad}");
            assert_eq!(parse_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn effective_scopes_are_the_intersection() {
        let owner = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(effective(&None, &owner), owner);
        assert_eq!(
            effective(&Some(vec!["b".into(), "c".into()]), &owner),
            vec!["b"]
        );
    }

    #[test]
    fn sealed_tokens_open_only_with_their_key() {
        let a = TokenWrap::new(&[1u8; 32]).unwrap();
        let b = TokenWrap::new(&[2u8; 32]).unwrap();
        let sealed = a.seal("lkt_token").unwrap();
        assert_eq!(a.open(&sealed).unwrap(), "lkt_token");
        assert!(b.open(&sealed).is_err());
        assert_ne!(
            sealed,
            a.seal("lkt_token").unwrap(),
            "fresh nonce each time"
        );
    }

    #[test]
    fn scope_names_are_checked() {
        assert!(parse_scopes(&["orders:read".into(), "a.b-c_d/e".into()]).is_ok());
        assert!(parse_scopes(&["has space".into()]).is_err());
        assert!(parse_scopes(&["".into()]).is_err());
        assert_eq!(parse_scopes(&["x".into(), "x".into()]).unwrap(), vec!["x"]);
    }
}
