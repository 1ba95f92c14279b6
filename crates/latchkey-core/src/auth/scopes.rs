//! Scope names and how a key's scopes combine with its owner's.

use crate::error::{AuthError, AuthResult};

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
}
