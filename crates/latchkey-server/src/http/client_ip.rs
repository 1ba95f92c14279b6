//! The client's address behind reverse proxies. Pure: headers and the socket peer in, an address
//! out.
//!
//! Every proxy *appends* the address it received the request from, so only the right end of
//! `X-Forwarded-For` / `Forwarded` can be believed: the left end is whatever the client wrote.
//! Walking from the right, each hop written by a trusted proxy is skipped; the first address not
//! inside a trusted network is the client. Headers count only when the socket peer itself is a
//! trusted proxy; otherwise anyone could pick their own rate-limit bucket.
//!
//! A proxy writes one of the two headers and passes the other through as the client sent it.
//! When both are present and name different clients, one was written by the client and nothing
//! tells which: the request is refused ([`Conflict`]). Falling back to the proxy's own address
//! would let any client move into that bucket (`Forwarded: for=unknown` beside the proxy's
//! `X-Forwarded-For`) and so gain a second one.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// `Forwarded` and `X-Forwarded-For` name different clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conflict;

/// The client address of a request that came from `peer`.
pub fn resolve(headers: &HeaderMap, peer: IpAddr, trusted: &[IpNet]) -> Result<IpAddr, Conflict> {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return Ok(peer);
    }
    let forwarded =
        header_list(headers, "forwarded").map(|v| walk(peer, &forwarded_for(&v), trusted));
    let xff =
        header_list(headers, "x-forwarded-for").map(|v| walk(peer, &x_forwarded_for(&v), trusted));
    match (forwarded, xff) {
        (Some(a), Some(b)) if a == b => Ok(a),
        // Both present and different: one of them was written by the client and we cannot tell
        // which. Neither is believed, and neither is the proxy's own address: that would be a
        // bucket any client can step into.
        (Some(_), Some(_)) => Err(Conflict),
        (Some(a), None) | (None, Some(a)) => Ok(a),
        (None, None) => Ok(peer),
    }
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// All lines of a header joined by commas (several lines are one list, RFC 9110 §5.3). `None`
/// when the header is absent; a line that is not text makes the whole list unreadable.
fn header_list(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let texts: Vec<&str> = values.map(|v| v.to_str().unwrap_or("\u{0}")).collect();
    Some(texts.join(","))
}

/// From the right: skip trusted hops, stop at the first untrusted one. A hop that is not an
/// address (`unknown`, an obfuscated name, garbage) ends the walk at the last address we could
/// vouch for: a fail-closed answer the client cannot steer.
fn walk(peer: IpAddr, hops: &[Option<IpAddr>], trusted: &[IpNet]) -> IpAddr {
    let mut last_known = peer;
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) if is_trusted(*ip, trusted) => last_known = *ip,
            Some(ip) => return *ip,
            None => return last_known,
        }
    }
    // Every hop is a trusted proxy: the furthest one is the client.
    last_known
}

/// `X-Forwarded-For: 203.0.113.9, 10.0.0.2` (ports and IPv6 brackets tolerated).
fn x_forwarded_for(value: &str) -> Vec<Option<IpAddr>> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_node)
        .collect()
}

