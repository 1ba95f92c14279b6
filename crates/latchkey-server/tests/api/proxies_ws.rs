//! The documented nginx config's `/ws/` location with the real nginx: a browser's WebSocket
//! carries its access token in the URL, nginx asks Latchkey, and the upstream gets the
//! identity; the token never reaches nginx's access log.

use reqwest::Method;

use crate::helpers::api_keys::{access, user_id};
use crate::helpers::forward_auth::policy_file;
use crate::helpers::{Backend, TestApp};
use crate::proxies::{Echo, Kind, Proxy};
use latchkey_server::config::ForwardHeaders;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_passes_a_websocket_upgrade_with_its_token_in_the_url_and_never_logs_it() {
    let policy = policy_file(crate::forward_query::SOCKETS_POLICY);
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.policy_file = Some(policy);
        c.forward_headers = ForwardHeaders::Nginx;
    })
    .await
    .unwrap();
    let echo = Echo::start().await;
    let latchkey = app.base.trim_start_matches("http://").to_owned();
    let Some(proxy) = Proxy::start(Kind::Nginx, &latchkey, &echo.addr, &[]).await else {
        return;
    };
    let ann = app.signup("ann@example.com").await;
    let jwt = access(&ann);
    let upgrade = [("upgrade", "websocket"), ("connection", "Upgrade")];

    for uri in [
        format!("/ws/chat/?access_token={jwt}"),
        format!("/ws/chat/?{jwt}"),
    ] {
        let (status, _, body) = proxy.send(Method::GET, &uri, &upgrade).await;
        assert_eq!((status, body.as_str()), (200, "upstream"), "{uri}");
        let seen = echo.last();
        let user = seen
            .headers
            .iter()
            .find(|(n, _)| n == "x-latchkey-user")
            .map(|(_, v)| v.clone());
        assert_eq!(user, Some(user_id(&ann)), "{uri}");
    }

    // Not an upgrade, or a route whose rule did not opt in: Latchkey's reason, a 401.
    let in_query = format!("/ws/chat/?access_token={jwt}");
    let (status, _, body) = proxy.send(Method::GET, &in_query, &[]).await;
    assert_eq!(status, 401, "a plain GET: {body}");
    assert!(body.contains("missing_token"), "{body}");
    let plain = format!("/ws/plain/?access_token={jwt}");
    let (status, _, _) = proxy.send(Method::GET, &plain, &upgrade).await;
    assert_eq!(status, 401, "a rule without query_token");

    let log = std::fs::read_to_string(proxy.dir.join("access.log")).unwrap_or_default();
    assert!(log.contains("/ws/chat/"), "the requests are logged: {log}");
    assert!(!log.contains(&jwt), "the token is not: {log}");
}
