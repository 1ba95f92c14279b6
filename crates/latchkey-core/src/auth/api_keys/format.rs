//! The strings: key and token formats, ids, names, and the hash kept in their place.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{KEY_PREFIX, TOKEN_PREFIX};
use crate::error::{AuthError, AuthResult};
use crate::secret::random_bytes;

const ID_LEN: usize = 16;

pub(super) fn hash_b64(s: &str) -> String {
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
pub(super) fn parse_key(key: &str) -> Option<&str> {
    let (id, secret) = key.strip_prefix(KEY_PREFIX)?.split_once('_')?;
    (valid_id(id) && secret.len() >= 32).then_some(id)
}

/// `lkt_<id>_<generation>_<secret>` → (id, generation).
pub(super) fn parse_token(token: &str) -> Option<(&str, i64)> {
    let mut parts = token.strip_prefix(TOKEN_PREFIX)?.splitn(3, '_');
    let (id, generation, secret) = (parts.next()?, parts.next()?, parts.next()?);
    (valid_id(id) && secret.len() >= 32).then_some(())?;
    Some((id, generation.parse().ok()?))
}

pub(super) fn new_id() -> String {
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

pub(super) fn parse_name(name: &str) -> AuthResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AuthError::invalid_field(
            "name",
            "must be 1 to 100 characters",
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::random_token;

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
}
