//! Encrypts the copies of live tokens kept in the token store, so `/get-token` can hand the
//! same token back while a dump of the store reveals none.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::secret::random_bytes;

pub(in crate::auth) struct TokenWrap(LessSafeKey);

impl TokenWrap {
    pub(in crate::auth) fn new(key: &[u8]) -> anyhow::Result<Self> {
        let key = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| anyhow::anyhow!("token wrap key must be 32 bytes"))?;
        Ok(TokenWrap(LessSafeKey::new(key)))
    }

    pub(super) fn seal(&self, token: &str) -> anyhow::Result<String> {
        let nonce = random_bytes::<NONCE_LEN>();
        let mut buf = token.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
            .map_err(|_| anyhow::anyhow!("seal failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    pub(super) fn open(&self, sealed: &str) -> anyhow::Result<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
