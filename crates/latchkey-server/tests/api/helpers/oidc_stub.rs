//! An OpenID provider on loopback for the sign-in tests: discovery, JWKS, an authorization
//! endpoint that signs the configured person in at once, and a token endpoint that enforces
//! single-use codes, PKCE and the client secret, as real providers do. Each test can tamper
//! with the next ID token to check that Latchkey refuses it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "latchkey-client";
pub const CLIENT_SECRET: &str = "stub-secret";

/// How the next ID token is spoiled.
#[derive(Debug, Clone)]
pub enum Tamper {
    /// Claims overwritten (a `null` removes the claim).
    Claims(Value),
    /// Signed by a key the JWKS does not publish, under a published `kid`.
    ForeignKey,
    /// `alg: none`, no signature.
    AlgNone,
    /// A `kid` the JWKS does not know (and never will).
    UnknownKid,
}

struct Signer {
    kid: String,
    key: EncodingKey,
    jwk: Value,
}

fn signer(kid: &str) -> Signer {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let p = pair.public_key().as_ref();
    Signer {
        kid: kid.into(),
        key: EncodingKey::from_ec_der(pkcs8.as_ref()),
        jwk: json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..65])}),
    }
}

struct Grant {
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

struct Inner {
    base: String,
    /// The `issuer` of discovery (Microsoft's carries `{tenantid}`).
    discovery_issuer: String,
    /// The `iss` of tokens, before tampering.
    token_issuer: String,
    signer: Mutex<Arc<Signer>>,
    person: Mutex<Value>,
    tamper: Mutex<Option<Tamper>>,
    codes: Mutex<HashMap<String, Grant>>,
}

#[derive(Clone)]
pub struct Stub(Arc<Inner>);

impl Stub {
    /// Like Google: one issuer, `sub` and `email_verified`.
    pub async fn google_like() -> Stub {
        Self::start(|base| (base.to_owned(), base.to_owned())).await
    }

    /// Like Microsoft's `common` endpoint: discovery names `…/{tenantid}/v2.0`, tokens carry
    /// `tid` and `oid` and an issuer with their own tenant.
    pub async fn microsoft_like(tenant: &str) -> Stub {
        let tenant = tenant.to_owned();
        let stub = Self::start(move |base| {
            (
                format!("{base}/{{tenantid}}/v2.0"),
                format!("{base}/{tenant}/v2.0"),
            )
        })
        .await;
        stub.set_person(
            json!({"sub": "pairwise-sub", "tid": stub_tenant(&stub), "oid": "oid-1",
            "email": "bob@contoso.example", "name": "Bob"}),
        );
        stub
    }

    async fn start(issuers: impl FnOnce(&str) -> (String, String)) -> Stub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (discovery_issuer, token_issuer) = issuers(&base);
        let stub = Stub(Arc::new(Inner {
            base,
            discovery_issuer,
            token_issuer,
            signer: Mutex::new(Arc::new(signer("stub-key-1"))),
            person: Mutex::new(json!({"sub": "google-sub-1", "email": "ann@example.com",
                "email_verified": true, "name": "Ann"})),
            tamper: Mutex::new(None),
            codes: Mutex::new(HashMap::new()),
        }));
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route(
                "/common/v2.0/.well-known/openid-configuration",
                get(discovery),
            )
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .with_state(stub.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        stub
    }

    /// What Latchkey is configured with as the provider's issuer.
    pub fn config_issuer(&self) -> String {
        if self.0.discovery_issuer.contains("{tenantid}") {
            format!("{}/common/v2.0", self.0.base)
        } else {
            self.0.base.clone()
        }
    }

    pub fn set_person(&self, claims: Value) {
        *self.0.person.lock().unwrap() = claims;
    }

    /// Replaces the signing key: the JWKS publishes only the new one from now on.
    pub fn rotate_key(&self, kid: &str) {
        *self.0.signer.lock().unwrap() = Arc::new(signer(kid));
    }

