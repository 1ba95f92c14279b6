//! The scope catalogue: the only scopes that exist. The operator lists them (`scopes` in the
//! configuration); an organization admin may grant a member any of them, an API key may carry
//! any of its owner's, and nothing else can be granted or honoured. Anyone can found an
//! organization by signing up, so a scope name alone must never be enough to reach another
//! party's API: that is what a policy rule's `org` is for.

use super::scopes::parse_scopes;
use super::{Auth, Settings};
use crate::error::{AuthError, AuthResult};

impl Settings {
    /// Refuses a catalogue with malformed names, or default scopes outside it.
    pub fn check_scopes(&self) -> anyhow::Result<()> {
        parse_scopes(&self.scope_catalogue)
            .map_err(|e| anyhow::anyhow!("scopes (the scope catalogue): {e}"))?;
        if let Some(s) = self
            .default_scopes
            .iter()
            .find(|s| !self.scope_catalogue.contains(s))
        {
            anyhow::bail!("default_scopes: {s:?} is not in the scope catalogue (scopes)");
        }
        Ok(())
    }
}

impl Auth {
    /// Only catalogue scopes may be granted to a member or an API key.
    pub(super) fn check_catalogued(&self, scopes: &[String]) -> AuthResult<()> {
        match scopes
            .iter()
            .find(|s| !self.settings.scope_catalogue.contains(s))
        {
            Some(s) => Err(AuthError::UnknownScope(s.clone())),
            None => Ok(()),
        }
    }

    /// Drops grants of scopes the operator has since removed from the catalogue: they stop
    /// counting at once, without rewriting any user or key.
    pub(super) fn honoured(&self, scopes: &mut Vec<String>) {
        scopes.retain(|s| self.settings.scope_catalogue.contains(s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_scopes_must_be_in_the_catalogue() {
        let mut s = Settings::for_issuer("http://x");
        assert!(s.check_scopes().is_ok(), "empty catalogue, no defaults");
        s.default_scopes = vec!["orders:read".into()];
        let e = s.check_scopes().unwrap_err().to_string();
        assert!(e.contains("orders:read"), "{e}");
        s.scope_catalogue = vec!["orders:read".into()];
        assert!(s.check_scopes().is_ok());
        s.scope_catalogue.push("has space".into());
        assert!(s.check_scopes().is_err());
    }
}
