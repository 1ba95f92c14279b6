//! The hosted pages in a real browser: each `tests/browser/<area>.test.mjs` runs under Node's
//! test runner against this build of the binary (headless Chromium via playwright-core, axe-core
//! on every page). One `#[test]` per file, so nextest runs them in parallel.

use std::path::{Path, PathBuf};
use std::process::Command;

fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("LATCHKEY_TEST_SERVER_BIN", env!("CARGO_BIN_EXE_latchkey"))
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    println!("$ {program} {}", args.join(" "));
    println!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        out.status
    );
}

fn node_available() -> bool {
    let found = Command::new("node").arg("--version").output().is_ok()
        && Command::new("npm").arg("--version").output().is_ok();
    if !found {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "node and npm are required under CI=true"
        );
        eprintln!("skipped: node or npm is not installed");
    }
    found
}

/// Runs one browser test file; its Node tests decide pass or fail.
fn browser_test(file: &str) {
    if !node_available() {
        return;
    }
    let dir = package_dir();
    // scripts/test installs the locked packages; a lone `cargo nextest run` does it here.
    if !dir.join("node_modules/.package-lock.json").exists() {
        run(&dir, "npm", &["ci", "--no-audit", "--no-fund"]);
    }
    run(&dir, "node", &["--test", "--test-concurrency=1", file]);
}

// ---- pages: sign-in ----------------------------------------------------------------------

#[test]
fn sign_in_pages_work_in_a_real_browser() {
    browser_test("signin.test.mjs");
}

// ---- pages: account sessions and API keys, organization admin (adminkeys) ----------------

#[test]
fn api_key_and_session_pages_work_in_a_real_browser() {
    browser_test("keys.test.mjs");
}

#[test]
fn admin_pages_work_in_a_real_browser() {
    browser_test("admin.test.mjs");
}

// ---- entry: sign-up, provider sign-in and sign-up, mailed links, forgot password ----------

#[test]
fn sign_up_pages_work_in_a_real_browser() {
    browser_test("signup.test.mjs");
}

#[test]
fn mailed_link_pages_work_in_a_real_browser() {
    browser_test("links.test.mjs");
}

// ---- pages: sign-in by mailed code and magic link -----------------------------------------

#[test]
fn sign_in_by_mailed_code_and_magic_link_works_in_a_real_browser() {
    browser_test("signin_code.test.mjs");
}

// ---- pages: hosted sign-in for apps -------------------------------------------------------

#[test]
fn hosted_sign_in_hands_apps_a_pkce_code_in_a_real_browser() {
    browser_test("hosted.test.mjs");
}

// ---- security: the new-address link, /account/security ------------------------------------

#[test]
fn account_security_pages_work_in_a_real_browser() {
    browser_test("security.test.mjs");
}

// ---- totp: /account/security, two-factor authentication -----------------------------------

#[test]
fn two_factor_authentication_page_works_in_a_real_browser() {
    browser_test("security_totp.test.mjs");
}
