//! Access tokens: EdDSA (Ed25519) JWTs with a `kid` header.
//!
//! Verification pins the algorithm, picks the key by `kid`, and checks `iss`, `aud` and `exp`
//! against the injected clock (jsonwebtoken's own expiry check reads the system clock, so it is
//! turned off and done here). Verified tokens are cached until their `exp`, keyed by the whole
//! token string: an Ed25519 verify costs ~40 µs, a map lookup well under one.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, Mutex};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

use crate::clock::Clock;
use crate::error::TokenProblem;

/// Seconds of clock skew tolerated on `exp`.
pub const LEEWAY_SECS: i64 = 5;

/// The claims of an access token: part of the wire contract, shared with the guards.
pub use latchkey_api::AccessClaims;

/// A stored signing key: the PKCS#8 document is private key material and never logged.
#[derive(Clone)]
pub struct StoredKey {
    pub kid: String,
    pub pkcs8_b64: String,
    pub public_b64: String,
    pub created_at_ms: i64,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl StoredKey {
    /// The key a 32-byte seed determines; its kid is derived from the public key.
    pub fn from_seed(seed: &[u8], now_ms: i64) -> anyhow::Result<StoredKey> {
        use sha2::Digest;
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| anyhow::anyhow!("invalid Ed25519 seed"))?;
        let doc = pair
            .to_pkcs8()
            .map_err(|_| anyhow::anyhow!("cannot encode the Ed25519 key"))?;
        let public = pair.public_key().as_ref();
        let kid = URL_SAFE_NO_PAD.encode(&sha2::Sha256::digest(public)[..12]);
        Ok(StoredKey {
            kid,
            pkcs8_b64: STANDARD.encode(doc.as_ref()),
            public_b64: URL_SAFE_NO_PAD.encode(public),
            created_at_ms: now_ms,
        })
    }

    pub fn generate(now_ms: i64) -> anyhow::Result<StoredKey> {
        let doc = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new())
            .map_err(|_| anyhow::anyhow!("Ed25519 key generation failed"))?;
        let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref())
            .map_err(|_| anyhow::anyhow!("generated key does not parse"))?;
        Ok(StoredKey {
            kid: crate::secret::random_token::<12>(),
            pkcs8_b64: STANDARD.encode(doc.as_ref()),
            public_b64: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
            created_at_ms: now_ms,
        })
    }
}

struct LoadedKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    public_b64: String,
}

/// The set of keys that verify, and the one that signs (the newest).
pub struct Keyring {
    keys: Vec<LoadedKey>,
    validation: Validation,
    cache: VerifiedCache,
}

impl Keyring {
    pub fn new(stored: &[StoredKey], issuer: &str, audience: &str) -> anyhow::Result<Keyring> {
        anyhow::ensure!(!stored.is_empty(), "no signing key");
        let mut sorted: Vec<&StoredKey> = stored.iter().collect();
        sorted.sort_by_key(|k| std::cmp::Reverse(k.created_at_ms));
        let mut keys = Vec::new();
        for k in sorted {
            let der = STANDARD.decode(&k.pkcs8_b64)?;
            let public = URL_SAFE_NO_PAD.decode(&k.public_b64)?;
            keys.push(LoadedKey {
                kid: k.kid.clone(),
                encoding: EncodingKey::from_ed_der(&der),
                decoding: DecodingKey::from_ed_der(&public),
                public_b64: k.public_b64.clone(),
            });
        }
        // Only the algorithm we issue: this refuses `alg: none` and HS256-with-the-public-key.
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.validate_exp = false; // checked against the injected clock below
        validation.validate_nbf = false;
        Ok(Keyring {
            keys,
            validation,
            cache: VerifiedCache::default(),
        })
    }

    /// Ed25519 signatures are deterministic: the same claims always give the same token, which
    /// is how a refresh replay inside the grace hands back the very access token issued before.
    pub fn sign(&self, claims: &AccessClaims) -> anyhow::Result<String> {
        let key = &self.keys[0];
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &key.encoding)?)
    }

    /// Full verification: signature, algorithm, `kid`, `iss`, `aud`, and `exp` (with leeway).
    pub fn verify(&self, token: &str, clock: &Clock) -> Result<Arc<AccessClaims>, TokenProblem> {
        let now = clock.now_secs();
        if let Some(claims) = self.cache.get(token, now) {
            return Ok(claims);
        }
        let claims = self.verify_signature(token)?;
        if claims.exp + LEEWAY_SECS < now {
            return Err(TokenProblem::Expired);
        }
        let claims = Arc::new(claims);
        self.cache.put(token, claims.clone(), now);
        Ok(claims)
    }

    /// Everything but expiry: for the lenient refresh, which bounds the age itself.
    pub fn verify_signature(&self, token: &str) -> Result<AccessClaims, TokenProblem> {
        use jsonwebtoken::errors::ErrorKind;
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenProblem::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenProblem::BadSignature);
        }
        let kid = header.kid.ok_or(TokenProblem::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TokenProblem::UnknownKey)?;
        jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature
                | ErrorKind::InvalidAlgorithm
                | ErrorKind::InvalidAlgorithmName
                | ErrorKind::InvalidKeyFormat => TokenProblem::BadSignature,
                ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => {
                    TokenProblem::WrongIssuerOrAudience
                }
                ErrorKind::ExpiredSignature => TokenProblem::Expired,
                _ => TokenProblem::Malformed,
            })
    }

    /// The ids of the keys that verify, newest (the signing key) first.
    pub fn kids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.kid.clone()).collect()
    }

    /// The public keys as a JWK set (RFC 7517, OKP keys of RFC 8037).
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self
            .keys
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                    "kid": k.kid, "x": k.public_b64,
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

