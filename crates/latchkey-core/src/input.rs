//! Input parsed into domain types at the edge: once a value is an `Email` or a `Phone`, nothing
//! downstream needs to check it again.

use crate::error::AuthError;

/// An email address as the user typed it (trimmed), with its case-folded form for uniqueness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    display: String,
    normalized: String,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Email, AuthError> {
        let s = raw.trim();
        let invalid = || AuthError::invalid_field("email", "is not a valid email address");
        // RFC 5321 limits; a deliberately small syntax check (the mailbox's existence is what a
        // verification mail proves, not a regex).
        if s.is_empty() || s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = !domain.is_empty()
            && domain.len() <= 253
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(invalid());
        }
        Ok(Email {
            display: s.to_owned(),
            normalized: s.to_lowercase(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The key that makes `Ann@Example.com` and `ann@example.com` one account.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

/// A phone number in E.164 (`+` and 7 to 15 digits, no leading zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Phone, AuthError> {
        let s: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = s.strip_prefix('+').unwrap_or("");
        if (7..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0')
        {
            Ok(Phone(s))
        } else {
            Err(AuthError::invalid_field(
                "phone",
                "must be in E.164 form, e.g. +14155550123",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: trimmed, at most 200 characters, no control characters.
pub fn parse_name(raw: Option<&str>) -> Result<Option<String>, AuthError> {
    let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if s.chars().count() > 200 || s.chars().any(char::is_control) {
        return Err(AuthError::invalid_field(
            "name",
            "must be at most 200 characters without control characters",
        ));
    }
    Ok(Some(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["a@b.co", " Ann.Lee+x@Example.COM ", "x@sub.domain.io"] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "plain", "@b.co", "a@", "a@b", "a b@c.de", "a@.b.co", "a@b..co", "a@b.co.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let e = Email::parse(" Ann@Example.COM").unwrap();
        assert_eq!(e.as_str(), "Ann@Example.COM");
        assert_eq!(e.normalized(), "ann@example.com");
    }

    #[test]
    fn phones() {
        assert_eq!(
            Phone::parse("+1 (415) 555-0123").unwrap().as_str(),
            "+14155550123"
        );
        for bad in [
            "4155550123",
            "+0123456789",
            "+12",
            "+1234567890123456",
            "+1415abc0123",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(parse_name(Some("  Ann ")).unwrap().as_deref(), Some("Ann"));
        assert_eq!(parse_name(Some("   ")).unwrap(), None);
        assert!(parse_name(Some(&"x".repeat(201))).is_err());
        assert!(parse_name(Some("a\u{0}b")).is_err());
    }
}
