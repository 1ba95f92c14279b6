//! Test suites written in other languages (the TypeScript SDK, the browser tests, the Node and
//! Python guards), run from nextest against this build of the binary: their own runner decides
//! pass or fail, and its output is printed with the test's.

use std::path::Path;
use std::process::Command;

/// Runs `program args` in `dir` with `LATCHKEY_TEST_SERVER_BIN` set to this build's binary, and
/// fails the test when it fails.
pub fn run(dir: &Path, program: &str, args: &[&str]) {
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

/// Whether `program args` runs and succeeds; under CI=true a missing tool fails the test
/// (scripts/test installs every one), elsewhere the test says it was skipped.
pub fn available(what: &str, program: &str, args: &[&str]) -> bool {
    let found = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "{what} is required under CI=true (scripts/test installs it)"
        );
        eprintln!("skipped: {what} is not installed");
    }
    found
}

/// Node and npm, for the npm packages' tests.
pub fn node_available() -> bool {
    available("node and npm", "node", &["--version"])
        && available("node and npm", "npm", &["--version"])
}

/// `npm ci` when the package's locked modules are not installed yet (scripts/test installs
/// them; a lone `cargo nextest run` does it here).
pub fn npm_ci_once(dir: &Path) {
    if !dir.join("node_modules/.package-lock.json").exists() {
        run(dir, "npm", &["ci", "--no-audit", "--no-fund"]);
    }
}