/// Verified tokens until their expiry. Sharded to keep lock contention off the hot path;
/// bounded, with expired entries swept when a shard fills.
struct VerifiedCache {
    shards: Vec<Mutex<Shard>>,
}

type Shard = HashMap<Box<str>, Arc<AccessClaims>, BuildHasherDefault<SignatureHasher>>;

/// Hashes a token by its last 16 bytes: the end of an Ed25519 signature, already uniformly
/// random. Only tokens whose signature verified are ever inserted, so nobody can flood a
/// bucket; SipHash over the whole ~450-byte token was a visible share of a `/me` request.
#[derive(Default)]
struct SignatureHasher(u64);

impl std::hash::Hasher for SignatureHasher {
    fn write(&mut self, bytes: &[u8]) {
        let tail = &bytes[bytes.len().saturating_sub(16)..];
        for chunk in tail.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

const SHARDS: usize = 16;
const SHARD_CAPACITY: usize = 8192;

impl Default for VerifiedCache {
    fn default() -> Self {
        VerifiedCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }
}

impl VerifiedCache {
    fn shard(&self, token: &str) -> &Mutex<Shard> {
        // The token ends in its signature: its last bytes are as good as a hash.
        let b = token.as_bytes();
        let idx = b.last().copied().unwrap_or(0) as usize ^ b.len();
        &self.shards[idx % SHARDS]
    }

    fn get(&self, token: &str, now: i64) -> Option<Arc<AccessClaims>> {
        let shard = self.shard(token).lock().ok()?;
        shard
            .get(token)
            .filter(|c| c.exp + LEEWAY_SECS >= now)
            .cloned()
    }

    fn put(&self, token: &str, claims: Arc<AccessClaims>, now: i64) {
        let Ok(mut shard) = self.shard(token).lock() else {
            return;
        };
        if shard.len() >= SHARD_CAPACITY {
            shard.retain(|_, c| c.exp + LEEWAY_SECS >= now);
            if shard.len() >= SHARD_CAPACITY {
                shard.clear();
            }
        }
        shard.insert(token.into(), claims);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> (Keyring, Clock) {
        let clock = Clock::manual();
        let key = StoredKey::generate(clock.now_ms()).unwrap();
        (
            Keyring::new(&[key], "https://issuer", "aud").unwrap(),
            clock,
        )
    }

    fn claims(clock: &Clock, ttl: i64) -> AccessClaims {
        AccessClaims {
            iss: "https://issuer".into(),
            aud: "aud".into(),
            sub: "u1".into(),
            sid: "s1".into(),
            org: "o1".into(),
            role: "admin".into(),
            scope: "a b".into(),
            iat: clock.now_secs(),
            exp: clock.now_secs() + ttl,
            jti: "j1".into(),
            lnt: false,
            cap: None,
        }
    }

    #[test]
    fn signs_deterministically_and_verifies() {
        let (ring, clock) = ring();
        let c = claims(&clock, 60);
        let t = ring.sign(&c).unwrap();
        assert_eq!(t, ring.sign(&c).unwrap());
        assert_eq!(*ring.verify(&t, &clock).unwrap(), c);
    }

    #[test]
    fn expiry_follows_the_injected_clock_even_when_cached() {
        let (ring, clock) = ring();
        let t = ring.sign(&claims(&clock, 60)).unwrap();
        assert!(ring.verify(&t, &clock).is_ok());
        clock.advance(std::time::Duration::from_secs(66));
        assert_eq!(ring.verify(&t, &clock).unwrap_err(), TokenProblem::Expired);
        assert!(ring.verify_signature(&t).is_ok());
    }

    #[test]
    fn another_keys_token_is_refused() {
        let (ring, clock) = ring();
        let (other, _) = self::ring();
        let t = other.sign(&claims(&clock, 60)).unwrap();
        assert_eq!(
            ring.verify(&t, &clock).unwrap_err(),
            TokenProblem::UnknownKey
        );
    }

    #[test]
    fn a_seed_always_gives_the_same_key() {
        let a = StoredKey::from_seed(&[7u8; 32], 1).unwrap();
        let b = StoredKey::from_seed(&[7u8; 32], 2).unwrap();
        let c = StoredKey::from_seed(&[8u8; 32], 1).unwrap();
        assert_eq!(
            (a.kid.as_str(), a.public_b64.as_str()),
            (b.kid.as_str(), b.public_b64.as_str())
        );
        assert_ne!(a.kid, c.kid);
        let ring = Keyring::new(&[a], "i", "a").unwrap();
        let clock = Clock::manual();
        let mut claims = claims(&clock, 60);
        (claims.iss, claims.aud) = ("i".into(), "a".into());
        assert!(ring.verify(&ring.sign(&claims).unwrap(), &clock).is_ok());
    }

    #[test]
    fn garbage_is_malformed() {
        let (ring, clock) = ring();
        for t in ["", "abc", "a.b.c", "eyJhbGciOiJFZERTQSJ9.e30."] {
            assert!(ring.verify(t, &clock).is_err(), "{t}");
        }
    }
}
