//! The operator's master key: seals private signing keys and server secrets before they reach
//! the database, so a copy of the database (a backup, a dump, a stolen SQLite file) holds no
//! usable key material without it.
//!
//! A sealed value is `enc1:` + base64(nonce ‖ AES-256-GCM ciphertext ‖ tag). Each value gets a
//! fresh random nonce, and the row it belongs to (e.g. `signing_key:<kid>`) is bound as
//! associated data, so sealed values cannot be swapped between rows unnoticed. The version
//! prefix leaves room for another scheme or key later.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

use crate::secret::random_bytes;

/// The prefix of every value sealed under a master key.
pub const SEALED_PREFIX: &str = "enc1:";

pub struct MasterKey(LessSafeKey);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

/// Why a sealed value did not open. Never says anything about the key itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("the value is sealed but no master key is configured")]
    NoKey,
    #[error("the master key does not decrypt the value")]
    WrongKey,
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> MasterKey {
        let key = UnboundKey::new(&AES_256_GCM, bytes).expect("AES-256 takes 32-byte keys");
        MasterKey(LessSafeKey::new(key))
    }

    /// 32 bytes as 64 hex digits or as base64 (standard or URL-safe, padded or not).
    /// Surrounding whitespace (a trailing newline in a key file) is ignored. The error never
    /// repeats the text: it is a secret, even when mistyped.
    pub fn parse(text: &str) -> anyhow::Result<MasterKey> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            decode_hex(text)
        } else {
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
        };
        let bytes: [u8; 32] = bytes.and_then(|b| b.try_into().ok()).ok_or_else(|| {
            anyhow::anyhow!(
                "the master key must be 32 bytes as base64 or 64 hex digits \
                     (generate one with `openssl rand -base64 32`)"
            )
        })?;
        Ok(MasterKey::from_bytes(&bytes))
    }

    /// Seals `plain` for the row named `context`.
    pub fn seal(&self, plain: &str, context: &str) -> String {
        let nonce = random_bytes::<NONCE_LEN>();
        let mut buf = plain.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .expect("AES-GCM seals any value shorter than 64 GiB");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(out))
    }

    /// Opens a value sealed for the row named `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, OpenError> {
        let raw = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|raw| raw.len() > NONCE_LEN)
            .ok_or(OpenError::WrongKey)?;
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::WrongKey)?;
        let mut body = body.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut body)
            .map_err(|_| OpenError::WrongKey)?;
        String::from_utf8(plain.to_vec()).map_err(|_| OpenError::WrongKey)
    }
}

pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

/// A stored value as plaintext: opened when sealed, as is otherwise.
pub fn reveal(key: Option<&MasterKey>, stored: &str, context: &str) -> Result<String, OpenError> {
    match (is_sealed(stored), key) {
        (false, _) => Ok(stored.to_owned()),
        (true, Some(key)) => key.open(stored, context),
        (true, None) => Err(OpenError::NoKey),
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn sealed_values_open_only_with_their_key_and_row() {
        let a = MasterKey::from_bytes(&[1; 32]);
        let b = MasterKey::from_bytes(&[2; 32]);
        let sealed = a.seal("secret", "signing_key:k1");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("secret"));
        assert_eq!(a.open(&sealed, "signing_key:k1").unwrap(), "secret");
        assert_eq!(b.open(&sealed, "signing_key:k1"), Err(OpenError::WrongKey));
        assert_eq!(a.open(&sealed, "signing_key:k2"), Err(OpenError::WrongKey));
        assert_ne!(
            sealed,
            a.seal("secret", "signing_key:k1"),
            "a nonce per value"
        );
        assert_eq!(a.open("enc1:garbage", "x"), Err(OpenError::WrongKey));
    }

    #[test]
    fn reveal_passes_plaintext_and_needs_a_key_for_sealed_values() {
        let a = MasterKey::from_bytes(&[1; 32]);
        assert_eq!(reveal(None, "plain", "x").unwrap(), "plain");
        assert_eq!(reveal(Some(&a), "plain", "x").unwrap(), "plain");
        let sealed = a.seal("v", "x");
        assert_eq!(reveal(None, &sealed, "x"), Err(OpenError::NoKey));
        assert_eq!(reveal(Some(&a), &sealed, "x").unwrap(), "v");
    }

    #[test]
    fn hex_and_base64_of_the_same_bytes_are_the_same_key() {
        let bytes: Vec<u8> = (0u8..32).collect();
        let from_hex = MasterKey::parse(&format!("{HEX}\n")).unwrap();
        let from_b64 = MasterKey::parse(&STANDARD.encode(&bytes)).unwrap();
        let from_url = MasterKey::parse(&URL_SAFE_NO_PAD.encode(&bytes)).unwrap();
        let sealed = from_hex.seal("v", "x");
        assert_eq!(from_b64.open(&sealed, "x").unwrap(), "v");
        assert_eq!(from_url.open(&sealed, "x").unwrap(), "v");
    }

    #[test]
    fn keys_of_the_wrong_size_or_form_are_refused_without_echoing_them() {
        for bad in [
            "",
            "short",
            &HEX[..62],
            &STANDARD.encode([7u8; 31]),
            "zz".repeat(32).as_str(),
        ] {
            let e = MasterKey::parse(bad).unwrap_err().to_string();
            assert!(e.contains("32 bytes"), "{e}");
            assert!(bad.is_empty() || !e.contains(bad), "{e}");
        }
    }
}
