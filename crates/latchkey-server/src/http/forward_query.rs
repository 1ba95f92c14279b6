//! The access token of a WebSocket upgrade, read from the original URI's query. Browsers cannot
//! set headers on a WebSocket, so an app's own socket endpoint is opened as
//! `wss://host/ws/chat/?access_token=<token>` or `wss://host/ws/chat/?<token>`. Only for a
//! policy rule that opts in (`query_token = true`) and only for an upgrade: everywhere else a
//! token in a URL is refused as missing, since URLs end up in logs and browser histories.
//! Latchkey never logs the URI (its access log names routes); the proxy's own log is
//! configured in `docs/proxies/nginx.conf`.

use axum::http::HeaderMap;
use latchkey_api::ErrorCode;
use latchkey_core::policy::{OriginalRequest, Rule};

use super::error::{ApiError, ApiResult};

/// The token in the query of `uri`, when `rule` allows one and the original request is a
/// WebSocket upgrade (`GET` with `Upgrade: websocket`, which nginx's `auth_request`, Traefik
/// and Envoy pass on); `None` otherwise.
pub fn token<'a>(
    headers: &HeaderMap,
    request: &OriginalRequest,
    uri: &'a [u8],
    rule: Option<&Rule>,
) -> ApiResult<Option<&'a str>> {
    if !rule.is_some_and(|r| r.query_token) || !is_upgrade(headers, request) {
        return Ok(None);
    }
    // `OriginalRequest::parse` has already refused anything but printable ASCII.
    let Ok(uri) = std::str::from_utf8(uri) else {
        return Ok(None);
    };
    let Some((_, query)) = uri.split_once('?') else {
        return Ok(None);
    };
    from_query(query)
}

fn is_upgrade(headers: &HeaderMap, request: &OriginalRequest) -> bool {
    request.method == "GET"
        && headers.get_all("upgrade").iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.eq_ignore_ascii_case("websocket"))
        })
}

/// `access_token=<token>` among the parameters, or the whole query when it is a bare token.
/// Two tokens are refused: which one would the upstream's own check read?
fn from_query(query: &str) -> ApiResult<Option<&str>> {
    let bare = |q: &str| !q.is_empty() && !q.contains(['=', '&']);
    if bare(query) {
        return Ok(Some(query));
    }
    let mut found = query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("access_token="));
    match (found.next(), found.next()) {
        (Some(token), None) if !token.is_empty() => Ok(Some(token)),
        (None, _) => Ok(None),
        _ => Err(ApiError::new(
            ErrorCode::InvalidToken,
            "the query names its access token more than once, or leaves it empty",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::from_query;

    #[test]
    fn the_token_is_the_bare_query_or_its_access_token_parameter() {
        let table = [
            ("eyJa.b.c", Some("eyJa.b.c")),
            ("access_token=eyJa.b.c", Some("eyJa.b.c")),
            ("room=4&access_token=eyJa.b.c", Some("eyJa.b.c")),
            ("room=4", None),
            ("", None),
            ("x_access_token=eyJa.b.c", None),
        ];
        for (query, want) in table {
            assert_eq!(from_query(query).ok().flatten(), want, "{query:?}");
        }
        for twice in ["access_token=a&access_token=b", "access_token="] {
            assert!(from_query(twice).is_err(), "{twice:?}");
        }
    }
}
