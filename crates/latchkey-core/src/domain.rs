//! The domain's own types: organizations, users and roles as the rules and the API see them.
//! Storage builds them from rows; a stored user's password hash stays in the store's
//! `UserRow`, so nothing handed to the HTTP layer can carry it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err(()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub referral_code: String,
}

/// An organization as one of its members may see it.
#[derive(Debug, Clone)]
pub struct OrgProfile {
    pub id: String,
    pub name: String,
    /// The invite code lets anyone join, so only admins see it.
    pub referral_code: Option<String>,
}

impl OrgProfile {
    pub fn for_role(org: Org, role: Role) -> OrgProfile {
        OrgProfile {
            id: org.id,
            name: org.name,
            referral_code: (role == Role::Admin).then_some(org.referral_code),
        }
    }
}

#[derive(Clone)]
pub struct User {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub role: Role,
    pub scopes: Vec<String>,
    pub disabled: bool,
    /// Whether the user proved their address (a verification link or a mailed code).
    pub email_verified: bool,
    /// Bumped by every change to the user or their keys (fences the derived records).
    pub version: i64,
}

/// Ids and role only: email and phone are personal data and stay out of logs.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl User {
    pub fn scope_string(&self) -> String {
        self.scopes.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_see_the_referral_code() {
        let org = || Org {
            id: "o".into(),
            name: "n".into(),
            referral_code: "ABCDEFGHJK".into(),
        };
        assert_eq!(
            OrgProfile::for_role(org(), Role::Admin)
                .referral_code
                .as_deref(),
            Some("ABCDEFGHJK")
        );
        assert_eq!(
            OrgProfile::for_role(org(), Role::Member).referral_code,
            None
        );
    }
}
