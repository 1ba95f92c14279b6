//! A real `latchkey serve` process (SQLite unless told otherwise), with standard output and
//! standard error in separate files, for what only a process shows: signals, exit, its logs,
//! and several instances over one database and Redis (`instances.rs`). The one spawner of the
//! binary in these tests.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::raw_http::PATIENCE;
use crate::helpers::temp_dir;

pub struct Proc {
    child: Child,
    pub base: String,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Starts the binary with `env` on top of test settings and waits until it is healthy.
    pub async fn start(env: &[(&str, &str)]) -> Proc {
        let mut proc = Proc::spawn(env);
        proc.wait_healthy().await;
        proc
    }

    /// Starts the binary with `env` on top of test settings (nothing inherited from the test's
    /// environment), without waiting for it: for a process expected to refuse to start.
    pub fn spawn(env: &[(&str, &str)]) -> Proc {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = temp_dir();
        let (stdout, stderr) = (dir.join("stdout.log"), dir.join("stderr.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        cmd.arg("serve");
        for (name, _) in std::env::vars() {
            if name.starts_with("LATCHKEY_") || name == "RUST_LOG" {
                cmd.env_remove(name);
            }
        }
        cmd.env("LATCHKEY_BIND", format!("127.0.0.1:{port}"))
            .env("LATCHKEY_DATA_DIR", &dir)
            .env("LATCHKEY_ARGON2_MEMORY_KIB", "4096")
            .env("LATCHKEY_ARGON2_ITERATIONS", "1")
            .env("LATCHKEY_ISSUER", "http://latchkey.test");
        for (name, value) in env {
            cmd.env(name, value);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start latchkey serve");
        Proc {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stdout,
            stderr,
        }
    }

    async fn wait_healthy(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("latchkey exited ({status}):\n{}", self.stderr());
            }
            let r = client.get(self.url("/healthz")).send().await;
            if r.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(Instant::now() < deadline, "not healthy:\n{}", self.stderr());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// The exit status, or `None` if the process is still running after `PATIENCE`.
    pub async fn exit_status(&mut self) -> Option<ExitStatus> {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// Waits (up to `PATIENCE`) until standard error contains `needle`.
    pub async fn stderr_shows(&self, needle: &str) -> bool {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if self.stderr().contains(needle) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}
