//! The original request a proxy asks about, read strictly: a method or URI that cannot be read
//! exactly is refused, never replaced by a guess (the server's own path, a lossy decoding).

/// Longest original URI accepted; longer ones are refused before any matching.
pub const MAX_URI_LEN: usize = 8 * 1024;

/// Why an original request is not matched against the rules at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmatchable {
    /// The method or URI cannot be read (bad bytes, malformed escapes, not UTF-8).
    Unreadable(&'static str),
    /// Readable, but upstreams disagree on what it names (dot segments, `;` parameters,
    /// encoded separators): refused rather than matched one way and served another.
    Ambiguous(&'static str),
    /// Longer than `MAX_URI_LEN`.
    TooLong,
}

/// A method and a path of decoded segments, ready for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalRequest {
    /// Upper-case.
    pub method: String,
    pub segments: Vec<String>,
}

impl OriginalRequest {
    pub fn parse(method: &[u8], uri: &[u8]) -> Result<OriginalRequest, Unmatchable> {
        use Unmatchable::{Ambiguous, TooLong, Unreadable};
        // RFC 9110 token characters only, as a request line would carry them.
        let method_ok = (1..=32).contains(&method.len())
            && method
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b));
        if !method_ok {
            return Err(Unreadable("the original method is not a valid HTTP method"));
        }
        if uri.len() > MAX_URI_LEN {
            return Err(TooLong);
        }
        // Visible ASCII only: a proxy sends the request target as it arrived, and anything
        // else (raw UTF-8, Latin-1, controls, spaces) has no single reading.
        if !uri.iter().all(|b| (0x21..=0x7e).contains(b)) {
            return Err(Unreadable(
                "the original URI contains bytes that are not printable ASCII",
            ));
        }
        if uri.contains(&b'#') {
            return Err(Unreadable("the original URI carries a fragment"));
        }
        let uri = std::str::from_utf8(uri).map_err(|_| Unreadable("the original URI"))?;
        let path = uri.split('?').next().unwrap_or("");
        if !path.starts_with('/') {
            return Err(Unreadable(
                "the original URI must be a path starting with /",
            ));
        }
        let mut segments = Vec::new();
        for raw in path[1..].split('/').filter(|s| !s.is_empty()) {
            // Compared decoded, so `%2e%2e` is a dot segment and `%6Frders` is `orders`.
            let seg = percent_decode(raw).ok_or(Unreadable(
                "the original path has a malformed escape or is not UTF-8 once decoded",
            ))?;
            if seg == "." || seg == ".." {
                return Err(Ambiguous("the original path has dot segments"));
            }
            if seg.contains(['/', '\\']) {
                return Err(Ambiguous("the original path has an encoded separator"));
            }
            // Tomcat, Jetty and Spring drop `;params` (`/public/..;/admin` is `/admin` there).
            if seg.contains(';') {
                return Err(Ambiguous("the original path has ;parameters"));
            }
            if seg.chars().any(char::is_control) {
                return Err(Ambiguous("the original path has control characters"));
            }
            segments.push(seg);
        }
        Ok(OriginalRequest {
            method: String::from_utf8_lossy(method).to_ascii_uppercase(),
            segments,
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
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::Unmatchable::*;
    use super::*;

    fn parse(method: &str, uri: &[u8]) -> Result<Vec<String>, Unmatchable> {
        OriginalRequest::parse(method.as_bytes(), uri).map(|r| r.segments)
    }

    #[test]
    fn readable_requests_become_decoded_segments() {
        let r = OriginalRequest::parse(b"get", b"/%6Frders//42?q=%ff&x=\"").unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.segments, ["orders", "42"]);
        assert_eq!(parse("GET", b"/").unwrap(), Vec::<String>::new());
        assert_eq!(parse("GET", b"/caf%C3%A9").unwrap(), ["café"]);
    }

    #[test]
    fn what_cannot_be_read_exactly_is_refused() {
        for (method, uri) in [
            ("GET", &b"/admin/users?q=\xc3\xa9"[..]),
            ("DELETE", b"/orders/1?\xff"),
            ("GET", b"/caf\xc3\xa9"),
            ("GET", b"/a b"),
            ("GET", b"/a\tb"),
            ("GET", b"/orders/%ff"),
            ("GET", b"/orders/%c3"),
            ("GET", b"/orders/%zz"),
            ("GET", b"/orders/%+1"),
            ("GET", b"/orders/%4"),
            ("GET", b"orders/1"),
            ("GET", b"http://host/orders/1"),
            ("GET", b""),
            ("GET", b"/a#frag"),
            ("", b"/orders/1"),
            ("G ET", b"/orders/1"),
            ("GÉT", b"/orders/1"),
        ] {
            assert!(
                matches!(parse(method, uri), Err(Unreadable(_))),
                "{method} {}",
                String::from_utf8_lossy(uri)
            );
        }
    }

    #[test]
    fn paths_upstreams_read_differently_are_refused() {
        for uri in [
            "/public/../admin",
            "/public/./x",
            "/public/%2e%2e/admin",
            "/public/.%2E/admin",
            "/public/..;/admin/x",
            "/public/..%3b/admin",
            "/public/%2e%2e;/admin",
            "/admin;x=1/secret",
            "/public/x;jsessionid=1",
            "/public/a%2fb",
            "/public/a%5cb",
            "/public/a\\b",
            "/public/a%00b",
        ] {
            assert!(
                matches!(parse("GET", uri.as_bytes()), Err(Ambiguous(_))),
                "{uri}"
            );
        }
    }

    #[test]
    fn long_uris_are_refused() {
        let long = format!("/{}", "a".repeat(MAX_URI_LEN));
        assert_eq!(parse("GET", long.as_bytes()), Err(TooLong));
        let fits = format!("/{}", "a".repeat(MAX_URI_LEN - 1));
        assert!(parse("GET", fits.as_bytes()).is_ok());
    }
}
