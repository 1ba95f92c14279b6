//! The `latchkey` binary as an operator runs it: `users create`, `migrate`, strict settings,
//! start-up warnings and errors. Each test runs the real binary with only the settings it
//! gives (nothing inherited from the test's environment).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Backend, TestApp, fresh_pg_schema, s, temp_dir};

fn latchkey(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    for (name, _) in std::env::vars() {
        if name.starts_with("LATCHKEY_") || name == "RUST_LOG" {
            cmd.env_remove(name);
        }
    }
    cmd.current_dir(cwd)
        .args(args)
        .env("LATCHKEY_ARGON2_MEMORY_KIB", "4096")
        .env("LATCHKEY_ARGON2_ITERATIONS", "1");
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd
}

struct Run {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(cwd: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let mut child = latchkey(cwd, args, env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run latchkey");
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        ok: status.success(),
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// The value after `label` on its line of the command's output.
fn line_value(out: &str, label: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{out}"))
        .trim()
        .to_owned()
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_create_uses_the_configured_database_and_prints_the_key_once() {
    let data = temp_dir();
    let elsewhere = temp_dir();
    let data_dir = data.display().to_string();
    let env = [("LATCHKEY_DATA_DIR", data_dir.as_str())];

    let ann = run(
        &elsewhere,
        &["users", "create", "--email", "ann@example.com"],
        &env,
        None,
    );
    assert!(ann.ok, "{}{}", ann.stdout, ann.stderr);
    assert_eq!(
        line_value(&ann.stdout, "database:"),
        format!("SQLite at {}", data.join("latchkey.db").display()),
        "names the database it used"
    );
    assert!(
        !elsewhere.join("latchkey-data").exists(),
        "no stray database where the command ran"
    );
    assert!(ann.stdout.contains("as admin"), "{}", ann.stdout);
    let password = line_value(&ann.stdout, "password (shown once):");
    let api_key = line_value(&ann.stdout, "API key (shown once):");
    let code = line_value(
        &ann.stdout,
        "referral code of the new organization (to invite members):",
    );

    let bob = run(
        &elsewhere,
        &[
            "users",
            "create",
            "--email",
            "bob@example.com",
            "--referral-code",
            &code,
            "--admin",
            "--password-stdin",
        ],
        &env,
        Some("correct horse battery staple\n"),
    );
    assert!(bob.ok, "{}{}", bob.stdout, bob.stderr);
    assert!(
        bob.stdout.contains("as admin"),
        "--admin with a referral code"
    );
    assert!(
        !bob.stdout.contains("password (shown once)"),
        "not generated"
    );
    let carl = run(
        &elsewhere,
        &[
            "users",
            "create",
            "--email",
            "carl@example.com",
            "--referral-code",
            &code,
        ],
        &env,
        None,
    );
    assert!(carl.ok, "{}{}", carl.stdout, carl.stderr);
    assert!(carl.stdout.contains("as member"), "{}", carl.stdout);

    // The server over the same data directory sees what the command created.
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.data_dir = data.clone())
        .await
        .unwrap();
    let r = app.login("ann@example.com", &password).await;
    assert_eq!(r.status(), 200, "the printed password logs in");
    let (status, body) = app.get_token(&api_key).await;
    assert_eq!(status, 200, "the printed API key works: {body}");
    let r = app
        .login("bob@example.com", "correct horse battery staple")
        .await;
    let grant: serde_json::Value = r.json().await.unwrap();
    assert_eq!(grant["user"]["role"], "admin");
    let me: serde_json::Value = app
        .me(&s(&grant, "access_token"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
}

#[test]
fn users_create_refuses_bad_input_before_printing_or_opening_anything() {
    let data = temp_dir().join("data");
    let data_dir = data.display().to_string();
    let env = [("LATCHKEY_DATA_DIR", data_dir.as_str())];
    let cwd = temp_dir();

    let bad_email = run(
        &cwd,
        &["users", "create", "--email", "not-an-email"],
        &env,
        None,
    );
    assert_eq!(bad_email.code, Some(1), "{}", bad_email.stderr);
    assert!(bad_email.stderr.contains("email"), "{}", bad_email.stderr);
    assert!(
        !bad_email.stdout.contains("password"),
        "{}",
        bad_email.stdout
    );

    let weak = run(
        &cwd,
        &[
            "users",
            "create",
            "--email",
            "ann@example.com",
            "--password-stdin",
        ],
        &env,
        Some("short\n"),
    );
    assert_eq!(weak.code, Some(1), "{}", weak.stderr);
    assert!(weak.stderr.contains("at least 8"), "{}", weak.stderr);
    assert!(!weak.stdout.contains("API key"), "{}", weak.stdout);
    assert!(!data.exists(), "no database opened for bad input");
}

#[test]
fn migrate_reports_the_migrations_it_applied() {
    let cwd = temp_dir();
    let first = run(&cwd, &["migrate", "--data-dir", "db"], &[], None);
    assert!(first.ok, "{}", first.stderr);
    assert!(
        first.stdout.contains("applied 0001 foundation"),
        "{}",
        first.stdout
    );
    assert!(!first.stdout.contains("up to date ("), "{}", first.stdout);

    let again = run(&cwd, &["migrate", "--data-dir", "db"], &[], None);
    assert!(again.ok, "{}", again.stderr);
    assert!(!again.stdout.contains("applied 0"), "{}", again.stdout);
    let count = first
        .stdout
        .lines()
        .filter(|l| l.starts_with("applied 0"))
        .count();
    assert!(
        again
            .stdout
            .contains(&format!("database is up to date ({count} migrations)")),
        "{}",
        again.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_on_postgres_names_the_database_without_its_password() {
    let Some(url) = fresh_pg_schema().await else {
        return;
    };
    let with_password = url.replacen("postgres://postgres@", "postgres://postgres:hunter2@", 1);
    let cwd = temp_dir();
    let first = run(
        &cwd,
        &["migrate"],
        &[("LATCHKEY_DATABASE_URL", &with_password)],
        None,
    );
    assert!(first.ok, "{}", first.stderr);
    assert!(
        first.stdout.contains("database: postgres://"),
        "{}",
        first.stdout
    );
    assert!(!first.stdout.contains("hunter2"), "{}", first.stdout);
    assert!(
        first.stdout.contains("applied 0001 foundation"),
        "{}",
        first.stdout
    );
    let again = run(&cwd, &["migrate"], &[("LATCHKEY_DATABASE_URL", &url)], None);
    assert!(
        again.stdout.contains("database is up to date ("),
        "{}",
        again.stdout
    );
}

#[test]
fn unreachable_postgres_is_named_with_its_address() {
    let port = free_port();
    let url = format!("postgres://latchkey@127.0.0.1:{port}/latchkey");
    let r = run(
        &temp_dir(),
        &["migrate"],
        &[("LATCHKEY_DATABASE_URL", &url)],
        None,
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("cannot connect to PostgreSQL at 127.0.0.1:{port}")),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("refused"), "{}", r.stderr);
}

/// Runs `migrate` with one bad setting; returns the error output after checking the command
/// failed cleanly (exit 1, not a panic's 101).
fn refused(env: &[(&str, &str)], args: &[&str]) -> String {
    let cwd = temp_dir();
    let mut all = vec!["migrate"];
    all.extend_from_slice(args);
    let r = run(&cwd, &all, env, None);
    assert_eq!(r.code, Some(1), "{env:?}: {}", r.stderr);
    assert!(
        !cwd.join("latchkey-data").exists(),
        "{env:?}: nothing opened"
    );
    r.stderr
}

#[test]
fn unknown_or_bad_settings_stop_start_up_with_their_name() {
    let err = refused(&[("LATCHKEY_BNID", "0.0.0.0:80")], &[]);
    assert!(err.contains("LATCHKEY_BNID"), "{err}");

    let file: PathBuf = temp_dir().join("latchkey.toml");
    std::fs::write(&file, "bnid = \"0.0.0.0:80\"\n").unwrap();
    let err = refused(&[], &["--config", &file.display().to_string()]);
    assert!(err.contains("`bnid`"), "{err}");

    let err = refused(&[("LATCHKEY_LOG_LEVEL", "verbose")], &[]);
    assert!(
        err.contains("verbose") && err.contains("not a level"),
        "{err}"
    );

    let err = refused(&[("LATCHKEY_DATABASE_MAX_CONNECTIONS", "0")], &[]);
    assert!(err.contains("database_max_connections"), "{err}");
    let err = refused(&[("LATCHKEY_HASH_THREADS", "0")], &[]);
    assert!(err.contains("hash_threads"), "{err}");

    let err = refused(&[("LATCHKEY_REFRESH_TOKEN_TTL", "-1h")], &[]);
    assert!(
        err.contains("LATCHKEY_REFRESH_TOKEN_TTL") && err.contains("negative"),
        "{err}"
    );
}

#[test]
fn the_harness_variables_are_not_settings_and_flags_belong_to_their_command() {
    let cwd = temp_dir();
    let r = run(
        &cwd,
        &["migrate", "--data-dir", "db"],
        &[
            ("LATCHKEY_TEST_ANYTHING", "1"),
            ("LATCHKEY_BENCH_URL", "http://127.0.0.1:8080"),
        ],
        None,
    );
    assert!(r.ok, "{}", r.stderr);

    let r = run(&cwd, &["migrate", "--bind", "127.0.0.1:9"], &[], None);
    assert_eq!(r.code, Some(2), "--bind means nothing to migrate");
    assert!(r.stderr.contains("--bind"), "{}", r.stderr);

    let help = run(&cwd, &["serve", "--help"], &[], None);
    assert!(help.stdout.contains("LATCHKEY_BIND"), "{}", help.stdout);
    assert!(help.stdout.contains("127.0.0.1:8080"), "{}", help.stdout);
    assert!(
        help.stdout.contains("LATCHKEY_LOGIN_LIMIT_PER_IP"),
        "{}",
        help.stdout
    );
}

/// A `latchkey serve` process with its error output in a file, killed when dropped.
struct Serve {
    child: Child,
    log: PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn start(bind: &str, env: &[(&str, &str)]) -> Serve {
        let dir = temp_dir();
        let log = dir.join("stderr.log");
        let data_dir = dir.join("data").display().to_string();
        let mut all = vec![("LATCHKEY_DATA_DIR", data_dir.as_str())];
        all.extend_from_slice(env);
        let child = latchkey(&dir, &["serve", "--bind", bind], &all)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start latchkey serve");
        Serve { child, log }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `/healthz` on the loopback address every 100 ms for up to 20 s.
    async fn wait_healthy(&mut self, port: u16) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("latchkey exited ({status}):\n{}", self.stderr());
            }
            let r = client
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await;
            if r.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not healthy after 20 s:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_binds_a_host_name() {
    let port = free_port();
    let mut server = Serve::start(
        &format!("localhost:{port}"),
        &[("LATCHKEY_ISSUER", "http://auth.example.test")],
    );
    server.wait_healthy(port).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_on_all_interfaces_without_an_issuer_warns() {
    let port = free_port();
    let mut server = Serve::start(&format!("0.0.0.0:{port}"), &[]);
    server.wait_healthy(port).await;
    let err = server.stderr();
    assert!(
        err.contains("LATCHKEY_ISSUER is not set")
            && err.contains(&format!("http://0.0.0.0:{port}")),
        "{err}"
    );
    drop(server);

    let port = free_port();
    let mut server = Serve::start(
        &format!("0.0.0.0:{port}"),
        &[("LATCHKEY_ISSUER", "https://auth.example.test")],
    );
    server.wait_healthy(port).await;
    assert!(
        !server.stderr().contains("LATCHKEY_ISSUER"),
        "{}",
        server.stderr()
    );
}

/// `0` turns a limit off (it used to refuse every attempt).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_of_zero_is_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.login_limit_per_account = 0;
        c.login_limit_per_account_ip = 0;
        c.login_limit_per_ip = 0;
        c.signup_limit_per_ip = 0;
    })
    .await
    .unwrap();
    // More sign-ups from one address than the default limit allows.
    for i in 0..55 {
        app.signup_with(
            json!({"email": format!("u{i}@example.com"), "password": crate::helpers::PASSWORD}),
        )
        .await;
    }
    // More failures for one account from one address than either default limit allows.
    for _ in 0..105 {
        let r = app.login("u0@example.com", "wrong password here").await;
        assert_eq!(r.status(), 401);
    }
    let r = app.login("u0@example.com", crate::helpers::PASSWORD).await;
    assert_eq!(r.status(), 200);
}
