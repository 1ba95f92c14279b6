//! OAuth scenarios: `client_credentials` at `/oauth2/token` (an API key as the client, HTTP
//! Basic) and `/oauth2/introspect` of a user's access token by that client.

use std::time::Duration;

use anyhow::Context;
use reqwest::header::CONTENT_TYPE;

use crate::keys::run;
use crate::scenarios::Ctx;
use crate::stats::ScenarioResult;

const FORM: &str = "application/x-www-form-urlencoded";

/// The key id of `lk_<id>_<secret>`: the OAuth `client_id`.
fn client_id(key: &str) -> anyhow::Result<String> {
    let rest = key.strip_prefix("lk_").context("not an API key")?;
    Ok(rest.split('_').next().context("no key id")?.to_owned())
}

/// `grant_type=client_credentials` with the key as the client, in a loop.
pub async fn client_credentials(
    ctx: &Ctx,
    key: &str,
    n: usize,
    dur: Duration,
) -> anyhow::Result<ScenarioResult> {
    let (id, key) = (client_id(key)?, key.to_owned());
    Ok(run(ctx, "oauth-client-credentials", n, dur, move |api| {
        api.client()
            .post(api.url("/oauth2/token"))
            .basic_auth(&id, Some(&key))
            .header(CONTENT_TYPE, FORM)
            .body("grant_type=client_credentials")
    })
    .await)
}

/// Introspection of the bench user's access token by the key as the client, in a loop.
pub async fn introspect(
    ctx: &Ctx,
    key: &str,
    n: usize,
    dur: Duration,
) -> anyhow::Result<ScenarioResult> {
    let (id, key) = (client_id(key)?, key.to_owned());
    let body = format!("token={}", ctx.access_token);
    Ok(run(ctx, "oauth-introspect", n, dur, move |api| {
        api.client()
            .post(api.url("/oauth2/introspect"))
            .basic_auth(&id, Some(&key))
            .header(CONTENT_TYPE, FORM)
            .body(body.clone())
    })
    .await)
}
