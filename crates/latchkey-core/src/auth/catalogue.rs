//! The scope catalogue: the only scopes that exist. The operator lists them (`scopes` in the
//! configuration); an API key may carry any of its owner's, and nothing else can be granted or
//! honoured. Anyone can found an organization by signing up, so what an organization admin may
//! grant is the operator's choice: only `admin_grantable_scopes` (and the default scopes every
//! user starts with); every other catalogue scope is granted by an operator. A scope name alone
//! must still never be enough to reach another party's API: that is what a policy rule's `org`
//! is for.
//!
//! Reserved scopes (`latchkey:…`) are Latchkey's own: always known, never listed by the
//! operator, never a default, and granted by operators only.

use super::principal::Principal;
use super::scopes::parse_scopes;
use super::{Auth, Settings};
use crate::error::{AuthError, AuthResult};

/// Lets an API key (as an OAuth client) or a token introspect its organization's tokens.
pub const INTROSPECT_SCOPE: &str = "latchkey:introspect";
/// Latchkey's own scopes, always in the catalogue, granted by operators only.
pub const RESERVED_SCOPES: &[&str] = &[INTROSPECT_SCOPE];
const RESERVED_PREFIX: &str = "latchkey:";

/// A scope of the catalogue, and whether the one who asked may add it to a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueScope {
    pub name: String,
    pub grantable: bool,
}

impl Settings {
    /// Refuses a catalogue with malformed or reserved names, and default or admin-grantable
    /// scopes outside it.
    pub fn check_scopes(&self) -> anyhow::Result<()> {
        parse_scopes(&self.scopes)
            .map_err(|e| anyhow::anyhow!("scopes (the scope catalogue): {e}"))?;
        if let Some(s) = self.scopes.iter().find(|s| s.starts_with(RESERVED_PREFIX)) {
            anyhow::bail!(
                "scopes: {s:?} is reserved (names starting with {RESERVED_PREFIX:?} are \
                 Latchkey's own, always known and granted by operators only)"
            );
        }
        for (setting, list) in [
            ("default_scopes", &self.default_scopes),
            ("admin_grantable_scopes", &self.admin_grantable_scopes),
        ] {
            if let Some(s) = list.iter().find(|s| !self.scopes.contains(s)) {
                anyhow::bail!("{setting}: {s:?} is not in the scope catalogue (scopes)");
            }
        }
        Ok(())
    }
}

impl Auth {
    fn known(&self, scope: &str) -> bool {
        self.settings.scopes.iter().any(|s| s == scope) || RESERVED_SCOPES.contains(&scope)
    }

    /// Only catalogue scopes may be granted to a member or an API key.
    pub(super) fn check_catalogued(&self, scopes: &[String]) -> AuthResult<()> {
        match scopes.iter().find(|s| !self.known(s)) {
            Some(s) => Err(AuthError::UnknownScope(s.clone())),
            None => Ok(()),
        }
    }

    /// What an organization admin may add to a member's scopes: what the operator marked
    /// grantable, and the default scopes everyone starts with. Strangers found organizations,
    /// so nothing else may be self-granted.
    pub(super) fn admin_may_grant(&self, scope: &str) -> bool {
        let s = &self.settings;
        s.admin_grantable_scopes.iter().any(|g| g == scope)
            || s.default_scopes.iter().any(|g| g == scope)
    }

    /// The catalogue as a member editor shows it: every scope, in the operator's order, then
    /// the reserved ones, each marked with whether `caller` may add it. Organization admins
    /// and operators only (an operator may grant them all).
    pub async fn scope_catalogue(&self, caller: &Principal) -> AuthResult<Vec<CatalogueScope>> {
        let operator = self.is_operator(caller).await?;
        if !operator {
            caller.require_admin()?;
        }
        let names = self.settings.scopes.iter().map(String::as_str);
        Ok(names
            .chain(RESERVED_SCOPES.iter().copied())
            .map(|name| CatalogueScope {
                name: name.to_owned(),
                grantable: operator || self.admin_may_grant(name),
            })
            .collect())
    }

    /// Drops grants of scopes the operator has since removed from the catalogue: they stop
    /// counting at once, without rewriting any user or key.
    pub(super) fn honoured(&self, scopes: &mut Vec<String>) {
        scopes.retain(|s| self.known(s));
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
        s.scopes = vec!["orders:read".into()];
        assert!(s.check_scopes().is_ok());
        s.scopes.push("has space".into());
        assert!(s.check_scopes().is_err());
    }

    #[test]
    fn admin_grantable_scopes_must_be_in_the_catalogue_and_reserved_names_are_refused() {
        let mut s = Settings::for_issuer("http://x");
        s.scopes = vec!["orders:read".into()];
        s.admin_grantable_scopes = vec!["orders:write".into()];
        let e = s.check_scopes().unwrap_err().to_string();
        assert!(
            e.contains("admin_grantable_scopes") && e.contains("orders:write"),
            "{e}"
        );
        s.admin_grantable_scopes = vec!["orders:read".into()];
        assert!(s.check_scopes().is_ok());
        s.admin_grantable_scopes = vec![INTROSPECT_SCOPE.into()];
        assert!(
            s.check_scopes().is_err(),
            "a reserved scope is never admin-grantable"
        );
        s.admin_grantable_scopes.clear();
        s.default_scopes = vec![INTROSPECT_SCOPE.into()];
        assert!(s.check_scopes().is_err(), "nor a default");
        s.default_scopes.clear();
        s.scopes.push("latchkey:mine".into());
        let e = s.check_scopes().unwrap_err().to_string();
        assert!(e.contains("reserved"), "{e}");
    }
}
