//! The forward-auth policy: which scopes a method + path of someone else's API needs.
//!
//! ```toml
//! [[rule]]
//! methods = ["GET"]
//! path = "/orders/*"        # * = one segment, ** = any depth
//! scopes = ["orders:read"]  # all required; [] = any valid token
//! ```
//! First match wins; no match is denied.

use serde::Deserialize;
use toml::Spanned;

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
    /// Line of the rule in its file, for messages.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    One,
    AnyDepth,
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
            let pattern = parse_pattern(&path).map_err(err)?;
            for s in &raw.scopes {
                if s.is_empty() || s.contains(char::is_whitespace) {
                    return Err(err(format!("invalid scope {s:?}")));
                }
            }
            rules.push(Rule {
                methods,
                pattern,
                scopes: raw.scopes,
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

    /// The first rule matching `method` and `uri` (its query string ignored). Paths with `.`
    /// or `..` segments never match: the proxy should have normalized them, and a rule must not
    /// be walked around.
    pub fn decide(&self, method: &str, uri: &str) -> Option<&Rule> {
        let path = uri.split(['?', '#']).next().unwrap_or("");
        if !path.starts_with('/') {
            return None;
        }
        // Compared decoded, so `%2e%2e` is a dot segment and `%6Frders` is `orders`; a segment
        // that decodes to a separator is refused rather than guessed at.
        let mut segments = Vec::new();
        for raw in path[1..].split('/').filter(|s| !s.is_empty()) {
            let seg = percent_decode(raw)?;
            if seg == "." || seg == ".." || seg.contains(['/', '\\']) {
                return None;
            }
            segments.push(seg);
        }
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        self.rules.iter().find(|r| {
            (r.methods.is_empty() || r.methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
                && matches(&r.pattern, &segments)
        })
    }
}

/// `%XX` decoding; `None` for a malformed escape or a result that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn parse_pattern(path: &str) -> Result<Vec<Segment>, String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("path {path:?} must start with /"));
    };
    rest.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "*" => Ok(Segment::One),
            "**" => Ok(Segment::AnyDepth),
            s if s.contains('*') => Err(format!("in {path:?}: * and ** must be whole segments")),
            s => Ok(Segment::Literal(s.to_owned())),
        })
        .collect()
}

fn matches(pattern: &[Segment], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((Segment::AnyDepth, rest)) => (0..=path.len()).any(|i| matches(rest, &path[i..])),
        Some((seg, rest)) => match path.split_first() {
            None => false,
            Some((head, tail)) => {
                let ok = match seg {
                    Segment::One => true,
                    Segment::Literal(l) => l == head,
                    Segment::AnyDepth => unreachable!(),
                };
                ok && matches(rest, tail)
            }
        },
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
    }
}