/// RFC 7239: `Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::17]:4711"`. One entry per
/// element; an element without `for` counts as an unknown hop.
fn forwarded_for(value: &str) -> Vec<Option<IpAddr>> {
    split_outside_quotes(value, ',')
        .into_iter()
        .filter(|element| !element.trim().is_empty())
        .map(|element| {
            let value = split_outside_quotes(element, ';')
                .into_iter()
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))?
                .1;
            parse_node(unquote(value.trim()))
        })
        .collect()
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]`, `[::1]:80`.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Some(addr.ip().to_canonical());
    }
    s.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .and_then(|s| s.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const PROXY: &str = "10.0.0.1";

    fn resolved(pairs: &[(&'static str, &str)], trusted: &[&str]) -> String {
        match resolve(&headers(pairs), ip(PROXY), &nets(trusted)) {
            Ok(ip) => ip.to_string(),
            Err(Conflict) => "conflict".to_owned(),
        }
    }

    #[test]
    fn without_trusted_proxies_the_headers_are_ignored() {
        let h = [
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=198.51.100.1"),
        ];
        assert_eq!(resolved(&h, &[]), PROXY);
        // A peer outside the trusted list is a client, whatever it writes.
        assert_eq!(resolved(&h, &["192.168.0.0/16"]), PROXY);
    }

    #[test]
    fn x_forwarded_for_is_read_from_the_right() {
        let trusted = ["10.0.0.0/8"];
        for (xff, want) in [
            ("203.0.113.9", "203.0.113.9"),
            // The client wrote the left part; the proxy appended its real address.
            ("198.51.100.7, 203.0.113.9", "203.0.113.9"),
            // Trusted hops on the right are skipped.
            ("198.51.100.7, 203.0.113.9, 10.1.2.3", "203.0.113.9"),
            ("203.0.113.9:5555, [2001:db8::1]:443", "2001:db8::1"),
            // Only trusted hops: the furthest one.
            ("10.9.9.9, 10.1.1.1", "10.9.9.9"),
            // A hop that is no address ends the walk at the last one vouched for.
            ("203.0.113.9, unknown", PROXY),
            ("203.0.113.9, garbage, 10.1.1.1", "10.1.1.1"),
            ("", PROXY),
        ] {
            assert_eq!(
                resolved(&[("x-forwarded-for", xff)], &trusted),
                want,
                "{xff}"
            );
        }
    }

    #[test]
    fn several_header_lines_are_one_list() {
        let h = [
            ("x-forwarded-for", "198.51.100.7"),
            ("x-forwarded-for", "203.0.113.9"),
        ];
        assert_eq!(resolved(&h, &["10.0.0.0/8"]), "203.0.113.9");
    }

    #[test]
    fn forwarded_elements_with_quotes_brackets_and_ports() {
        let trusted = ["10.0.0.0/8"];
        for (value, want) in [
            ("for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60"),
            (r#"for="[2001:db8:cafe::17]:4711""#, "2001:db8:cafe::17"),
            (r#"For="192.0.2.43:47011""#, "192.0.2.43"),
            ("for=198.51.100.1, for=192.0.2.60", "192.0.2.60"),
            ("for=192.0.2.60, for=10.2.2.2;proto=https", "192.0.2.60"),
            (r#"for="_hidden", for=192.0.2.60"#, "192.0.2.60"),
            (r#"for=192.0.2.60, for="_hidden""#, PROXY),
            ("for=192.0.2.60, proto=https", PROXY),
            (
                r#"for=192.0.2.61;x="a,b;for=1.1.1.1", for=192.0.2.60"#,
                "192.0.2.60",
            ),
        ] {
            assert_eq!(resolved(&[("forwarded", value)], &trusted), want, "{value}");
        }
    }

    #[test]
    fn disagreeing_headers_are_a_conflict_never_the_proxy() {
        let trusted = ["10.0.0.0/8"];
        let agree = [
            ("forwarded", "for=203.0.113.9"),
            ("x-forwarded-for", "203.0.113.9"),
        ];
        assert_eq!(resolved(&agree, &trusted), "203.0.113.9");
        for forwarded in [
            "for=198.51.100.1",
            "for=unknown",
            r#"for="_hidden""#,
            "proto=https",
        ] {
            let disagree = [("forwarded", forwarded), ("x-forwarded-for", "203.0.113.9")];
            assert_eq!(resolved(&disagree, &trusted), "conflict", "{forwarded}");
        }
        // The same the other way round: a proxy that writes `Forwarded`, a client that adds
        // `X-Forwarded-For`.
        let disagree = [
            ("forwarded", "for=203.0.113.9"),
            ("x-forwarded-for", "unknown"),
        ];
        assert_eq!(resolved(&disagree, &trusted), "conflict");
    }

    #[test]
    fn ipv4_mapped_addresses_match_ipv4_networks() {
        let h = headers(&[("x-forwarded-for", "::ffff:203.0.113.9")]);
        let got = resolve(&h, ip("::ffff:10.0.0.1"), &nets(&["10.0.0.0/8"]));
        assert_eq!(got, Ok(ip("203.0.113.9")));
    }
}
