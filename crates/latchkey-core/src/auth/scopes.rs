//! Scope names, how a key's scopes combine with its owner's, and the cap of a narrowed grant
//! (the ceiling an OAuth `scope` request sets, carried by every later refresh).

use super::Auth;
use crate::domain::User;
use crate::error::{AuthError, AuthResult};
use crate::jwt::AccessClaims;

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

/// What a key may do: its own scopes ∩ its owner's, or the owner's when it has none of its own.
pub(super) fn effective(key_scopes: &Option<Vec<String>>, owner: &[String]) -> Vec<String> {
    match key_scopes {
        None => owner.to_vec(),
        Some(own) => own.iter().filter(|s| owner.contains(s)).cloned().collect(),
    }
}

/// The cap of a grant from the access claims stored with its refresh token. Claims that do not
/// read are an error, never "no cap": that would hand out the full scopes.
pub(super) fn cap_of(stored_claims: &str) -> AuthResult<Option<String>> {
    let claims: AccessClaims = serde_json::from_str(stored_claims).map_err(anyhow::Error::from)?;
    Ok(claims.cap)
}

pub(super) fn cap_holds(cap: &str, scope: &str) -> bool {
    cap.split(' ').any(|c| c == scope)
}

/// Parses a `scope` parameter: space-separated, no empty entries (RFC 6749 §3.3).
pub fn parse_scope(raw: &str) -> AuthResult<Vec<String>> {
    let scopes: Vec<String> = raw.split(' ').map(str::to_owned).collect();
    // NQCHAR: printable ASCII but space, `"` and `\`.
    let printable = |s: &str| {
        s.bytes()
            .all(|b| b == 0x21 || ((0x23..=0x7e).contains(&b) && b != b'\\'))
    };
    if scopes.iter().any(|s| s.is_empty() || !printable(s)) {
        return Err(AuthError::invalid_field(
            "scope",
            "scopes are separated by single spaces and use printable characters only",
        ));
    }
    Ok(scopes)
}

impl Auth {
    /// Narrows freshly built claims to a grant's cap: the scopes the user holds now (and the
    /// catalogue honours) within the cap, which travels on unchanged, so the ceiling never
    /// rises, whatever the user is granted later.
    pub(super) fn apply_cap(&self, claims: &mut AccessClaims, user: &User, cap: &str) {
        let mut held = user.scopes.clone();
        self.honoured(&mut held);
        held.retain(|s| cap_holds(cap, s));
        claims.scope = held.join(" ");
        claims.cap = Some(cap.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn scope_names_are_checked() {
        assert!(parse_scopes(&["orders:read".into(), "a.b-c_d/e".into()]).is_ok());
        assert!(parse_scopes(&["has space".into()]).is_err());
        assert!(parse_scopes(&["".into()]).is_err());
        assert_eq!(parse_scopes(&["x".into(), "x".into()]).unwrap(), vec!["x"]);
    }

    #[test]
    fn scope_parameter_is_space_separated_printable_tokens() {
        assert_eq!(parse_scope("read write").unwrap(), ["read", "write"]);
        assert_eq!(parse_scope("a:b").unwrap(), ["a:b"]);
        for bad in [
            "",
            "read  write",
            " read",
            "read ",
            "re\"ad",
            "r\u{e9}ad",
            "a\\b",
        ] {
            assert!(parse_scope(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
