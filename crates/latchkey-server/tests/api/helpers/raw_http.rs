//! Helpers shared by the tests (moved out of `raw_http`).

use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Generous: a deadline for a broken server, not a measurement.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// True when the server closes the connection (EOF or reset) within `PATIENCE`; what it sent
/// before is ignored.
pub async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let wait = async {
        let mut chunk = [0u8; 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait).await.is_ok()
}

pub async fn connect(addr: &str) -> TcpStream {
    TcpStream::connect(addr.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads one response (head, then `content-length` bytes of body), failing after `PATIENCE`.
pub async fn read_response(stream: &mut TcpStream) -> RawResponse {
    tokio::time::timeout(PATIENCE, async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(
                n > 0,
                "closed before a response: {:?}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let status = head[9..12].parse().unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed inside the body");
            buf.extend_from_slice(&chunk[..n]);
        }
        RawResponse {
            status,
            head,
            body: buf[head_end..head_end + length].to_vec(),
        }
    })
    .await
    .expect("a response within the deadline")
}

pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}
