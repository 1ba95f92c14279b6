//! The hosted pages in a real browser: each `tests/browser/<area>.test.mjs` runs under Node's
//! test runner against this build of the binary (headless Chromium via playwright-core, axe-core
//! on every page). One `#[test]` per file, so nextest runs them in parallel.

use std::path::{Path, PathBuf};

use crate::helpers::foreign::{node_available, npm_ci_once, run};

fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Runs one browser test file; its Node tests decide pass or fail.
fn browser_test(file: &str) {
    if !node_available() {
        return;
    }
    let dir = package_dir();
    npm_ci_once(&dir);
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
