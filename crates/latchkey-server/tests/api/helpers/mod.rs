//! The test harness: a real server on port 0 over a real database, one fresh database per test
//! (a temporary SQLite file, or a PostgreSQL schema of its own), and a manual clock.

use std::path::PathBuf;
use std::time::Duration;

use latchkey_core::Clock;
use latchkey_server::{Config, Running};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Clock,
    pub config: Config,
    pub backend: Backend,
    running: Option<Running>,
}

pub const PASSWORD: &str = "correct horse battery staple";

/// The PostgreSQL the tests use: `LATCHKEY_TEST_DATABASE_URL`, or the machine's `test` database.
pub fn pg_admin_url() -> String {
    std::env::var("LATCHKEY_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema for one test. An unreachable PostgreSQL fails the test, in CI or not: a
/// skipped test must not pass. (`Option` only so callers keep their `?`; never `None`.)
pub async fn fresh_pg_schema() -> Option<String> {
    use sqlx::Connection;
    let admin = pg_admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) => panic!("PostgreSQL is required (scripts/test starts it): {admin}: {e}"),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    drop_stale_schemas(&mut conn, now).await;
    let schema = format!("t_{now}_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await
        .expect("create schema");
    let sep = if admin.contains('?') { '&' } else { '?' };
    Some(format!("{admin}{sep}options=-c%20search_path%3D{schema}"))
}

/// The Redis the tests use (`LATCHKEY_TEST_REDIS_URL`, or the machine's); an unreachable one
/// fails the test. Each test gets its own key prefix. (`Option` only so callers keep their
/// `?`; never `None`.)
pub fn redis_url() -> Option<String> {
    let url = std::env::var("LATCHKEY_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let hostport = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or("127.0.0.1:6379")
        .rsplit('@')
        .next()
        .unwrap_or("127.0.0.1:6379")
        .to_owned();
    match std::net::TcpStream::connect(&hostport) {
        Ok(_) => Some(url),
        Err(e) => panic!("Redis is required (scripts/test starts it): {hostport}: {e}"),
    }
}

/// A `redis-server` of the test's own on a free loopback port, so a test may stop it, restart
/// it, pause it (SIGSTOP, as a network cut looks to a client) and reconfigure it without
/// touching the machine's shared Redis. Killed when dropped. A missing `/usr/bin/redis-server`
/// fails the test.
pub struct OwnedRedis {
    pub port: u16,
    extra: Vec<String>,
    /// Where a persistent server keeps its append-only file; `None`: a restart comes back empty.
    dir: Option<PathBuf>,
    child: Option<std::process::Child>,
}

const REDIS_SERVER: &str = "/usr/bin/redis-server";

impl OwnedRedis {
    pub fn start() -> Option<OwnedRedis> {
        Self::start_with(&[])
    }

    /// One that keeps its data across `kill` and `restart` (append-only file, synced on every
    /// write), as a real outage would: what it held before comes back.
    pub fn start_persistent() -> Option<OwnedRedis> {
        let dir = temp_dir();
        let dir = dir.to_str().expect("a UTF-8 temp dir").to_owned();
        let mut redis = Self::start_with(&[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            &dir,
        ])?;
        redis.dir = Some(PathBuf::from(dir));
        Some(redis)
    }

    /// With extra `redis-server` arguments, e.g. `["--maxmemory-policy", "allkeys-lru"]`.
    pub fn start_with(extra: &[&str]) -> Option<OwnedRedis> {
        if !std::path::Path::new(REDIS_SERVER).exists() {
            panic!("{REDIS_SERVER} is required (scripts/test installs Redis)");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = OwnedRedis {
            port,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            dir: None,
            child: None,
        };
        redis.restart();
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on the same port, empty unless it is persistent, and waits until it
    /// answers.
    pub fn restart(&mut self) {
        self.stop();
        let child = std::process::Command::new(REDIS_SERVER)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(if self.extra.iter().any(|a| a == "--appendonly") {
                &[][..]
            } else {
                &["--appendonly", "no"][..]
            })
            .args(&self.extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.cli(&["PING"]) != "PONG" {
            assert!(
                std::time::Instant::now() < deadline,
                "own redis-server not up"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it at once (SIGKILL): connections drop and its port refuses new ones; a persistent
    /// one keeps what it had written.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            self.signal("CONT");
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP: connections stay open but nothing answers, as during a network cut.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        if let Some(child) = &self.child {
            let status = std::process::Command::new("kill")
                .arg(format!("-{name}"))
                .arg(child.id().to_string())
                .status()
                .expect("kill");
            assert!(status.success(), "kill -{name} failed");
        }
    }

    /// Runs a command with `redis-cli` and returns its raw output, trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for OwnedRedis {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn unique_prefix() -> String {
    format!("lktest:{}:", uuid::Uuid::new_v4().simple())
}

/// Schemas of test runs more than an hour old (their tests are long over): the shared test
/// database stays small however many runs the machine sees.
async fn drop_stale_schemas(conn: &mut sqlx::PgConnection, now: u64) {
    use sqlx::Row;
    let rows = sqlx::query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%' LIMIT 50")
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_default();
    for row in rows {
        let name: String = row.get(0);
        let stamp = name.split('_').nth(1).and_then(|t| t.parse::<u64>().ok());
        // Old-style names without a stamp are from before this clean-up: stale too.
        if stamp.is_none_or(|t| t + 3600 < now) {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE"
            )))
            .execute(&mut *conn)
            .await;
        }
    }
}

pub fn temp_dir() -> PathBuf {
    static SWEEP: std::sync::Once = std::sync::Once::new();
    SWEEP.call_once(drop_stale_temp_dirs);
    let dir = std::env::temp_dir().join(format!("latchkey-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Data directories of test runs more than an hour old (their tests are long over), so the
/// machine's temporary directory does not fill up however many runs it sees.
fn drop_stale_temp_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    for entry in entries.flatten() {
        let stale = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with("latchkey-test-"))
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < hour_ago);
        if stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The scope catalogue of test servers: every scope the tests grant.
pub const TEST_SCOPES: &[&str] = &[
    "orders:read",
    "orders:write",
    "billing:read",
    "billing:admin",
];

/// A configuration for tests: port 0, cheap hashing (the cost is not under test here).
pub fn test_config(backend: Backend, database_url: Option<String>) -> Config {
    Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: temp_dir(),
        database_url,
        database_max_connections: 8,
        issuer: Some("http://latchkey.test".into()),
        argon2_memory_kib: 4096,
        argon2_iterations: 1,
        hash_threads: Some(2),
        scopes: TEST_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        // Most tests have an organization admin grant scopes; `trust.rs` tests the default,
        // where only operators grant them.
        admin_grantable_scopes: TEST_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        ..Config::default()
    }
    .tap(|c| assert_eq!(c.database_url.is_some(), backend == Backend::Postgres))
}

trait Tap: Sized {
    fn tap(self, f: impl FnOnce(&Self)) -> Self {
        f(&self);
        self
    }
}
impl Tap for Config {}

impl TestApp {
    /// `None` when the backend is PostgreSQL and it is unreachable outside CI.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_pg_schema().await?),
        };
        let mut config = test_config(backend, url);
        tweak(&mut config);
        Some(Self::start(config, backend, Clock::manual()).await)
    }

    /// The production-like setup: PostgreSQL and Redis, each test with its own schema and key
    /// prefix. `None` when either is unreachable outside CI.
    pub async fn spawn_redis_with(tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let redis = redis_url()?;
        Self::spawn_with(Backend::Postgres, |c| {
            c.redis_url = Some(redis);
            c.redis_prefix = unique_prefix();
            tweak(c);
        })
        .await
    }

    /// A second server over the same database, Redis and prefix (a second instance).
    pub async fn sibling(&self) -> TestApp {
        let mut config = self.config.clone();
        config.bind = "127.0.0.1:0".parse().unwrap();
        Self::start(config, self.backend, self.clock.clone()).await
    }

    pub async fn start(config: Config, backend: Backend, clock: Clock) -> TestApp {
        let running = latchkey_server::start(config.clone(), clock.clone())
            .await
            .expect("server starts");
        TestApp {
            base: format!("http://{}", running.addr),
            client: reqwest::Client::builder()
                .user_agent("latchkey-tests")
                .build()
                .unwrap(),
            clock,
            config,
            backend,
            running: Some(running),
        }
    }

    /// Stops the server and starts a new one over the same database and data directory.
    pub async fn restart(mut self) -> TestApp {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("clean stop");
        }
        let mut config = self.config.clone();
        config.bind = "127.0.0.1:0".parse().unwrap();
        Self::start(config, self.backend, self.clock.clone()).await
    }

    /// Stops the server, leaving its storage; the configuration and clock to start another.
    pub async fn stop(mut self) -> (Config, Clock) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("clean stop");
        }
        (self.config.clone(), self.clock.clone())
    }

    /// The running server's application (to run a background job's step on demand).
    pub fn app_state(&self) -> &latchkey_server::AppState {
        &self.running.as_ref().expect("server running").app
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json_auth(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn send_json_auth(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send().await.unwrap()
    }

    /// `POST /get-token` with an API key; the response as JSON with its status.
    pub async fn get_token(&self, api_key: &str) -> (u16, Value) {
        let r = self.post("/get-token", &json!({"api_key": api_key})).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    /// A call with an auth token in `x-authorization: Agent <token>`.
    pub async fn get_agent(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("x-authorization", format!("Agent {token}"))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn signup(&self, email: &str) -> Value {
        self.signup_with(json!({"email": email, "password": PASSWORD}))
            .await
    }

    pub async fn signup_with(&self, body: Value) -> Value {
        let r = self.post("/api/v1/auth/signup", &body).await;
        assert_eq!(r.status(), 201, "signup failed");
        r.json().await.unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post(
            "/api/v1/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": refresh_token}),
        )
        .await
    }

    pub async fn me(&self, access_token: &str) -> reqwest::Response {
        self.get_auth("/api/v1/me", access_token).await
    }
}

/// The one check of the documented error shape, `{"status":"failed","code":<the HTTP
/// status>,"error":…,"message":…,"data":{}}`, for a response with `status`. Returns the machine
/// code (`error`).
pub fn assert_error_shape(status: u16, body: &Value, what: &str) -> String {
    assert_eq!(body["status"], "failed", "{what}: {body}");
    assert_eq!(body["code"], status, "{what}: {body}");
    assert!(body["message"].is_string(), "{what}: {body}");
    assert_eq!(body["data"], json!({}), "{what}: {body}");
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no error code in {body}"))
        .to_owned()
}

/// Reads a response body as the documented error shape and returns its machine code.
pub async fn error_code(r: reqwest::Response) -> String {
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("error body is JSON");
    assert_error_shape(status, &body, "error response")
}

pub fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
        .to_owned()
}

/// The three setups every scenario runs on: the embedded one (SQLite, in-process store),
/// PostgreSQL with the in-process store (one instance), and PostgreSQL with Redis (several).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    Sqlite,
    Postgres,
    PostgresRedis,
}

impl TestApp {
    /// A server on `setup`; panics when a server the setup needs is unreachable.
    pub async fn spawn_setup(setup: Setup, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let app = match setup {
            Setup::Sqlite => Self::spawn_with(Backend::Sqlite, tweak).await,
            Setup::Postgres => Self::spawn_with(Backend::Postgres, tweak).await,
            Setup::PostgresRedis => Self::spawn_redis_with(tweak).await,
        };
        app.expect("every setup's servers are reachable (missing ones panic)")
    }
}

/// The one macro that declares a test on several setups; each setup is a test named
/// `<name>::<setup>` (`sqlite`, `postgres`, `postgres_redis`). A server a setup needs that is
/// unreachable fails the test (`scripts/test` starts PostgreSQL and Redis).
///
/// - `on_all_setups!(name);` for an `async fn name(app: TestApp)`, or
///   `on_all_setups!(name, |c| …);` to adjust the `Config` first (paths in the closure must be
///   absolute: it expands inside the test's own module).
/// - `on_all_setups!(mail: name);` (or `mail: name, fn(&mut Config)`) for an
///   `async fn name(app: TestApp, sink: SmtpSink)`: the server sends mail to a real SMTP sink.
/// - `on_all_setups!(backend: name);` for an `async fn name(backend: Backend)` that builds its
///   own servers: `sqlite` and `postgres` only.
#[macro_export]
macro_rules! on_all_setups {
    (mail: $name:ident) => {
        $crate::on_all_setups!(mail: $name, |_| {});
    };
    (mail: $name:ident, $tweak:expr) => {
        mod $name {
            use $crate::helpers::mail_sink::SmtpSink;
            use $crate::helpers::{Setup, TestApp};
            async fn run(setup: Setup) {
                let Some(sink) = SmtpSink::start() else {
                    return;
                };
                let url = sink.url();
                let tweak: fn(&mut latchkey_server::Config) = $tweak;
                let app = TestApp::spawn_setup(setup, |c| {
                    c.smtp_url = Some(url);
                    c.mail_from = "Latchkey <auth@latchkey.test>".into();
                    tweak(c);
                })
                .await;
                super::$name(app, sink).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Setup::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(Setup::Postgres).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_redis() {
                run(Setup::PostgresRedis).await;
            }
        }
    };
    (backend: $name:ident) => {
        mod $name {
            use $crate::helpers::Backend;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(Backend::Postgres).await;
            }
        }
    };
    ($name:ident) => {
        $crate::on_all_setups!($name, |_| {});
    };
    ($name:ident, $tweak:expr) => {
        mod $name {
            use $crate::helpers::{Setup, TestApp};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(TestApp::spawn_setup(Setup::Sqlite, $tweak).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(TestApp::spawn_setup(Setup::Postgres, $tweak).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_redis() {
                super::$name(TestApp::spawn_setup(Setup::PostgresRedis, $tweak).await).await;
            }
        }
    };
}

// Helpers shared by the test modules, by area. Import them from here, never from a sibling
// test module.
pub mod api_keys;
pub mod eventually;
pub mod foreign;
pub mod forward_auth;
pub mod key_rotation;
pub mod logs;
pub mod mail_sink;
pub mod metrics;
pub mod mfa;
pub mod oauth;
pub mod operator;
pub mod phone;
pub mod raw_http;
pub mod reauth;
pub mod social;
pub mod takeover;
pub mod tokens;
pub mod websocket;
// Stand-ins for third parties (an OpenID provider, an SMS webhook) are plain axum routers, not
// Latchkey routes: `clippy.toml` bans `.route` for the server's own table only.
#[expect(
    clippy::disallowed_methods,
    reason = "a stand-in provider is not the server's route table"
)]
pub mod oidc_stub;
pub mod process;
