//! The TypeScript SDK's own tests (clients/typescript, Node's test runner) against this build of
//! the server: the package must build and its tests pass for the suite to pass.

use std::path::{Path, PathBuf};
use std::process::Command;

fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients/typescript")
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

#[test]
fn typescript_sdk_builds_and_passes_its_tests_against_this_server() {
    if !node_available() {
        return;
    }
    let dir = package_dir();
    // scripts/test installs the locked packages; a lone `cargo nextest run` does it here.
    if !dir.join("node_modules/.package-lock.json").exists() {
        run(&dir, "npm", &["ci", "--no-audit", "--no-fund"]);
    }
    run(&dir, "npm", &["run", "build"]);
    let mut tests: Vec<String> = std::fs::read_dir(dir.join("test"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".test.js"))
        .map(|name| format!("test/{name}"))
        .collect();
    tests.sort();
    let mut args = vec!["--test"];
    args.extend(tests.iter().map(String::as_str));
    run(&dir, "node", &args);
}
