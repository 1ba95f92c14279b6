//! The server's log lines, captured in the test process: for waiting on something the server
//! only logs (a policy reload refused) instead of waiting a fixed time.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

static LINES: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LINES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber for this test process (once; the server's own
/// `telemetry` is not started in-process). Call before starting the server.
pub fn capture() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(|| Capture)
            .init();
    });
}

/// How many captured lines contain every one of `needles` (other tests in the same process
/// log too: include something unique to the test, such as a file path).
pub fn count(needles: &[&str]) -> usize {
    let text = LINES.lock().unwrap_or_else(|e| e.into_inner());
    String::from_utf8_lossy(&text)
        .lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .count()
}