    fn signer(&self) -> Arc<Signer> {
        self.0.signer.lock().unwrap().clone()
    }

    pub fn tamper_next(&self, t: Tamper) {
        *self.0.tamper.lock().unwrap() = Some(t);
    }
}

fn stub_tenant(stub: &Stub) -> String {
    stub.0
        .token_issuer
        .rsplit('/')
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

async fn discovery(State(s): State<Stub>) -> axum::Json<Value> {
    let base = &s.0.base;
    axum::Json(json!({
        "issuer": s.0.discovery_issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

async fn jwks(State(s): State<Stub>) -> axum::Json<Value> {
    axum::Json(json!({"keys": [s.signer().jwk]}))
}

/// Signs the person in without a page and redirects back, adding parameters Latchkey must
/// ignore (as Google does).
async fn authorize(State(s): State<Stub>, Query(q): Query<HashMap<String, String>>) -> Response {
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    let code = format!("code-{}", uuid::Uuid::new_v4().simple());
    s.0.codes.lock().unwrap().insert(
        code.clone(),
        Grant {
            nonce: q["nonce"].clone(),
            challenge: q["code_challenge"].clone(),
            redirect_uri: q["redirect_uri"].clone(),
        },
    );
    if q.get("response_mode").map(String::as_str) == Some("form_post") {
        let page = format!(
            r#"<form method="post" action="{}"><input type="hidden" name="code" value="{code}"/><input type="hidden" name="state" value="{}"/><input type="hidden" name="session_state" value="ignored"/></form>"#,
            q["redirect_uri"], q["state"]
        );
        return axum::response::Html(page).into_response();
    }
    let mut url = reqwest::Url::parse(&q["redirect_uri"]).unwrap();
    url.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &q["state"])
        .append_pair("authuser", "0")
        .append_pair("prompt", "none");
    (StatusCode::FOUND, [("location", url.to_string())]).into_response()
}

async fn token(State(s): State<Stub>, _h: HeaderMap, body: String) -> Response {
    let form: HashMap<String, String> = url_form(&body);
    let refuse =
        |e: &str| (StatusCode::BAD_REQUEST, axum::Json(json!({"error": e}))).into_response();
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return refuse("invalid_client");
    }
    // Single use: a replayed code finds nothing.
    let Some(grant) = s.0.codes.lock().unwrap().remove(&form["code"]) else {
        return refuse("invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge
        || form.get("redirect_uri") != Some(&grant.redirect_uri)
    {
        return refuse("invalid_grant");
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut claims = json!({"iss": s.0.token_issuer, "aud": CLIENT_ID, "exp": now + 3600,
        "iat": now, "nonce": grant.nonce});
    for (k, v) in s.0.person.lock().unwrap().as_object().unwrap() {
        claims[k] = v.clone();
    }
    let tamper = s.0.tamper.lock().unwrap().take();
    let id_token = match tamper {
        None => sign(&s.signer(), &claims),
        Some(Tamper::Claims(changes)) => {
            for (k, v) in changes.as_object().unwrap() {
                if v.is_null() {
                    claims.as_object_mut().unwrap().remove(k);
                } else {
                    claims[k] = v.clone();
                }
            }
            sign(&s.signer(), &claims)
        }
        Some(Tamper::ForeignKey) => sign(&signer(&s.signer().kid), &claims),
        Some(Tamper::AlgNone) => format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","kid":"{}"}}"#, s.signer().kid)),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        ),
        Some(Tamper::UnknownKid) => sign(&signer("never-published"), &claims),
    };
    axum::Json(
        json!({"access_token": "opaque", "token_type": "Bearer", "expires_in": 3600,
        "id_token": id_token, "scope": "openid email profile"}),
    )
    .into_response()
}

fn sign(signer: &Signer, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(signer.kid.clone());
    jsonwebtoken::encode(&header, claims, &signer.key).unwrap()
}

fn url_form(body: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{body}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
