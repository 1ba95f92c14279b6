//! The README's walk-through, run as a reader would paste it: `scripts/walkthrough` starts the
//! built `latchkey serve` from the README's own server block in a fresh directory (the embedded
//! database) and runs every step with `set -euo pipefail`. A step that no longer works as
//! written fails this test, so the README cannot drift from the product.

use std::path::Path;
use std::process::Command;

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn readme_walkthrough_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = Command::new("bash")
        .arg(root.join("scripts/walkthrough"))
        .env("WALKTHROUGH_BIN", env!("CARGO_BIN_EXE_latchkey"))
        .env("WALKTHROUGH_PORT", free_port().to_string())
        .output()
        .expect("run scripts/walkthrough");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the README walk-through failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // Either every step ran, or the script said why it skipped (curl or jq missing outside CI).
    assert!(
        stdout.contains("walkthrough: every step passed")
            || stdout.contains("walkthrough: skipped"),
        "unexpected output:\n{stdout}\n{stderr}"
    );
}
