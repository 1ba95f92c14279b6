//! The Node and Python guards' own tests (clients/node-guard with Node's test runner,
//! clients/python with pytest), each protecting a small sample API against this build of the
//! server: allowed with the scope, 403 without, 401 after logout with introspection, 401 for
//! another issuer or audience, a rotated key fetched again. The Python package's client tests
//! (refresh rules, API-key handling) run here too.

use std::path::{Path, PathBuf};

use crate::helpers::foreign::{available, npm_ci_once, run};

fn clients_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../clients")
        .join(name)
}

#[test]
fn guard_node_protects_express_and_fastify_apis_against_this_server() {
    if !available("node and npm", "npm", &["--version"]) {
        return;
    }
    let dir = clients_dir("node-guard");
    npm_ci_once(&dir);
    run(&dir, "npm", &["test"]);
}

/// pytest on one file of clients/python/tests (one suite per nextest test, so they run side by side).
fn pytest(file: &str) {
    let modules = "import pytest, httpx, jwt, cryptography, fastapi, flask, mypy";
    if !available(
        "python3 with the clients/python test packages",
        "python3",
        &["-c", modules],
    ) {
        return;
    }
    run(
        &clients_dir("python"),
        "python3",
        &["-m", "pytest", "-q", "-p", "no:cacheprovider", file],
    );
}

#[test]
fn guard_python_protects_fastapi_and_flask_apis_against_this_server() {
    pytest("tests/test_guard.py");
}

#[test]
fn python_client_keeps_sessions_and_api_keys_against_this_server() {
    pytest("tests/test_client.py");
}

#[test]
fn python_package_passes_mypy_strict() {
    pytest("tests/test_types.py");
}
