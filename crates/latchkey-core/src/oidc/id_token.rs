//! ID-token validation, pure: signature by `kid` from the provider's JWKS, then every claim
//! OpenID Connect Core §3.1.3.7 asks for. Anything unexpected is a refusal.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::ProviderKind;
use crate::secret::ct_eq;

/// Clock skew tolerated on `exp` and `iat`.
pub const LEEWAY_SECS: i64 = 60;

/// Asymmetric algorithms only: a symmetric one would let anyone holding the client secret
/// mint tokens, and `none` is not an algorithm.
const ALLOWED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdTokenError {
    /// The `kid` is not in the key set: the caller re-fetches the JWKS once (rotation).
    UnknownKey,
    Invalid(&'static str),
}

/// What the token must say.
pub struct Expect<'a> {
    pub kind: &'a ProviderKind,
    /// The issuer from discovery; Microsoft's multi-tenant endpoints put `{tenantid}` in it.
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Google sends `email_verified` as a boolean; some providers as a string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

#[derive(Debug, Clone, Deserialize)]
struct RawClaims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    iat: i64,
    nonce: Option<String>,
    azp: Option<String>,
    email: Option<String>,
    email_verified: Option<Flag>,
    name: Option<String>,
    tid: Option<String>,
    oid: Option<String>,
}

/// A validated identity assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdClaims {
    /// The stable key of the person at this provider: `sub`, or `tid:oid` for Microsoft.
    pub subject: String,
    pub email: Option<String>,
    /// Only when the provider asserts it; Microsoft never does.
    pub email_verified: bool,
    pub name: Option<String>,
    pub tenant: Option<String>,
}

pub fn validate(token: &str, keys: &JwkSet, expect: &Expect) -> Result<IdClaims, IdTokenError> {
    use IdTokenError::Invalid;
    // `alg: none` and unknown algorithms fail here already.
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| Invalid("the ID token is malformed or uses an unsupported algorithm"))?;
    if !ALLOWED.contains(&header.alg) {
        return Err(Invalid(
            "the ID token uses an algorithm that is not accepted",
        ));
    }
    let jwk = find_key(keys, header.kid.as_deref())?;
    if let Some(alg) = jwk.common.key_algorithm
        && alg.to_string() != format!("{:?}", header.alg)
    {
        return Err(Invalid("the ID token's algorithm does not match its key"));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| Invalid("the provider's key is unusable"))?;
    let mut validation = Validation::new(header.alg);
    // Times, audience and issuer are checked below against the injected clock and rules.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<RawClaims>(token, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                Invalid("the ID token's signature is invalid")
            }
            _ => Invalid("the ID token is malformed or lacks required claims"),
        })?
        .claims;
    check_claims(claims, expect)
}

fn find_key<'a>(keys: &'a JwkSet, kid: Option<&str>) -> Result<&'a Jwk, IdTokenError> {
    match kid {
        Some(kid) => keys
            .keys
            .iter()
            .find(|k| k.common.key_id.as_deref() == Some(kid))
            .ok_or(IdTokenError::UnknownKey),
        // Without a `kid` only an unambiguous set will do.
        None if keys.keys.len() == 1 => Ok(&keys.keys[0]),
        None => Err(IdTokenError::Invalid("the ID token names no key")),
    }
}

fn check_claims(c: RawClaims, expect: &Expect) -> Result<IdClaims, IdTokenError> {
    use IdTokenError::Invalid;
    let auds = match &c.aud {
        Audience::One(a) => vec![a.as_str()],
        Audience::Many(list) => list.iter().map(String::as_str).collect(),
    };
    if !auds.contains(&expect.client_id) {
        return Err(Invalid("the ID token was issued for another client (aud)"));
    }
    // With several audiences the authorized party must be us; when present it must be us.
    if (auds.len() > 1 && c.azp.is_none())
        || c.azp.as_deref().is_some_and(|azp| azp != expect.client_id)
    {
        return Err(Invalid("the ID token was issued to another party (azp)"));
    }
    if c.exp + LEEWAY_SECS <= expect.now_secs {
        return Err(Invalid("the ID token has expired"));
    }
    if c.iat > expect.now_secs + LEEWAY_SECS {
        return Err(Invalid("the ID token was issued in the future (iat)"));
    }
    match c.nonce.as_deref() {
        Some(n) if ct_eq(n.as_bytes(), expect.nonce.as_bytes()) => {}
        _ => return Err(Invalid("the ID token's nonce does not match this sign-in")),
    }
    if c.sub.is_empty() {
        return Err(Invalid("the ID token has no subject"));
    }
    let email_verified = match (&c.email_verified, expect.kind) {
        // Microsoft makes no such assertion, whatever a token says.
        (_, ProviderKind::Microsoft { .. }) => false,
        (Some(Flag::Bool(b)), _) => *b,
        (Some(Flag::Text(t)), _) => t == "true",
        (None, _) => false,
    };
    let (subject, tenant) = match expect.kind {
        ProviderKind::Microsoft { tenants } => {
            let tid = c
                .tid
                .as_deref()
                .filter(|t| !t.is_empty() && !t.contains('/'))
                .ok_or(Invalid("the ID token has no tenant (tid)"))?;
            // A multi-tenant issuer is a template: the token's issuer must be it with its own
            // tenant, so a token from one tenant cannot pose as another's.
            if c.iss != expect.issuer.replace("{tenantid}", tid) {
                return Err(Invalid("the ID token's issuer does not match its tenant"));
            }
            if !tenants.is_empty() && !tenants.iter().any(|t| t.eq_ignore_ascii_case(tid)) {
                return Err(Invalid("the ID token's tenant is not allowed here"));
            }
            let oid = c
                .oid
                .as_deref()
                .filter(|o| !o.is_empty())
                .ok_or(Invalid("the ID token has no object id (oid)"))?;
            (format!("{tid}:{oid}"), Some(tid.to_owned()))
        }
        ProviderKind::Google => {
            // Google documents both forms of its issuer.
            let ok = c.iss == expect.issuer
                || (c.iss == "accounts.google.com"
                    && expect.issuer == "https://accounts.google.com");
            if !ok {
                return Err(Invalid("the ID token comes from another issuer"));
            }
            (c.sub.clone(), None)
        }
        ProviderKind::Generic => {
            if c.iss != expect.issuer {
                return Err(Invalid("the ID token comes from another issuer"));
            }
            (c.sub.clone(), None)
        }
    };
    Ok(IdClaims {
        subject,
        email: c.email,
        email_verified,
        name: c.name,
        tenant,
    })
}

#[cfg(test)]
#[path = "id_token_tests.rs"]
mod tests;
