//! Helpers shared by the tests (moved out of `forward_auth`).

use crate::helpers::api_keys::set_of;
use crate::helpers::eventually::eventually;
use crate::helpers::{TestApp, temp_dir};
use reqwest::Response;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What forward-auth answered: the granted scopes (`x-latchkey-scopes`), or the status and
/// error code of the refusal.
pub type Decision = Result<BTreeSet<String>, (u16, String)>;

/// GET one order needs `orders:read`; changing orders needs `orders:write`; `/public/**` only
/// needs a valid token.
pub const ORDERS_POLICY: &str = r#"
[[rule]]
methods = ["GET"]
path = "/orders/*"
scopes = ["orders:read"]

[[rule]]
methods = ["POST", "PUT", "PATCH", "DELETE"]
path = "/orders/**"
scopes = ["orders:write"]

[[rule]]
path = "/public/**"
scopes = []
"#;

pub fn allowed(scopes: &[&str]) -> Decision {
    Ok(set_of(scopes))
}

/// Asks forward-auth about `method uri` as Traefik or nginx would (`X-Forwarded-*`).
pub async fn authorize(app: &TestApp, token: &str, method: &str, uri: &str) -> Response {
    let req = app
        .client
        .get(app.url("/api/v1/authorize"))
        .header("x-forwarded-method", method)
        .header("x-forwarded-uri", uri);
    with_token(req, token).send().await.unwrap()
}

pub async fn decide(app: &TestApp, token: &str, method: &str, uri: &str) -> Decision {
    decision_of(authorize(app, token, method, uri).await).await
}

pub async fn decision_of(r: Response) -> Decision {
    let status = r.status().as_u16();
    if status == 200 {
        let scopes = r
            .headers()
            .get("x-latchkey-scopes")
            .expect("x-latchkey-scopes on a 200")
            .to_str()
            .unwrap()
            .split_ascii_whitespace()
            .map(str::to_owned)
            .collect();
        return Ok(scopes);
    }
    let body: Value = r.json().await.unwrap_or(Value::Null);
    Err((
        status,
        crate::helpers::assert_error_shape(status, &body, "forward-auth refusal"),
    ))
}

pub fn orders_policy_file() -> PathBuf {
    policy_file(ORDERS_POLICY)
}

/// A fresh policy file with this text.
pub fn policy_file(text: &str) -> PathBuf {
    let path = temp_dir().join("policy.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn refused(status: u16, code: &str) -> Decision {
    Err((status, code.to_owned()))
}

/// Replaces the file's content at once (write aside, rename), as an editor or a deploy would,
/// so the server never reads half a file.
pub fn replace_policy(path: &Path, text: &str) {
    let aside = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&aside, text).unwrap();
    std::fs::rename(&aside, path).unwrap();
}

/// The token's usual header: `x-authorization: Agent` for an auth token, `Authorization:
/// Bearer` for a user's access token.
pub fn with_token(req: reqwest::RequestBuilder, token: &str) -> reqwest::RequestBuilder {
    if token.starts_with("lkt_") {
        req.header("x-authorization", format!("Agent {token}"))
    } else {
        req.bearer_auth(token)
    }
}

/// Polls (every 100 ms, up to 10 s) until `decide` gives `want`.
pub async fn decides_eventually(
    app: &TestApp,
    token: &str,
    method: &str,
    uri: &str,
    want: &Decision,
) {
    eventually(Duration::from_secs(10), || async {
        let got = decide(app, token, method, uri).await;
        if &got == want {
            Ok(())
        } else {
            Err(format!(
                "{method} {uri}: still {got:?} after 10 s, expected {want:?}"
            ))
        }
    })
    .await;
}
