//! A connection wrapper that puts hyper's own refusals in the error shape.
//!
//! Requests hyper cannot parse (a URL over 64 KiB, more than `MAX_HEADERS` header lines, a head
//! over its buffer, bytes that are not HTTP) never reach the router: hyper answers them itself
//! with a bare `400`/`414`/`431` and closes. Clients of Latchkey rely on every error having one
//! shape, so this wrapper recognises such a head on its way out and writes the documented JSON
//! error instead. Our own responses always carry a body and a content type, so they never match.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use latchkey_api::{ErrorBody, ErrorCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

pub struct ShapedIo {
    inner: TcpStream,
    peer: SocketAddr,
    replacing: Option<Replacement>,
}

/// Our response in place of hyper's head of `claimed` bytes, `written` of it sent so far.
struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    claimed: usize,
}

impl ShapedIo {
    pub fn new(inner: TcpStream, peer: SocketAddr) -> Self {
        ShapedIo {
            inner,
            peer,
            replacing: None,
        }
    }
}

/// The response replacing `head` when it is one of hyper's bodiless parse-error answers.
fn replacement_for(head: &[u8]) -> Option<(ErrorCode, Vec<u8>)> {
    let status = head.strip_prefix(b"HTTP/1.1 ")?.get(..3)?;
    let (code, message) = match status {
        b"400" => (ErrorCode::InvalidRequest, "the request is not valid HTTP"),
        b"414" => (ErrorCode::UriTooLong, "the URL is longer than 8 KiB"),
        b"431" => (
            ErrorCode::HeadersTooLarge,
            "the request headers exceed 16 KiB or 100 lines",
        ),
        _ => return None,
    };
    // The head alone, without a body or a content type: hyper's answer, never a handler's.
    if !head.ends_with(b"\r\n\r\n") || head.windows(4).filter(|w| w == b"\r\n\r\n").count() != 1 {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?.to_ascii_lowercase();
    if !text.contains("\r\ncontent-length: 0\r\n") || text.contains("\r\ncontent-type:") {
        return None;
    }
    let body = serde_json::to_vec(&ErrorBody::new(code, message)).ok()?;
    let reason = std::str::from_utf8(&head[9..])
        .ok()?
        .split("\r\n")
        .next()?
        .to_owned();
    let mut bytes = format!(
        "HTTP/1.1 {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         cache-control: no-store\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(&body);
    Some((code, bytes))
}

impl AsyncRead for ShapedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ShapedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacing.is_none() {
            if let Some((code, bytes)) = replacement_for(buf) {
                // These requests never reach the router's access log.
                tracing::info!(status = code.status(), error = code.as_str(), client_ip = %this.peer.ip(),
                    "request refused before routing");
                this.replacing = Some(Replacement {
                    bytes,
                    written: 0,
                    claimed: buf.len(),
                });
            } else {
                return Pin::new(&mut this.inner).poll_write(cx, buf);
            }
        }
        let r = this.replacing.as_mut().expect("set above");
        while r.written < r.bytes.len() {
            let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &r.bytes[r.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            r.written += n;
        }
        let claimed = r.claimed;
        this.replacing = None;
        Poll::Ready(Ok(claimed))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_bare_refusals_get_the_error_shape() {
        let head = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Tue, 01 Dec 2026 03:00:00 GMT\r\n\r\n";
        let (code, bytes) = replacement_for(head).unwrap();
        assert_eq!(code, ErrorCode::UriTooLong);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{text}");
        let body: serde_json::Value =
            serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["error"], "uri_too_long");
        assert_eq!(body["code"], 414);
    }

    #[test]
    fn our_own_responses_pass_untouched() {
        for head in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 90\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
        ] {
            assert!(replacement_for(head).is_none(), "{}", String::from_utf8_lossy(head));
        }
    }
}
