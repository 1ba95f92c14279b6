use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use super::*;

const NOW: i64 = 1_800_000_000;
const GOOGLE: &str = "https://accounts.google.com";
const MS_TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

struct Signer {
    kid: String,
    key: EncodingKey,
    jwk: Value,
}

fn signer(kid: &str) -> Signer {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let public = pair.public_key().as_ref();
    let jwk = json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(&public[1..33]), "y": URL_SAFE_NO_PAD.encode(&public[33..65])});
    Signer {
        kid: kid.into(),
        key: EncodingKey::from_ec_der(pkcs8.as_ref()),
        jwk,
    }
}

impl Signer {
    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

fn set(signers: &[&Signer]) -> JwkSet {
    serde_json::from_value(
        json!({"keys": signers.iter().map(|s| s.jwk.clone()).collect::<Vec<_>>()}),
    )
    .unwrap()
}

fn google_claims() -> Value {
    json!({"iss": GOOGLE, "sub": "1234567890", "aud": "client-1", "azp": "client-1",
        "exp": NOW + 3600, "iat": NOW, "nonce": "n-1", "email": "ann@example.com",
        "email_verified": true, "name": "Ann", "at_hash": "ignored"})
}

fn ms_claims(tid: &str) -> Value {
    json!({"iss": format!("https://login.microsoftonline.com/{tid}/v2.0"), "sub": "pairwise",
        "aud": "client-1", "exp": NOW + 3600, "iat": NOW, "nonce": "n-1", "tid": tid,
        "oid": "object-1", "email": "bob@contoso.com", "email_verified": true})
}

fn check(
    kind: &ProviderKind,
    issuer: &str,
    keys: &JwkSet,
    token: &str,
) -> Result<IdClaims, IdTokenError> {
    validate(
        token,
        keys,
        &Expect {
            kind,
            issuer,
            client_id: "client-1",
            nonce: "n-1",
            now_secs: NOW,
        },
    )
}

fn google(token: &str, keys: &JwkSet) -> Result<IdClaims, IdTokenError> {
    check(&ProviderKind::Google, GOOGLE, keys, token)
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn refused(r: Result<IdClaims, IdTokenError>, why: &str) {
    match r {
        Err(IdTokenError::Invalid(msg)) => assert!(msg.contains(why), "{msg:?} lacks {why:?}"),
        other => panic!("expected a refusal about {why}, got {other:?}"),
    }
}

#[test]
fn a_genuine_google_token_is_accepted_with_its_verified_email() {
    let s = signer("k1");
    let claims = google(&s.sign(&google_claims()), &set(&[&s])).unwrap();
    assert_eq!(claims.subject, "1234567890");
    assert_eq!(claims.email.as_deref(), Some("ann@example.com"));
    assert!(claims.email_verified);
    // Google's other spelling of its issuer.
    let short = with(google_claims(), "iss", json!("accounts.google.com"));
    assert!(google(&s.sign(&short), &set(&[&s])).is_ok());
}

#[test]
fn tampered_claims_are_refused() {
    let s = signer("k1");
    let keys = set(&[&s]);
    let g = google_claims;
    refused(
        google(&s.sign(&with(g(), "nonce", json!("other"))), &keys),
        "nonce",
    );
    let no_nonce = {
        let mut c = g();
        c.as_object_mut().unwrap().remove("nonce");
        c
    };
    refused(google(&s.sign(&no_nonce), &keys), "nonce");
    refused(
        google(&s.sign(&with(g(), "aud", json!("client-2"))), &keys),
        "aud",
    );
    refused(
        google(&s.sign(&with(g(), "azp", json!("client-2"))), &keys),
        "azp",
    );
    let two_auds = with(g(), "aud", json!(["client-1", "client-2"]));
    let mut no_azp = two_auds.clone();
    no_azp.as_object_mut().unwrap().remove("azp");
    refused(google(&s.sign(&no_azp), &keys), "azp");
    assert!(google(&s.sign(&two_auds), &keys).is_ok());
    refused(
        google(
            &s.sign(&with(g(), "iss", json!("https://evil.example"))),
            &keys,
        ),
        "issuer",
    );
    refused(
        google(&s.sign(&with(g(), "exp", json!(NOW - 61))), &keys),
        "expired",
    );
    refused(
        google(&s.sign(&with(g(), "iat", json!(NOW + 3600))), &keys),
        "future",
    );
}

#[test]
fn bad_signatures_unknown_keys_and_unsigned_tokens_are_refused() {
    let s = signer("k1");
    let keys = set(&[&s]);
    // Signed by another key under the same kid.
    let impostor = signer("k1");
    refused(google(&impostor.sign(&google_claims()), &keys), "signature");
    // A flipped byte in the payload.
    let token = s.sign(&google_claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload = URL_SAFE_NO_PAD.decode(&parts[1]).unwrap();
    let at = payload.iter().position(|&b| b == b'A').unwrap();
    payload[at] = b'B';
    parts[1] = URL_SAFE_NO_PAD.encode(&payload);
    refused(google(&parts.join("."), &keys), "signature");
    assert_eq!(
        google(&signer("k9").sign(&google_claims()), &keys),
        Err(IdTokenError::UnknownKey)
    );
    // `alg: none`, with and without a signature part.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"k1"}"#);
    let body = URL_SAFE_NO_PAD.encode(google_claims().to_string());
    refused(google(&format!("{header}.{body}."), &keys), "algorithm");
    refused(
        google(&format!("{header}.{body}.{}", parts[2]), &keys),
        "algorithm",
    );
    // A symmetric token keyed with something public must not pass either.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("k1".into());
    let forged = jsonwebtoken::encode(
        &hs,
        &google_claims(),
        &EncodingKey::from_secret(b"client-1"),
    )
    .unwrap();
    refused(google(&forged, &keys), "algorithm");
}

#[test]
fn microsoft_issuer_template_follows_the_tokens_tenant() {
    let s = signer("k1");
    let keys = set(&[&s]);
    let any = ProviderKind::Microsoft { tenants: vec![] };
    let claims = check(&any, MS_TEMPLATE, &keys, &s.sign(&ms_claims("tenant-a"))).unwrap();
    // Keyed on tenant and object id, never on email; Microsoft never vouches for the email.
    assert_eq!(claims.subject, "tenant-a:object-1");
    assert!(!claims.email_verified);
    // A token whose issuer names another tenant than its `tid`.
    let mixed = with(ms_claims("tenant-a"), "tid", json!("tenant-b"));
    refused(check(&any, MS_TEMPLATE, &keys, &s.sign(&mixed)), "tenant");
    let mut no_tid = ms_claims("tenant-a");
    no_tid.as_object_mut().unwrap().remove("tid");
    refused(check(&any, MS_TEMPLATE, &keys, &s.sign(&no_tid)), "tid");
    let mut no_oid = ms_claims("tenant-a");
    no_oid.as_object_mut().unwrap().remove("oid");
    refused(check(&any, MS_TEMPLATE, &keys, &s.sign(&no_oid)), "oid");
    // The allow-list.
    let only_a = ProviderKind::Microsoft {
        tenants: vec!["tenant-a".into()],
    };
    assert!(check(&only_a, MS_TEMPLATE, &keys, &s.sign(&ms_claims("tenant-a"))).is_ok());
    refused(
        check(&only_a, MS_TEMPLATE, &keys, &s.sign(&ms_claims("tenant-b"))),
        "not allowed",
    );
}
