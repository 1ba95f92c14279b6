//! The forward-auth policy: who may make a method + path request to someone else's API.
//!
//! ```toml
//! [[rule]]
//! methods = ["GET"]
//! path = "/orders/*"        # * = one segment, ** = any depth
//! scopes = ["orders:read"]  # all required; [] = any valid token
//! org = "3f2c…"             # optional: only these organizations (one id or a list)
//! role = "admin"            # optional: only a user's own session with this role
//! query_token = true        # optional: a WebSocket upgrade may carry its token in the query
//! ```
//! First match wins; no match is denied.

mod matcher;
mod request;

use serde::Deserialize;
use toml::Spanned;

use crate::auth::{Credential, Principal};
use crate::domain::Role;
use crate::error::{AuthError, AuthResult};
use matcher::Segment;
pub use request::{MAX_URI_LEN, OriginalRequest, Unmatchable};

#[derive(Debug, Clone, Default)]
pub struct Policy {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Upper-case; empty means any method.
    methods: Vec<String>,
    pattern: Vec<Segment>,
    pub scopes: Vec<String>,
    /// Organization ids the rule admits; empty means any.
    pub orgs: Vec<String>,
    /// The role the caller's own session must have; `None` admits API tokens too.
    pub role: Option<Role>,
    /// Whether a WebSocket upgrade to this route may carry its access token in the query
    /// (`?access_token=…` or the bare `?<token>`): browsers cannot set headers on a WebSocket.
    /// Off unless the rule says so, since a URL ends up in logs and histories.
    pub query_token: bool,
    /// Line of the rule in its file, for messages.
    pub line: usize,
}

/// Why a policy file was refused: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct PolicyError {
    pub line: usize,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    methods: Vec<Spanned<String>>,
    path: Spanned<String>,
    scopes: Vec<String>,
    #[serde(default)]
    org: Option<OneOrMany>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    query_token: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "*",
];

impl Policy {
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let file: File = toml::from_str(text).map_err(|e| PolicyError {
            line: e.span().map_or(1, |s| line_of(text, s.start)),
            message: e.message().to_owned(),
        })?;
        let mut rules = Vec::with_capacity(file.rule.len());
        for raw in file.rule {
            let line = line_of(text, raw.path.span().start);
            let err = |message: String| PolicyError { line, message };
            let mut methods = Vec::new();
            for spanned in &raw.methods {
                let m = spanned.get_ref().to_ascii_uppercase();
                if !METHODS.contains(&m.as_str()) {
                    return Err(PolicyError {
                        line: line_of(text, spanned.span().start),
                        message: format!("unknown method {m:?}"),
                    });
                }
                if m != "*" {
                    methods.push(m);
                }
            }
            if raw.methods.iter().any(|m| m.get_ref() == "*") {
                methods.clear();
            }
            let path = raw.path.into_inner();
            let pattern = matcher::parse_pattern(&path).map_err(err)?;
            for s in &raw.scopes {
                if s.is_empty() || s.contains(char::is_whitespace) {
                    return Err(err(format!("invalid scope {s:?}")));
                }
            }
            let orgs = match raw.org {
                None => Vec::new(),
                Some(OneOrMany::One(id)) => vec![id],
                Some(OneOrMany::Many(ids)) if ids.is_empty() => {
                    return Err(err(
                        "org = [] would admit nobody; leave org out to admit any organization"
                            .into(),
                    ));
                }
                Some(OneOrMany::Many(ids)) => ids,
            };
            if let Some(id) = orgs
                .iter()
                .find(|id| id.is_empty() || id.contains(char::is_whitespace))
            {
                return Err(err(format!("invalid organization id {id:?}")));
            }
            let role = match raw.role.as_deref() {
                None => None,
                Some(r) => Some(
                    r.parse::<Role>()
                        .map_err(|()| err(format!("unknown role {r:?} (admin or member)")))?,
                ),
            };
            rules.push(Rule {
                methods,
                pattern,
                scopes: raw.scopes,
                orgs,
                role,
                query_token: raw.query_token,
                line,
            });
        }
        Ok(Policy { rules })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Rules that require a scope outside `catalogue` (no token can ever satisfy them), with
    /// that scope.
    pub fn unsatisfiable<'a>(
        &'a self,
        catalogue: &'a [String],
    ) -> impl Iterator<Item = (&'a Rule, &'a str)> {
        self.rules.iter().filter_map(move |r| {
            r.scopes
                .iter()
                .find(|s| !catalogue.contains(s))
                .map(|s| (r, s.as_str()))
        })
    }

    /// Rules that ask for scopes or the admin role but name no organization: with open sign-up
    /// a stranger's own organization can satisfy them.
    pub fn unbound(&self) -> impl Iterator<Item = &Rule> {
        self.rules
            .iter()
            .filter(|r| r.orgs.is_empty() && (!r.scopes.is_empty() || r.role == Some(Role::Admin)))
    }

    /// The first rule matching the request.
    pub fn rule_for(&self, req: &OriginalRequest) -> Option<&Rule> {
        let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
        self.rules.iter().find(|r| {
            (r.methods.is_empty() || r.methods.contains(&req.method))
                && matcher::matches(&r.pattern, &segments)
        })
    }

    /// The first rule matching `method` and `uri` (its query string ignored); `None` also for
    /// a request that cannot be read or is ambiguous (see `OriginalRequest::parse`).
    pub fn decide(&self, method: &str, uri: &str) -> Option<&Rule> {
        let req = OriginalRequest::parse(method.as_bytes(), uri.as_bytes()).ok()?;
        self.rule_for(&req)
    }
}

