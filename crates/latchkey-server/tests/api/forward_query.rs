//! Forward-auth for an app's own WebSocket endpoint: the browser cannot set a header on a
//! WebSocket, so the access token comes in the URL (`/ws/chat/?access_token=…` or the bare
//! `/ws/chat/?…`). Accepted only for an upgrade to a route whose rule says `query_token = true`.

use crate::helpers::api_keys::{access, expect_error, user_id};
use crate::helpers::forward_auth::{allowed, decision_of};
use crate::helpers::{TestApp, logs};
use crate::on_all_setups;

/// `/ws/chat` takes a token in the query; `/ws/plain` does not.
pub(crate) const SOCKETS_POLICY: &str = r#"
[[rule]]
methods = ["GET"]
path = "/ws/chat"
scopes = []
query_token = true

[[rule]]
methods = ["GET"]
path = "/ws/plain"
scopes = []
"#;

/// Asks forward-auth about `method uri` as Traefik would, with no credential header, as an
/// upgrade when `upgrade`.
async fn ask(app: &TestApp, method: &str, uri: &str, upgrade: bool) -> reqwest::Response {
    let mut req = app
        .client
        .get(app.url("/api/v1/authorize"))
        .header("x-forwarded-method", method)
        .header("x-forwarded-uri", uri);
    if upgrade {
        req = req
            .header("upgrade", "websocket")
            .header("connection", "Upgrade");
    }
    req.send().await.unwrap()
}

async fn a_websocket_upgrade_may_carry_its_token_in_the_query_where_the_rule_allows_it(
    app: TestApp,
) {
    logs::capture();
    let grant = app.signup("ann@example.com").await;
    let jwt = access(&grant);
    for uri in [
        format!("/ws/chat/?access_token={jwt}"),
        format!("/ws/chat/?{jwt}"),
        format!("/ws/chat?room=4&access_token={jwt}"),
    ] {
        let r = ask(&app, "GET", &uri, true).await;
        let user = r.headers().get("x-latchkey-user").cloned();
        assert_eq!(decision_of(r).await, allowed(&[]), "upgrade {uri}");
        assert_eq!(user.unwrap().to_str().unwrap(), user_id(&grant));
    }

    // Not an upgrade, not GET, or a rule that did not opt in: the query is not read.
    let in_query = format!("/ws/chat/?access_token={jwt}");
    let r = ask(&app, "GET", &in_query, false).await;
    expect_error(r, 401, "missing_token", "a plain GET").await;
    let r = ask(&app, "POST", &in_query, true).await;
    expect_error(r, 401, "missing_token", "an upgrade that is not GET").await;
    let r = ask(&app, "GET", &format!("/ws/plain/?access_token={jwt}"), true).await;
    expect_error(r, 401, "missing_token", "a rule without query_token").await;

    // A bad token is a bad token; two tokens are refused.
    let r = ask(&app, "GET", "/ws/chat/?access_token=not.a.jwt", true).await;
    expect_error(r, 401, "invalid_token", "garbage in the query").await;
    let twice = format!("/ws/chat/?access_token={jwt}&access_token={jwt}");
    let r = ask(&app, "GET", &twice, true).await;
    expect_error(r, 401, "invalid_token", "two tokens").await;

    // Signed out: the same URL is refused at once.
    let r = app.post_auth("/api/v1/auth/logout", &jwt).await;
    assert_eq!(r.status(), 204);
    let r = ask(&app, "GET", &in_query, true).await;
    expect_error(r, 401, "invalid_token", "the token of an ended session").await;

    assert_eq!(logs::count(&[&jwt]), 0, "the token is never logged");
}
on_all_setups!(
    a_websocket_upgrade_may_carry_its_token_in_the_query_where_the_rule_allows_it,
    |c| c.policy_file = Some(crate::helpers::forward_auth::policy_file(
        crate::forward_query::SOCKETS_POLICY
    ))
);
