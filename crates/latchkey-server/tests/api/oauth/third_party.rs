//! The endpoints driven by Authlib (PyPI), a maintained OAuth client library: what an
//! off-the-shelf client does must work unchanged. `scripts/test` installs it; outside CI a
//! machine without it skips with a message.

use std::process::Command;

use crate::helpers::{PASSWORD, TestApp};
use crate::on_all_setups;

fn authlib_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import authlib, requests"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "python3 with authlib and requests is required under CI=true (scripts/test installs it)"
        );
        eprintln!("authlib test skipped: python3 -m pip install authlib requests");
    }
    found
}

async fn authlib_drives_every_oauth_endpoint(app: TestApp) {
    if !authlib_available() {
        return;
    }
    let grant = app.signup("ann@example.com").await;
    // The confidential client is the organization's resource server: it may introspect.
    let (kid, key) = super::introspector(&app, &grant).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/third_party/authlib_client.py"
    );
    let base = app.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args([script, &base, "ann@example.com", PASSWORD, &kid, &key])
            // The server is plain HTTP on loopback.
            .env("AUTHLIB_INSECURE_TRANSPORT", "1")
            .output()
            .expect("run python3")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "authlib client failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("authlib: all checks passed"), "{stdout}");
}
on_all_setups!(authlib_drives_every_oauth_endpoint, |c| {
    c.default_scopes = vec!["orders:read".into(), "orders:write".into()];
});
