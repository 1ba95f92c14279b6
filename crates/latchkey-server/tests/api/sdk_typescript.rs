//! The TypeScript SDK's own tests (clients/typescript, Node's test runner) against this build of
//! the server: the package must build and its tests pass for the suite to pass.

use std::path::{Path, PathBuf};

use crate::helpers::foreign::{node_available, npm_ci_once, run};

fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients/typescript")
}

#[test]
fn typescript_sdk_builds_and_passes_its_tests_against_this_server() {
    if !node_available() {
        return;
    }
    let dir = package_dir();
    npm_ci_once(&dir);
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