impl Rule {
    /// Whether this caller satisfies the rule: organization, role, then every scope.
    pub fn admit(&self, caller: &Principal) -> AuthResult<()> {
        if !self.orgs.is_empty() && !self.orgs.contains(&caller.org_id) {
            return Err(AuthError::Forbidden(
                "this route is limited to other organizations",
            ));
        }
        if let Some(role) = self.role {
            // An API token acts for its key, not as the user: it holds no role.
            let Credential::Session { .. } = caller.credential else {
                return Err(AuthError::Forbidden(
                    "this route needs a user's own session, not an API token",
                ));
            };
            if role == Role::Admin && caller.role != Role::Admin {
                return Err(AuthError::Forbidden(
                    "this route needs an organization admin",
                ));
            }
        }
        caller.require_scopes(self.scopes.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[rule]]
methods = ["GET"]
path = "/orders/*"
scopes = ["orders:read"]

[[rule]]
methods = ["post", "PUT"]
path = "/orders/**"
scopes = ["orders:write"]

[[rule]]
path = "/public/**"
scopes = []
"#;

    #[test]
    fn rules_needing_scopes_or_the_admin_role_without_an_org_are_unbound() {
        let text = "[[rule]]\npath = \"/a/**\"\nscopes = [\"x\"]\n\
                    [[rule]]\npath = \"/b/**\"\nscopes = [\"x\"]\norg = \"o1\"\n\
                    [[rule]]\npath = \"/c/**\"\nscopes = []\nrole = \"admin\"\n\
                    [[rule]]\npath = \"/d/**\"\nscopes = []\n\
                    [[rule]]\npath = \"/e/**\"\nscopes = []\nrole = \"member\"\n";
        let p = Policy::parse(text).unwrap();
        let lines: Vec<usize> = p.unbound().map(|r| r.line).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0] < lines[1]);
    }

    #[test]
    fn first_match_wins_and_no_match_is_denied() {
        let p = Policy::parse(FILE).unwrap();
        let scopes = |m: &str, u: &str| p.decide(m, u).map(|r| r.scopes.clone());
        let table = [
            ("GET", "/orders/42", Some(vec!["orders:read"])),
            ("GET", "/orders/42?x=1", Some(vec!["orders:read"])),
            ("GET", "/orders/42/items", None),
            ("GET", "/orders", None),
            ("POST", "/orders", Some(vec!["orders:write"])),
            ("PUT", "/orders/1/2/3", Some(vec!["orders:write"])),
            ("DELETE", "/orders/1", None),
            ("DELETE", "/public", Some(vec![])),
            ("GET", "/public/a/b", Some(vec![])),
            ("GET", "/orders/../admin", None),
            ("GET", "/public/%2e%2e/orders/42", None),
            ("GET", "/public/%2E%2e/x", None),
            ("GET", "/public/a%2fb", None),
            ("GET", "/%6Frders/42", Some(vec!["orders:read"])),
            ("GET", "/orders/%zz", None),
            ("GET", "orders/1", None),
        ];
        for (m, u, want) in table {
            let want = want.map(|v: Vec<&str>| v.into_iter().map(String::from).collect::<Vec<_>>());
            assert_eq!(scopes(m, u), want, "{m} {u}");
        }
    }

    #[test]
    fn errors_name_the_line() {
        let e = Policy::parse("[[rule]]\nmethods = [\"GET\"]\npath = \"orders\"\nscopes = []\n")
            .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("must start with /"));
        let e = Policy::parse("[[rule]]\nmethods = [\"FETCH\"]\npath = \"/x\"\nscopes = []\n")
            .unwrap_err();
        assert!(e.message.contains("FETCH"), "{e}");
        let e = Policy::parse("[[rule]]\npath = \"/x\"\n").unwrap_err();
        assert!(e.message.contains("scopes"), "{e}");
        let e = Policy::parse("[[rule]\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = Policy::parse("[[rule]]\npath = \"/a*\"\nscopes = []\n").unwrap_err();
        assert!(e.message.contains("whole segments"), "{e}");
        let e =
            Policy::parse("[[rule]]\npath = \"/x\"\nscopes = []\nrole = \"owner\"\n").unwrap_err();
        assert!(e.message.contains("owner"), "{e}");
        let e = Policy::parse("[[rule]]\npath = \"/x\"\nscopes = []\norg = []\n").unwrap_err();
        assert!(e.message.contains("nobody"), "{e}");
    }

    #[test]
    fn rules_needing_scopes_outside_the_catalogue_are_pointed_out() {
        let p = Policy::parse(FILE).unwrap();
        let catalogue = vec!["orders:read".to_owned()];
        let found: Vec<(usize, &str)> = p
            .unsatisfiable(&catalogue)
            .map(|(r, s)| (r.line, s))
            .collect();
        assert_eq!(found, vec![(9, "orders:write")]);
    }

    #[test]
    fn organizations_and_roles_are_read() {
        let p = Policy::parse(
            "[[rule]]\npath = \"/a\"\nscopes = []\norg = \"o1\"\nrole = \"admin\"\n\n\
             [[rule]]\npath = \"/b\"\nscopes = []\norg = [\"o1\", \"o2\"]\n",
        )
        .unwrap();
        let a = p.decide("GET", "/a").unwrap();
        assert_eq!(
            (a.orgs.clone(), a.role),
            (vec!["o1".to_owned()], Some(Role::Admin))
        );
        let b = p.decide("GET", "/b").unwrap();
        assert_eq!((b.orgs.len(), b.role), (2, None));
    }
}
